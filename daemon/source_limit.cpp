// SPDX-License-Identifier: Apache-2.0
// Per-source handshake limits. See source_limit.hpp.
#include "daemon/source_limit.hpp"

#include <algorithm>
#include <cstring>

#include "daemon/address.hpp"

namespace ttygate::daemon {

SourceLimit::Key SourceLimit::key_of(const sockaddr_storage& addr) {
  Key key{};
  const IpAddress ip = ip_address_of(reinterpret_cast<const sockaddr*>(&addr));
  if (ip.family == AF_INET) {
    key[0] = 4;
    std::memcpy(&key[1], ip.bytes.data(), 4);
  } else if (ip.family == AF_INET6) {
    key[0] = 6;
    std::memcpy(&key[1], ip.bytes.data(), 8);  // the /64
  }
  return key;
}

double SourceLimit::refilled(const Source& source, Clock::time_point now) const {
  const double minutes = std::chrono::duration<double, std::ratio<60>>(now - source.at).count();
  return std::min<double>(per_minute_, source.allowance + minutes * per_minute_);
}

// A source is remembered while it has a handshake in progress or has not yet earned its whole
// allowance back: forgetting it sooner would hand it a fresh allowance.
void SourceLimit::forget_idle(Clock::time_point now) {
  if (now - last_sweep_ < std::chrono::seconds(10)) return;
  last_sweep_ = now;
  std::erase_if(sources_, [&](const auto& entry) {
    return entry.second.in_progress == 0 && refilled(entry.second, now) >= per_minute_;
  });
}

SourceLimit::Verdict SourceLimit::start(const Key& key, Clock::time_point now) {
  forget_idle(now);
  auto [it, added] = sources_.try_emplace(key, Source{0, static_cast<double>(per_minute_), now});
  Source& source = it->second;
  if (source.in_progress >= in_progress_) return Verdict::too_many;
  source.allowance = refilled(source, now);
  source.at = now;
  if (source.allowance < 1) return Verdict::too_fast;
  source.allowance -= 1;
  ++source.in_progress;
  return Verdict::start;
}

void SourceLimit::finish(const Key& key) {
  auto it = sources_.find(key);
  if (it != sources_.end() && it->second.in_progress > 0) --it->second.in_progress;
}

unsigned SourceLimit::in_progress(const Key& key) const {
  auto it = sources_.find(key);
  return it == sources_.end() ? 0 : it->second.in_progress;
}

}  // namespace ttygate::daemon
