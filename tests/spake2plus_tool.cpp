// SPDX-License-Identifier: Apache-2.0
// spake2plus_tool: ktls/spake2plus on the command line, for the Python cross-check
// (tests/integration/test_spake2plus_reference.py). Arguments and answers are lowercase hex;
// every answer is a "<name> <hex>" line. A refused input prints "refused <errc> <message>" and
// exits 1.
//
//   derive PASSWORD SALT ITERATIONS            -> w0, w1, L
//   run W0 W1 CONTEXT ID_PROVER ID_VERIFIER X Y -> every value, as the objects and both sides'
//                                                 Details compute them
//   prove W0 W1 CONTEXT   (random x)  -> shareP; reads "SHAREV CONFIRMV" -> confirmP, K_shared
//   verify W0 L CONTEXT   (random y)  reads "SHAREP" -> shareV, confirmV; reads "CONFIRMP" -> K_shared
#include <cerrno>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "common/hex.hpp"
#include "ktls/spake2plus.hpp"

namespace {

using namespace ttygate;
using namespace ttygate::ktls::spake2plus;
using Bytes = std::vector<std::uint8_t>;

Bytes unhex(const std::string& text) {
  if (text.size() % 2 != 0) throw std::invalid_argument("odd-length hex: " + text);
  Bytes out;
  for (std::size_t i = 0; i < text.size(); i += 2) out.push_back(static_cast<std::uint8_t>(std::stoul(text.substr(i, 2), nullptr, 16)));
  return out;
}

template <std::size_t N>
std::array<std::uint8_t, N> unhex_array(const std::string& text) {
  Bytes bytes = unhex(text);
  if (bytes.size() != N) throw std::invalid_argument("expected " + std::to_string(N) + " bytes: " + text);
  std::array<std::uint8_t, N> out{};
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

void put(const char* name, std::span<const std::uint8_t> bytes) {
  std::printf("%s %s\n", name, to_hex(bytes).c_str());
  std::fflush(stdout);
}

template <class T>
T or_refuse(Result<T> result) {
  if (result) return std::move(*result);
  const char* code = result.error().code() == std::errc::permission_denied ? "permission_denied"
                     : result.error().code() == std::errc::invalid_argument ? "invalid_argument"
                                                                              : "other";
  std::printf("refused %s %s\n", code, result.error().message().c_str());
  std::exit(1);
}

void put_details(const std::string& side, const Details& d) {
  auto name = [&](const char* field) { return side + "." + field; };
  put(name("shareP").c_str(), d.share_p);
  put(name("shareV").c_str(), d.share_v);
  put(name("Z").c_str(), d.Z);
  put(name("V").c_str(), d.V);
  put(name("TT").c_str(), d.TT);
  put(name("K_main").c_str(), d.K_main);
  put(name("K_confirmP").c_str(), d.K_confirmP);
  put(name("K_confirmV").c_str(), d.K_confirmV);
  put(name("confirmP").c_str(), d.confirm_p);
  put(name("confirmV").c_str(), d.confirm_v);
  put(name("K_shared").c_str(), d.K_shared);
}

int derive(char** argv) {
  Secrets secrets = or_refuse(derive_secrets(argv[0], unhex(argv[1]), static_cast<std::uint32_t>(std::stoul(argv[2]))));
  Verifier verifier = or_refuse(make_verifier(secrets));
  put("w0", secrets.w0);
  put("w1", secrets.w1);
  put("L", verifier.L);
  return 0;
}

int run(char** argv) {
  Secrets secrets{unhex_array<kScalarBytes>(argv[0]), unhex_array<kScalarBytes>(argv[1])};
  Transcript transcript{unhex(argv[2]), unhex(argv[3]), unhex(argv[4])};
  Scalar x = unhex_array<kScalarBytes>(argv[5]), y = unhex_array<kScalarBytes>(argv[6]);
  Verifier verifier = or_refuse(make_verifier(secrets));
  Prover prover = or_refuse(Prover::start(secrets, transcript, x));
  VerifierSession session = or_refuse(VerifierSession::respond(verifier, transcript, prover.share(), y));
  Finish finish = or_refuse(prover.finish(session.share(), session.confirm()));
  Key key = or_refuse(session.finish(finish.confirm));
  put("L", verifier.L);
  put("shareP", prover.share());
  put("shareV", session.share());
  put("confirmV", session.confirm());
  put("confirmP", finish.confirm);
  put("K_shared", finish.shared_key);
  put("verifier.K_shared.object", key);
  put_details("prover", or_refuse(prover_details(secrets, transcript, x, session.share())));
  put_details("verifier", or_refuse(verifier_details(verifier, transcript, prover.share(), y)));
  return 0;
}

std::string next_word() {
  std::string word;
  if (!(std::cin >> word)) throw std::invalid_argument("input ended");
  return word;
}

int prove(char** argv) {
  Secrets secrets{unhex_array<kScalarBytes>(argv[0]), unhex_array<kScalarBytes>(argv[1])};
  Prover prover = or_refuse(Prover::start(secrets, Transcript{unhex(argv[2]), {}, {}}));
  put("shareP", prover.share());
  Bytes share_v = unhex(next_word());
  Bytes confirm_v = unhex(next_word());
  Finish finish = or_refuse(prover.finish(share_v, confirm_v));
  put("confirmP", finish.confirm);
  put("K_shared", finish.shared_key);
  return 0;
}

int verify(char** argv) {
  Verifier verifier = or_refuse(verifier_from(unhex(argv[0]), unhex(argv[1])));
  Bytes share_p = unhex(next_word());
  VerifierSession session = or_refuse(VerifierSession::respond(verifier, Transcript{unhex(argv[2]), {}, {}}, share_p));
  put("shareV", session.share());
  put("confirmV", session.confirm());
  Key key = or_refuse(session.finish(unhex(next_word())));
  put("K_shared", key);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  try {
    if (command == "derive" && argc == 5) return derive(argv + 2);
    if (command == "run" && argc == 9) return run(argv + 2);
    if (command == "prove" && argc == 5) return prove(argv + 2);
    if (command == "verify" && argc == 5) return verify(argv + 2);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spake2plus_tool: %s\n", e.what());
    return 2;
  }
  std::fprintf(stderr, "usage: spake2plus_tool derive|run|prove|verify ... (see the source)\n");
  return 2;
}
