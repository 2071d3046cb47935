// SPDX-License-Identifier: Apache-2.0
#include "common/baud.hpp"

#include <array>
#include <utility>

namespace ttygate {

namespace {

constexpr std::pair<unsigned, speed_t> kRates[] = {
    {50, B50},         {75, B75},         {110, B110},       {134, B134},       {150, B150},
    {200, B200},       {300, B300},       {600, B600},       {1200, B1200},     {1800, B1800},
    {2400, B2400},     {4800, B4800},     {9600, B9600},     {19200, B19200},   {38400, B38400},
    {57600, B57600},   {115200, B115200}, {230400, B230400}, {460800, B460800}, {500000, B500000},
    {576000, B576000}, {921600, B921600}, {1000000, B1000000}, {1152000, B1152000},
    {1500000, B1500000}, {2000000, B2000000}, {2500000, B2500000}, {3000000, B3000000},
    {3500000, B3500000}, {4000000, B4000000},
};

constexpr auto kBauds = [] {
  std::array<unsigned, std::size(kRates)> bauds{};
  for (std::size_t i = 0; i < bauds.size(); ++i) bauds[i] = kRates[i].first;
  return bauds;
}();

}  // namespace

speed_t baud_constant(unsigned baud) {
  for (auto [rate, constant] : kRates)
    if (rate == baud) return constant;
  return B0;
}

unsigned baud_rate_of(speed_t speed) {
  for (auto [rate, constant] : kRates)
    if (constant == speed) return rate;
  return 0;
}

std::span<const unsigned> supported_baud_rates() { return kBauds; }

}  // namespace ttygate

