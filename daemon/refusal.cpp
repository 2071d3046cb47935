// SPDX-License-Identifier: Apache-2.0
#include "daemon/refusal.hpp"

namespace ttygate::daemon {
namespace {

class RefusalCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ttygate"; }
  std::string message(int code) const override {
    switch (static_cast<Refusal>(code)) {
      case Refusal::invalid_args: return "invalid argument";
      case Refusal::not_found: return "not found";
      case Refusal::already_exists: return "already exists";
      case Refusal::busy: return "busy";
      case Refusal::not_active: return "not active";
      case Refusal::not_supported: return "not supported";
      case Refusal::wrong_code: return "wrong code";
      case Refusal::failed: return "failed";
    }
    return "unknown refusal";
  }
};

}  // namespace

const std::error_category& refusal_category() {
  static const RefusalCategory category;
  return category;
}

}  // namespace ttygate::daemon
