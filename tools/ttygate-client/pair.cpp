// SPDX-License-Identifier: Apache-2.0
// pair HOST[:PORT]: connect during the gateway's pairing window, run the exchange the gateway
// asks for (committed codes, or the setup code with --passcode), wait for the verdict, and pin
// the gateway's key under a name.
#include <cstdio>
#include <iostream>

#include "tools/ttygate-client/commands.hpp"
#include "tools/ttygate-client/connection.hpp"
#include "tools/ttygate-client/exit_codes.hpp"
#include "tools/ttygate-client/pairing.hpp"

namespace ttygate::client {
namespace {

// The gateway's window lasts 120 s by default; a person may need all of it to confirm.
constexpr std::chrono::minutes kVerdictTimeout{10};

// The name to keep the pin under, or an error when --name already pins another key. A name
// taken from the certificate gets a suffix instead.
Result<std::string> choose_name(const Settings& settings, const GatewayStore& store, SSL* ssl, const ktls::Pin& pin) {
  auto taken = [&](const std::string& name) {
    const KnownGateway* known = store.find(name);
    return known && known->pin != pin;
  };
  if (!settings.name.empty()) {
    if (taken(settings.name))
      return Error(std::make_error_code(std::errc::file_exists),
                   "the name " + settings.name + " already pins another gateway's key; choose another --name or "
                   "run: ttygate-client forget " + settings.name);
    return settings.name;
  }
  std::string base = sanitise_gateway_name(peer_common_name(ssl)).substr(0, 60), name = base;
  for (int n = 2; taken(name); ++n) name = base + "-" + std::to_string(n);
  return name;
}

bool fingerprint_has_prefix(const ktls::Pin& pin, const std::string& prefix) {
  std::string letters;
  for (char c : ktls::fingerprint(pin))
    if (c != '-') letters.push_back(c);
  return letters.starts_with(prefix);
}

int usage(const std::string& what) {
  say(what);
  return kExitUsage;
}

// --passcode CODE, or "-": one line from stdin (keeps the code out of the process list).
std::optional<std::optional<std::string>> setup_code(const Settings& settings) {
  if (settings.passcode.empty()) return std::optional<std::string>();
  std::string typed = settings.passcode;
  if (typed == "-" && !std::getline(std::cin, typed)) return std::nullopt;
  auto digits = ktls::pairing::setup_code_digits(typed);
  if (!digits) return std::nullopt;
  return std::optional<std::string>(std::move(*digits));
}

void show_code(std::string_view code) {
  std::printf("Pairing code: %.*s \u2014 check that the gateway shows the same code\n", static_cast<int>(code.size()),
              code.data());
  std::fflush(stdout);
}

// What the person is told when the gateway did not accept us; the exit code scripts see.
int refused(const Verdict& verdict) {
  switch (verdict.kind) {
    case Verdict::wrong_passcode:
      say("the setup code was not accepted (a wrong code, or a machine in the middle of the connection); "
          "nothing was stored");
      return kExitWrongPasscode;
    case Verdict::passcode_needed:
      say("the gateway pairs with the setup code printed on it: run pair again with --passcode CODE");
      return kExitUsage;
    default:
      // In TLS 1.3 a gateway with no window open refuses our certificate only after our side of
      // the handshake is done, so that case ends up here too.
      say("the gateway did not accept the pairing (no pairing window open, code not confirmed, wrong setup code, "
          "or another device tried to pair at the same time); nothing was stored");
      return kExitPairingRefused;
  }
}

}  // namespace

int run_pair(const Settings& settings, const std::string& target) {
  auto endpoint = parse_endpoint(target);
  if (!endpoint) return usage(endpoint.error().context());
  std::optional<ktls::Pin> expected;
  if (!settings.expect_fingerprint.empty()) {
    expected = ktls::pin_from_text(settings.expect_fingerprint);
    if (!expected) return usage("--expect-fingerprint: not a fingerprint: " + settings.expect_fingerprint);
  }
  auto passcode = setup_code(settings);
  if (!passcode) return usage("--passcode: expected the gateway's 8-digit setup code");
  auto identity = client_identity(settings);
  if (!identity) return fail("load the client identity", identity.error());
  auto store = open_store(settings);
  if (!store) return fail("read the known gateways", store.error());
  auto signals = stop_signals();
  if (!signals) return fail("watch signals", signals.error());
  auto connector = Connector::make(*identity, expected);
  if (!connector) return fail("set up TLS", connector.error());

  auto connection = (*connector)->connect(*endpoint, settings.timeout, signals->get());
  if (!connection) {
    if (auto presented = (*connector)->mismatched_key()) {
      say("the gateway at " + endpoint->text() + " is not the expected one: it presented " +
          ktls::fingerprint(*presented) + ", not " + ktls::fingerprint(*expected) + "; nothing was paired");
      return kExitKeyMismatch;
    }
    return fail("reach the gateway", connection.error());
  }
  // pair --serial: the advertised prefix is a hint anyone could send; a key that does not match
  // it is not the gateway that was looked for.
  if (!settings.expect_prefix.empty() && !fingerprint_has_prefix(connection->pin, settings.expect_prefix)) {
    say("the gateway at " + endpoint->text() + " presented " + ktls::fingerprint(connection->pin) +
        ", which does not start with its advertised " + settings.expect_prefix + "; nothing was paired");
    return kExitKeyMismatch;
  }
  if (settings.stats) say("handshake: " + describe(connection->stats));
  SSL* ssl = connection->channel->ssl();
  auto name = choose_name(settings, *store, ssl, connection->pin);
  if (!name) return fail("pair", name.error());
  PairingRequest request{std::move(*passcode), show_code, kVerdictTimeout, signals->get()};
  auto verdict = pair_over(*connection->channel, ssl, request);
  if (!verdict) return fail("pair with " + endpoint->text(), verdict.error());
  if (verdict->kind != Verdict::accepted) return refused(*verdict);
  connection->channel->close_notify();
  if (auto stored = store->put({*name, *endpoint, connection->pin}); !stored)
    return fail("store the gateway's key", stored.error());
  std::printf("Paired with %s at %s as %s\nGateway fingerprint: %s\n", name->c_str(), endpoint->text().c_str(),
              verdict->role.c_str(), ktls::fingerprint(connection->pin).c_str());
  return kExitOk;
}

}  // namespace ttygate::client
