// SPDX-License-Identifier: Apache-2.0
// loopback_pair: a connected TCP pair on 127.0.0.1, client side first. The kernel TLS probe
// needs established connections (the ULP attaches to nothing else); tests need them too.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <utility>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace ttygate {

inline Result<std::pair<UniqueFd, UniqueFd>> loopback_pair() {
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener) return errno_error("loopback socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener.get(), 1) != 0 ||
      ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return errno_error("loopback listener");
  }
  UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!client || ::connect(client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return errno_error("loopback connect");
  }
  UniqueFd server(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!server) return errno_error("loopback accept");
  return std::make_pair(std::move(client), std::move(server));
}

}  // namespace ttygate
