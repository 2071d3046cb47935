// SPDX-License-Identifier: Apache-2.0
// The server-side session cache (ktls/session_cache.hpp) with real OpenSSL handshakes over a
// socketpair: what resumes, what falls back to a full handshake, and what the cache keeps.
#include "ktls/session_cache.hpp"

#include <gtest/gtest.h>
#include <malloc.h>
#include <sys/socket.h>

#include <csignal>
#include <memory>

#include "common/unique_fd.hpp"
#include "ktls/identity.hpp"
#include "temp_dir.hpp"

using namespace ttygate;
using namespace ttygate::ktls;

namespace {

using SessionPtr = std::unique_ptr<SSL_SESSION, OpenSslDeleter<SSL_SESSION_free>>;

// Admits every full handshake of a known pin; counts resumption checks and can refuse them.
class RecordingPolicy final : public PeerPolicy {
 public:
  bool admit(SSL*, const Pin&) override {
    ++full_checks;
    return admit_full;
  }
  bool admit_resumption(SSL*, const Pin& pin) override {
    ++resumption_checks;
    last_resumed = pin;
    return admit_resumed;
  }
  bool admit_full = true;
  bool admit_resumed = true;
  int full_checks = 0;
  int resumption_checks = 0;
  Pin last_resumed{};
};

struct Outcome {
  bool ok = false;
  bool reused = false;
  SessionPtr ticket;  // what the client keeps for next time
};

class ASessionCache : public ::testing::Test {
 protected:
  void SetUp() override {
    std::signal(SIGPIPE, SIG_IGN);
    auto server = load_or_create_identity(identity_files(dir_.path(), "server"), "server");
    auto client = load_or_create_identity(identity_files(dir_.path(), "client"), "client");
    ASSERT_TRUE(server && client);
    client_pin_ = *pin_of(client->certificate.get());
    server_ = std::make_unique<Identity>(std::move(*server));
    auto cctx = make_client_context(*client, client_policy_);
    ASSERT_TRUE(cctx);
    cctx_ = std::move(*cctx);
    restart(8);
  }

  // A fresh server context and cache, as after a gateway restart.
  void restart(std::size_t capacity) {
    sctx_.reset();
    cache_ = std::make_unique<SessionCache>(capacity, std::chrono::seconds(60), [this] { return now_; });
    auto sctx = make_server_context(*server_, policy_);
    ASSERT_TRUE(sctx);
    sctx_ = std::move(*sctx);
    ASSERT_TRUE(cache_->attach(sctx_.get(), policy_, 1).ok());
  }

  Outcome connect(SSL_SESSION* ticket = nullptr) {
    Outcome out;
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) return out;
    UniqueFd sfd(fds[0]), cfd(fds[1]);
    SslPtr s(SSL_new(sctx_.get())), c(SSL_new(cctx_.get()));
    SSL_set_fd(s.get(), sfd.get());
    SSL_set_fd(c.get(), cfd.get());
    SSL_set_accept_state(s.get());
    SSL_set_connect_state(c.get());
    if (ticket) SSL_set_session(c.get(), ticket);
    for (int i = 0; i < 100 && !(SSL_is_init_finished(s.get()) && SSL_is_init_finished(c.get())); ++i) {
      if (SSL_do_handshake(c.get()) <= 0 && SSL_get_error(c.get(), -1) == SSL_ERROR_SSL) break;
      if (SSL_do_handshake(s.get()) <= 0 && SSL_get_error(s.get(), -1) == SSL_ERROR_SSL) break;
    }
    out.ok = SSL_is_init_finished(s.get()) && SSL_is_init_finished(c.get());
    if (!out.ok) return out;
    out.reused = SSL_session_reused(s.get()) == 1;
    char byte;
    SSL_read(c.get(), &byte, 1);  // takes in the ticket (nothing else is sent)
    // A copy, as ttygate-client keeps it: freeing a connection that was not shut down marks its
    // own session unresumable.
    SSL_SESSION* kept = SSL_get0_session(c.get());
    if (kept && SSL_SESSION_is_resumable(kept)) out.ticket.reset(SSL_SESSION_dup(kept));
    return out;
  }

  test_support::TempDir dir_;
  std::unique_ptr<Identity> server_;
  Pin client_pin_{};
  FixedPinPolicy client_policy_{std::nullopt};
  RecordingPolicy policy_;
  SessionCache::Clock::time_point now_{};
  SslCtxPtr cctx_;
  std::unique_ptr<SessionCache> cache_;
  SslCtxPtr sctx_;
};

TEST_F(ASessionCache, ResumesAReturningClientAndAsksThePolicyAgainWithItsPin) {
  Outcome first = connect();
  ASSERT_TRUE(first.ok && first.ticket);
  EXPECT_FALSE(first.reused);
  EXPECT_EQ(cache_->size(), 1u);
  Outcome second = connect(first.ticket.get());
  ASSERT_TRUE(second.ok);
  EXPECT_TRUE(second.reused);
  EXPECT_EQ(policy_.resumption_checks, 1);
  EXPECT_EQ(policy_.last_resumed, client_pin_);
  EXPECT_EQ(policy_.full_checks, 1);  // only the first handshake saw a certificate
}

TEST_F(ASessionCache, TakesEachTicketOnceAndIssuesANewOneOnEveryResumption) {
  Outcome first = connect();
  Outcome second = connect(first.ticket.get());
  ASSERT_TRUE(second.reused && second.ticket);
  EXPECT_EQ(cache_->size(), 1u);  // the used entry went, the renewed one came
  EXPECT_FALSE(connect(first.ticket.get()).reused);  // replayed: a full handshake
  EXPECT_TRUE(connect(second.ticket.get()).reused);
}

TEST_F(ASessionCache, TurnsARefusedResumptionIntoAFullHandshakeThatChecksThePinAgain) {
  Outcome first = connect();
  policy_.admit_resumed = false;
  Outcome second = connect(first.ticket.get());
  ASSERT_TRUE(second.ok);
  EXPECT_FALSE(second.reused);
  EXPECT_EQ(policy_.full_checks, 2);
  policy_.admit_full = false;  // a removed client: the full handshake is refused too
  EXPECT_FALSE(connect(second.ticket.get()).ok);
}

TEST_F(ASessionCache, ForgetsEverySessionOfAnEvictedClient) {
  Outcome first = connect();
  Outcome other = connect();
  ASSERT_EQ(cache_->size(), 2u);
  EXPECT_EQ(cache_->evict(client_pin_), 2u);
  EXPECT_EQ(cache_->size(), 0u);
  EXPECT_FALSE(connect(first.ticket.get()).reused);
  EXPECT_FALSE(connect(other.ticket.get()).reused);
  EXPECT_EQ(policy_.resumption_checks, 0);  // never even asked: the tickets named nothing
}

TEST_F(ASessionCache, RefusesAndDropsSessionsOlderThanTheirLifetime) {
  Outcome first = connect();
  Outcome second = connect();
  now_ += std::chrono::seconds(59);
  EXPECT_EQ(cache_->expire(), 0u);
  EXPECT_TRUE(connect(first.ticket.get()).reused);
  now_ += std::chrono::seconds(1);
  EXPECT_FALSE(connect(second.ticket.get()).reused);  // presented after its lifetime
  ASSERT_EQ(cache_->size(), 2u);  // renewed at 59 s, and the full handshake's at 60 s
  now_ += std::chrono::seconds(60);
  EXPECT_EQ(cache_->expire(), 2u);
  EXPECT_EQ(cache_->size(), 0u);
}

TEST_F(ASessionCache, KeepsAtMostItsCapacityDroppingTheOldestFirst) {
  restart(2);
  Outcome a = connect(), b = connect(), c = connect();
  EXPECT_EQ(cache_->size(), 2u);
  EXPECT_FALSE(connect(a.ticket.get()).reused);
  EXPECT_TRUE(connect(c.ticket.get()).reused);
}

TEST_F(ASessionCache, IsEmptyAfterARestartAndResumesNothingFromBefore) {
  Outcome first = connect();
  restart(8);
  EXPECT_EQ(cache_->size(), 0u);
  Outcome second = connect(first.ticket.get());
  ASSERT_TRUE(second.ok);
  EXPECT_FALSE(second.reused);
}

TEST_F(ASessionCache, IssuesNoTicketWithCapacityZero) {
  restart(0);
  Outcome first = connect();
  ASSERT_TRUE(first.ok);
  EXPECT_EQ(cache_->size(), 0u);
  if (first.ticket) {
    EXPECT_FALSE(connect(first.ticket.get()).reused);
  }
}

// Memory per entry, reported for docs/benchmarks.md; bounded so a regression (a copy of the
// certificate per entry, say) is caught.
TEST_F(ASessionCache, HoldsASessionInAFewKibibytes) {
  restart(400);
  connect();  // one-time allocations first
  const auto before = mallinfo2().uordblks;
  constexpr int kSessions = 200;
  for (int i = 0; i < kSessions; ++i) ASSERT_TRUE(connect().ok);
  ASSERT_EQ(cache_->size(), static_cast<std::size_t>(kSessions + 1));
  const double per_entry = static_cast<double>(mallinfo2().uordblks - before) / kSessions;
  RecordProperty("bytes_per_entry", static_cast<int>(per_entry));
  std::printf("session cache: %.0f bytes of heap per cached session\n", per_entry);
  EXPECT_LT(per_entry, 8 * 1024);
}

}  // namespace
