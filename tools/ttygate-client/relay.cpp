// SPDX-License-Identifier: Apache-2.0
// The relay loop. See relay.hpp.
#include "tools/ttygate-client/relay.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace ttygate::client {
namespace {

constexpr std::size_t kBufferSize = 64 * 1024;

bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

}  // namespace

Relay::Relay(RelayOptions options) : options_(options) {
  to_gateway_.buffer.resize(kBufferSize);
  from_gateway_.buffer.resize(kBufferSize);
}

RelayOutcome Relay::run(ktls::Channel& channel) { return run(channel, options_.filter); }

RelayOutcome Relay::run(ktls::Channel& channel, RelayFilter* filter) {
  peer_closed_ = close_sent_ = false;
  failure_.reset();
  options_.filter = filter;
  if (filter) {
    // What the filter sends first goes ahead of local bytes a broken connection left over.
    filtered_.clear();
    filter->opening(filtered_);
    auto left = to_gateway_.data();
    filtered_.insert(filtered_.end(), left.begin(), left.end());
    to_gateway_.buffer.assign(filtered_.begin(), filtered_.end());
    to_gateway_.begin = 0;
    to_gateway_.end = filtered_.size();
  }
  for (;;) {
    Interest wants;
    bool progress = pump_local_in(wants);
    progress |= pump_to_gateway(channel, wants);
    progress |= pump_from_gateway(channel, wants);
    progress |= pump_local_out(wants);
    if (auto outcome = finished(channel)) return *outcome;
    if (!progress && !wait(channel, wants)) return {RelayEnd::stopped, {}};
  }
}

bool Relay::pump_local_in(Interest& wants) {
  if (local_eof_ || !to_gateway_.empty()) return false;
  to_gateway_.buffer.resize(kBufferSize);
  ssize_t n = ::read(options_.local_in, to_gateway_.buffer.data(), to_gateway_.buffer.size());
  if (n < 0 && would_block(errno)) {
    wants.local_in = POLLIN;
    return false;
  }
  if (n < 0) {
    failure_ = RelayOutcome{RelayEnd::local_failed, errno_error("reading local input")};
    return true;
  }
  std::size_t size = static_cast<std::size_t>(n);
  if (options_.escape) {
    auto data = std::span(to_gateway_.buffer).first(size);
    if (auto it = std::find(data.begin(), data.end(), *options_.escape); it != data.end()) {
      size = static_cast<std::size_t>(it - data.begin());
      local_eof_ = true;
    }
  }
  if (n == 0) local_eof_ = true;
  if (options_.filter && size > 0) {
    filtered_.clear();
    options_.filter->outgoing(std::span(to_gateway_.buffer).first(size), filtered_);
    to_gateway_.buffer.assign(filtered_.begin(), filtered_.end());
    size = filtered_.size();
  }
  to_gateway_.begin = 0;
  to_gateway_.end = size;
  return true;
}

bool Relay::pump_to_gateway(ktls::Channel& channel, Interest& wants) {
  if (to_gateway_.empty() || failure_) return false;
  ktls::IoStatus st = channel.write(to_gateway_.data());
  switch (st.kind) {
    case ktls::IoStatus::done:
      to_gateway_.begin += st.bytes;
      to_gateway_total_ += st.bytes;
      return true;
    case ktls::IoStatus::wait:
      wants.net |= st.events;
      return false;
    case ktls::IoStatus::closed:
    case ktls::IoStatus::failed:
      failure_ = RelayOutcome{RelayEnd::peer_failed, st.error};
      return true;
  }
  return false;
}

bool Relay::pump_from_gateway(ktls::Channel& channel, Interest& wants) {
  if (!from_gateway_.empty() || peer_closed_ || failure_) return false;
  ktls::IoStatus st = channel.read(from_gateway_.buffer);
  switch (st.kind) {
    case ktls::IoStatus::done:
      from_gateway_.begin = 0;
      from_gateway_.end = st.bytes;
      from_gateway_total_ += st.bytes;
      if (options_.filter) return filter_incoming();
      return true;
    case ktls::IoStatus::wait:
      wants.net |= st.events;
      return false;
    case ktls::IoStatus::closed:
      peer_closed_ = true;
      return true;
    case ktls::IoStatus::failed:
      failure_ = RelayOutcome{RelayEnd::peer_failed, st.error};
      return true;
  }
  return false;
}

bool Relay::filter_incoming() {
  filtered_.clear();
  if (auto why = options_.filter->incoming(from_gateway_.data(), filtered_)) {
    failure_ = RelayOutcome{RelayEnd::peer_failed, Error(std::make_error_code(std::errc::protocol_error), *why)};
    return true;
  }
  std::copy(filtered_.begin(), filtered_.end(), from_gateway_.buffer.begin());  // never longer
  from_gateway_.end = filtered_.size();
  return true;
}

bool Relay::pump_local_out(Interest& wants) {
  if (from_gateway_.empty()) return false;
  auto data = from_gateway_.data();
  ssize_t n = ::write(options_.local_out, data.data(), data.size());
  if (n < 0 && would_block(errno)) {
    wants.local_out = POLLOUT;
    return false;
  }
  if (n < 0) {
    failure_ = RelayOutcome{RelayEnd::local_failed, errno_error("writing local output")};
    return true;
  }
  from_gateway_.begin += static_cast<std::size_t>(n);
  return true;
}

std::optional<RelayOutcome> Relay::finished(ktls::Channel& channel) {
  if (failure_) return failure_;
  if (stop_) return RelayOutcome{RelayEnd::stopped, {}};
  if (peer_closed_ && from_gateway_.empty()) {
    channel.close_notify();
    return RelayOutcome{close_sent_ ? RelayEnd::local_eof : RelayEnd::peer_closed, {}};
  }
  if (local_eof_ && to_gateway_.empty()) {
    if (!close_sent_) {
      channel.close_notify();
      close_sent_ = true;
      linger_until_ = std::chrono::steady_clock::now() + options_.linger;
    } else if (std::chrono::steady_clock::now() >= linger_until_) {
      return RelayOutcome{RelayEnd::local_eof, {}};
    }
  }
  return std::nullopt;
}

// False when stop_fd fired. Plaintext already decrypted inside OpenSSL needs no poll at all.
bool Relay::wait(const ktls::Channel& channel, const Interest& wants) {
  if (channel.has_buffered_input() && from_gateway_.empty() && !peer_closed_) return true;
  // An fd nobody waits on is left out (-1): its hang-up would otherwise wake every turn.
  pollfd fds[4] = {{wants.net ? channel.fd() : -1, wants.net, 0},
                   {wants.local_in ? options_.local_in : -1, wants.local_in, 0},
                   {wants.local_out ? options_.local_out : -1, wants.local_out, 0},
                   {options_.stop_fd, POLLIN, 0}};
  int timeout = -1;
  if (close_sent_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(linger_until_ - std::chrono::steady_clock::now());
    timeout = static_cast<int>(std::max<long>(left.count(), 0) + 1);
  }
  int n = ::poll(fds, 4, timeout);
  if (n < 0 && errno != EINTR) failure_ = RelayOutcome{RelayEnd::local_failed, errno_error("poll")};
  stop_ = options_.stop_fd >= 0 && fds[3].revents != 0;
  return !stop_;
}

}  // namespace ttygate::client
