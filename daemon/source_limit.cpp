// Handshakes in progress per source. See source_limit.hpp.
#include "daemon/source_limit.hpp"

#include <netinet/in.h>

#include <cstring>

namespace ttygate::daemon {

SourceLimit::Key SourceLimit::key_of(const sockaddr_storage& addr) {
  Key key{};
  if (addr.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(addr);
    key[0] = 4;
    std::memcpy(&key[1], &in.sin_addr, 4);
  } else if (addr.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(addr);
    if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
      key[0] = 4;
      std::memcpy(&key[1], &in6.sin6_addr.s6_addr[12], 4);
    } else {
      key[0] = 6;
      std::memcpy(&key[1], &in6.sin6_addr.s6_addr[0], 8);  // the /64
    }
  }
  return key;
}

bool SourceLimit::start(const Key& source) {
  unsigned& count = counts_[source];
  if (count >= per_source_) return false;
  ++count;
  return true;
}

void SourceLimit::finish(const Key& source) {
  auto it = counts_.find(source);
  if (it == counts_.end()) return;
  if (--it->second == 0) counts_.erase(it);
}

unsigned SourceLimit::in_progress(const Key& source) const {
  auto it = counts_.find(source);
  return it == counts_.end() ? 0 : it->second;
}

}  // namespace ttygate::daemon
