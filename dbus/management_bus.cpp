// SPDX-License-Identifier: Apache-2.0
// Keeping the management API on the bus. See management_bus.hpp.
#include "dbus/management_bus.hpp"

#include <algorithm>
#include <exception>
#include <string>

#include "common/log.hpp"

namespace ttygate::dbus {
namespace {

constexpr std::chrono::milliseconds kFirstDelay{250};
constexpr std::chrono::milliseconds kMaxDelay{8000};

}  // namespace

ManagementBus::ManagementBus(daemon::Loop& loop, daemon::Gateway& gateway) : loop_(loop), gateway_(gateway) {
  try_attach();
}

ManagementBus::~ManagementBus() { detach(); }

Result<void> ManagementBus::attach() {
  auto connection = connect_system_bus();
  if (!connection) return connection.error();
  auto bus = std::make_unique<Bus>(loop_, std::move(*connection));
  std::unique_ptr<GatewayObject> object;
  try {
    object = std::make_unique<GatewayObject>(*bus, gateway_);
  } catch (const std::system_error& e) {
    return Error(e.code(), "registering the objects");
  }
  if (auto named = bus->request_name(kServiceName); !named) return named;
  bus->on_lost([this] { lost(); });
  bus->start();
  bus_ = std::move(bus);
  object_ = std::move(object);
  return success();
}

void ManagementBus::try_attach() {
  if (auto attached = attach(); !attached) {
    if (!failing_) {
      log::warning("Failed to offer the management API on D-Bus: " + attached.error().message() +
                   "; running without the management API, retrying in the background");
    }
    failing_ = true;
    return retry_later();
  }
  log::info(std::string("D-Bus: ") + kServiceName + (failing_ ? " ready again" : " ready"));
  failing_ = false;
  delay_ = kFirstDelay;
}

// Inside the Bus's own processing: tear it down once that has returned.
void ManagementBus::lost() {
  teardown_.set(loop_, loop_.defer([this] {
    detach();
    failing_ = true;
    retry_later();
  }));
}

// Objects before the connection they are registered on.
void ManagementBus::detach() {
  object_.reset();
  bus_.reset();
}

void ManagementBus::retry_later() {
  retry_.set(loop_, loop_.timeout(delay_, [this](int) { try_attach(); }));
  delay_ = std::min(delay_ * 2, kMaxDelay);
}

}  // namespace ttygate::dbus
