// SPDX-License-Identifier: Apache-2.0
// discover [--serial S] [--json]: the gateways announced on the LAN, as a table or JSON.
// pair --serial S: pair with the one gateway announcing serial S, checking that the key it then
// presents starts with the fingerprint prefix it advertised (a hint only: the pin is the check).
#include <cstdio>

#include "common/escape.hpp"
#include "tools/ttygate-client/browse.hpp"
#include "tools/ttygate-client/commands.hpp"
#include "tools/ttygate-client/exit_codes.hpp"

namespace ttygate::client {
namespace {

// Adverts come from anyone on the LAN: nothing of theirs reaches the terminal unescaped.
std::string cell(const std::string& text) {
  const std::string quoted = shown(text);
  return quoted == "\"" + text + "\"" && !text.empty() && text.find(' ') == std::string::npos ? text : quoted;
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') out += '\\', out += static_cast<char>(c);
    else if (c < 0x20 || c >= 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else out += static_cast<char>(c);
  }
  return out + "\"";
}

void print_table(const std::vector<Advert>& adverts) {
  std::printf("%-28s %-26s %-16s %-12s %s\n", "NAME", "ADDRESS", "SERIAL", "PORT", "FINGERPRINT");
  for (const Advert& a : adverts)
    std::printf("%-28s %-26s %-16s %-12s %s\n", cell(a.name).c_str(), cell(a.endpoint().text()).c_str(),
                cell(a.serial).c_str(), cell(a.port_name).c_str(), cell(a.fp).c_str());
}

void print_json(const std::vector<Advert>& adverts) {
  std::printf("[");
  const char* separator = "";
  for (const Advert& a : adverts) {
    std::printf("%s\n  {\"name\": %s, \"address\": %s, \"port\": %u, \"serial\": %s, \"port_name\": %s, "
                "\"fingerprint_prefix\": %s, \"version\": %s}",
                separator, json_string(a.name).c_str(), json_string(a.address).c_str(), a.port,
                json_string(a.serial).c_str(), json_string(a.port_name).c_str(), json_string(a.fp).c_str(),
                json_string(a.version).c_str());
    separator = ",";
  }
  std::printf("%s]\n", adverts.empty() ? "" : "\n");
}

}  // namespace

int run_discover(const Settings& settings) {
  auto adverts = browse_gateways(settings.timeout, settings.serial);
  if (!adverts) return fail("discover gateways", adverts.error());
  if (settings.json) print_json(*adverts);
  else print_table(*adverts);
  if (adverts->empty() && !settings.serial.empty()) {
    say("no gateway announces serial " + shown(settings.serial));
    return kExitFailure;
  }
  return kExitOk;
}

int run_pair_by_serial(const Settings& settings) {
  auto adverts = browse_gateways(settings.timeout, settings.serial);
  if (!adverts) return fail("discover gateways", adverts.error());
  if (adverts->empty()) {
    say("no gateway announces serial " + shown(settings.serial) + " (see: ttygate-client discover)");
    return kExitFailure;
  }
  if (adverts->size() > 1) {
    say("several gateways announce serial " + shown(settings.serial) + ": " + shown((*adverts)[0].name) + " and " +
        shown((*adverts)[1].name) + "; pair by address instead (ttygate-client discover shows them)");
    return kExitFailure;
  }
  const Advert& advert = adverts->front();
  if (advert.fp.size() < 16) {
    say("the advert of " + shown(advert.name) + " carries no fingerprint prefix (fp=); pair by address instead");
    return kExitFailure;
  }
  say("found " + shown(advert.name) + " at " + advert.endpoint().text() + " (fingerprint " + shown(advert.fp) + "...)");
  Settings paired = settings;
  paired.expect_prefix = advert.fp;
  return run_pair(paired, advert.endpoint().text());
}

}  // namespace ttygate::client
