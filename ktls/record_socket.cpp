// SPDX-License-Identifier: Apache-2.0
#include "ktls/record_socket.hpp"

#include <linux/tls.h>
#include <sys/socket.h>

#include <cerrno>

#include "ktls/offload.hpp"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

namespace ttygate::ktls {
namespace {

class KernelRecordSocket final : public RecordSocket {
 public:
  explicit KernelRecordSocket(UniqueFd fd) : fd_(std::move(fd)) {}

  int fd() const override { return fd_.get(); }

  ssize_t receive(std::span<std::byte> buffer, std::uint8_t& type) override {
    iovec iov{buffer.data(), buffer.size()};
    alignas(cmsghdr) unsigned char control[CMSG_SPACE(sizeof(std::uint8_t))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    do n = ::recvmsg(fd_.get(), &msg, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    type = 23;  // application data
    if (n < 0) return -errno;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_TLS && c->cmsg_type == TLS_GET_RECORD_TYPE) type = *CMSG_DATA(c);
    }
    return n;
  }

  ssize_t send(std::span<const std::byte> data) override {
    ssize_t n;
    do n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
  }

  ssize_t send_record(std::uint8_t type, std::span<const std::byte> payload) override {
    return send_tls_record(fd_.get(), type, payload);
  }

  Result<void> install(int direction, Suite suite, std::span<const std::uint8_t> secret) override {
    return install_keys(fd_.get(), direction, suite, secret, 0);
  }

 private:
  UniqueFd fd_;
};

}  // namespace

ssize_t send_tls_record(int fd, std::uint8_t type, std::span<const std::byte> payload) {
  iovec iov{const_cast<std::byte*>(payload.data()), payload.size()};
  alignas(cmsghdr) unsigned char control[CMSG_SPACE(sizeof type)]{};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_TLS;
  c->cmsg_type = TLS_SET_RECORD_TYPE;
  c->cmsg_len = CMSG_LEN(sizeof type);
  *CMSG_DATA(c) = type;
  ssize_t n;
  do n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : n;
}

std::unique_ptr<RecordSocket> kernel_record_socket(UniqueFd fd) {
  return std::make_unique<KernelRecordSocket>(std::move(fd));
}

}  // namespace ttygate::ktls
