// SPDX-License-Identifier: Apache-2.0
// modem_loop DEVICE on|off: puts a 16550 UART into (or out of) its loopback mode (TIOCM_LOOP,
// the MCR's LOOP bit), where the modem inputs follow the outputs: DSR follows DTR, CTS follows
// RTS, CD follows OUT2. The line-control scenario uses it so that a DTR change the gateway makes
// shows up as a DSR change its modem-line polling must report. Prints the lines after the change.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#ifndef TIOCM_LOOP
#define TIOCM_LOOP 0x8000  // <asm-generic/termios.h>, which clashes with glibc's termios
#endif

int main(int argc, char** argv) {
  if (argc != 3 || (std::strcmp(argv[2], "on") != 0 && std::strcmp(argv[2], "off") != 0)) {
    std::fprintf(stderr, "usage: modem_loop DEVICE on|off\n");
    return 2;
  }
  int fd = ::open(argv[1], O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    std::perror(argv[1]);
    return 1;
  }
  int loop = TIOCM_LOOP, lines = 0;
  if (::ioctl(fd, std::strcmp(argv[2], "on") == 0 ? TIOCMBIS : TIOCMBIC, &loop) != 0 ||
      ::ioctl(fd, TIOCMGET, &lines) != 0) {
    std::perror("TIOCM");
    return 1;
  }
  if (std::getenv("MODEM_LOOP_PROBE")) {  // DTR off and on again on this fd, lines after each
    int dtr = TIOCM_DTR, off = 0, on = 0;
    ::ioctl(fd, TIOCMBIC, &dtr);
    ::usleep(20000);
    ::ioctl(fd, TIOCMGET, &off);
    ::ioctl(fd, TIOCMBIS, &dtr);
    ::usleep(20000);
    ::ioctl(fd, TIOCMGET, &on);
    std::printf("probe: dtr off 0x%03x, dtr on 0x%03x\n", off, on);
  }
  std::printf("lines 0x%03x%s%s%s%s%s\n", lines, (lines & TIOCM_LOOP) ? " loop" : "", (lines & TIOCM_DTR) ? " dtr" : "",
              (lines & TIOCM_DSR) ? " dsr" : "", (lines & TIOCM_RTS) ? " rts" : "", (lines & TIOCM_CTS) ? " cts" : "");
  return ::close(fd) == 0 ? 0 : 1;
}
