// SPDX-License-Identifier: Apache-2.0
// Relaying sessions counted per port and per client. See session_tally.hpp.
#include "daemon/session_tally.hpp"

namespace ttygate::daemon {

SessionTally::Token SessionTally::count(const Relay& relay, const ktls::Pin& pin) {
  auto on_relay = by_relay_.try_emplace(&relay, 0).first;
  auto of_client = by_client_.try_emplace(pin, 0).first;
  ++on_relay->second;
  ++of_client->second;
  return Token(*this, on_relay, of_client);
}

SessionCounts SessionTally::counts(const ktls::Pin& pin, const Relay& relay) const {
  SessionCounts counts;
  if (auto it = by_relay_.find(&relay); it != by_relay_.end()) counts.on_port = it->second;
  if (auto it = by_client_.find(pin); it != by_client_.end()) counts.of_client = it->second;
  return counts;
}

std::size_t SessionTally::total() const {
  std::size_t total = 0;
  for (const auto& [relay, count] : by_relay_) total += count;
  return total;
}

void SessionTally::Token::release() {
  if (!tally_) return;
  // Iterators into std::map stay valid until their own element is erased, which only happens
  // when its count reaches zero: when no other token refers to it.
  if (--relay_->second == 0) tally_->by_relay_.erase(relay_);
  if (--client_->second == 0) tally_->by_client_.erase(client_);
  tally_ = nullptr;
}

SessionTally::Token& SessionTally::Token::operator=(Token&& other) noexcept {
  if (this != &other) {
    release();
    take(other);
  }
  return *this;
}

void SessionTally::Token::take(Token& other) noexcept {
  tally_ = other.tally_;
  relay_ = other.relay_;
  client_ = other.client_;
  other.tally_ = nullptr;
}

}  // namespace ttygate::daemon
