// SPDX-License-Identifier: Apache-2.0
// The pairing wire exchange (ktls/pairing_protocol): any lines from a peer, to either half and in
// either mode, end in a step that is more, code_shown, proved or failed; never a crash, never a
// success after the exchange ended, never a line to send longer than kMaxLine.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <vector>

#include "ktls/pairing_protocol.hpp"

namespace {

using namespace ttygate::ktls;
using pairing::Step;

pairing::PasscodeVerifier make_verifier() {
  std::vector<std::uint8_t> salt(32, 7);
  auto secrets = spake2plus::derive_secrets("20240613", salt, 1000);
  if (!secrets) std::abort();
  auto verifier = spake2plus::make_verifier(*secrets);
  if (!verifier) std::abort();
  return {salt, 1000, *verifier};
}

void check_step(const Step& step) {
  if (step.send.size() > pairing::kMaxLine) std::abort();
  if (!step.send.empty() && (step.send.back() != '\n' || step.send.find('\n') != step.send.size() - 1)) std::abort();
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty() && lines.size() < 16) {
    std::size_t end = text.find('\n');
    lines.push_back(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  }
  return lines;
}

template <class Exchange>
void feed(Exchange& exchange, const std::vector<std::string_view>& lines) {
  bool ended = false;
  for (std::string_view line : lines) {
    Step step = exchange.receive(line);
    check_step(step);
    if (ended && step.kind != Step::failed) std::abort();  // nothing succeeds after the end
    if (step.kind != Step::more) ended = true;
  }
}

// A gateway may ask a client for up to 10,000,000 PBKDF2 iterations, and the client pays them:
// seconds of OpenSSL's hashing per input (more than the fuzzer's per-input timeout under ASan)
// that test nothing of the protocol code. Inputs asking a million or more are left out; the
// bounds themselves (below 1,000, above 10,000,000) are rejected before any hashing and stay in.
bool asks_costly_derivation(const std::vector<std::string_view>& lines) {
  for (std::string_view l : lines) {
    if (l.find("passcode ") == std::string_view::npos) continue;
    std::string_view last = l.substr(l.find_last_of(' ') + 1);
    if (last.find_first_not_of("0123456789") != std::string_view::npos) continue;
    last.remove_prefix(std::min(last.find_first_not_of('0'), last.size()));  // from_chars takes leading zeros
    if (last.size() >= 7 && last.size() <= 8) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const pairing::PasscodeVerifier verifier = make_verifier();
  if (size < 1) return 0;
  pairing::Bytes32 exporter{};
  exporter.fill(0x42);
  pairing::Bytes32 nonce{};
  nonce.fill(0x17);
  const auto lines = lines_of(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  if (asks_costly_derivation(lines)) return 0;
  switch (data[0] % 4) {
    case 0: feed(*pairing::GatewayExchange::committed_code(exporter, nonce), lines); break;
    case 1: feed(*pairing::GatewayExchange::passcode(exporter, verifier), lines); break;
    case 2: {
      pairing::ClientExchange client(exporter, std::nullopt, nonce);
      feed(client, lines);
      break;
    }
    default: {
      pairing::ClientExchange client(exporter, std::string("20240613"), nonce);
      feed(client, lines);
      break;
    }
  }
  return 0;
}
