# SPDX-License-Identifier: Apache-2.0
"""A cheap flood from many loopback addresses, run as its own process by test_lockout.py.

Loopback accepts any 127/8 source, so each address is "another host" to the gateway. Every
connection is reopened as soon as the gateway closes it, so the pressure stays on. Modes:
  silent   connects and never sends a byte
  dribble  sends one byte of a ClientHello-looking record a second, never finishing it

Prints "ready <n>" once every connection is open, then "closed <n>" lines (how many the gateway
ended so far) every half second, until SIGTERM.
"""
import argparse
import errno
import selectors
import signal
import socket
import sys
import time

RECORD = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(600)  # a TLS record that never ends


def addresses(count, first_octet):
    for i in range(count):
        yield f"127.{first_octet}.{i // 250}.{i % 250 + 1}"


def open_from(source, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", choices=("silent", "dribble"), required=True)
    ap.add_argument("--addresses", type=int, required=True)
    ap.add_argument("--per-address", type=int, required=True)
    ap.add_argument("--first-octet", type=int, default=1)
    args = ap.parse_args()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    sel = selectors.DefaultSelector()
    conns = {}  # socket -> [source, bytes sent]
    for source in addresses(args.addresses, args.first_octet):
        for _ in range(args.per_address):
            s = open_from(source, args.port)
            conns[s] = [source, 0]
            sel.register(s, selectors.EVENT_READ)
    print(f"ready {len(conns)}", flush=True)
    closed, next_drip, next_report = 0, time.monotonic(), time.monotonic() + 0.5
    while not stop:
        for key, _ in sel.select(timeout=0.05):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data:
                continue  # the gateway never answers a record that never ends; ignore if it does
            source = conns.pop(s)[0]
            sel.unregister(s)
            s.close()
            closed += 1
            n = open_from(source, args.port)  # the pressure stays on
            conns[n] = [source, 0]
            sel.register(n, selectors.EVENT_READ)
        now = time.monotonic()
        if args.mode == "dribble" and now >= next_drip:
            next_drip = now + 1.0
            for s, state in conns.items():
                if state[1] < len(RECORD):
                    try:
                        state[1] += s.send(RECORD[state[1]:state[1] + 1])
                    except OSError as e:
                        if e.errno not in (errno.EAGAIN, errno.ENOTCONN, errno.EPIPE, errno.ECONNRESET):
                            raise
        if now >= next_report:
            next_report = now + 0.5
            print(f"closed {closed}", flush=True)
    for s in conns:
        s.close()


if __name__ == "__main__":
    sys.exit(main())
