// SPDX-License-Identifier: Apache-2.0
// The Channel contract (ktls/channel.hpp) as UserChannel keeps it, over a socketpair with a real
// OpenSSL peer: a read that returns data returns some, a write of nothing is done with 0, the
// peer's close_notify is an orderly end with no error, a peer that vanishes is a failure. The
// kernel channel keeps the same contract in tests/vm.
#include "ktls/user_channel.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>

#include <csignal>

#include "ktls/identity.hpp"
#include "ktls/tls_context.hpp"
#include "temp_dir.hpp"

using namespace ttygate;
using namespace ttygate::ktls;

namespace {

class AUserChannel : public ::testing::Test {
 protected:
  void SetUp() override {
    std::signal(SIGPIPE, SIG_IGN);
    auto server = load_or_create_identity(identity_files(dir_.path(), "server"), "server");
    auto client = load_or_create_identity(identity_files(dir_.path(), "client"), "client");
    ASSERT_TRUE(server && client);
    auto sctx = make_server_context(*server, policy_);
    auto cctx = make_client_context(*client, policy_);
    ASSERT_TRUE(sctx && cctx);
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    SslPtr s(SSL_new(sctx->get())), c(SSL_new(cctx->get()));
    SSL_set_fd(s.get(), fds[0]);
    SSL_set_fd(c.get(), fds[1]);
    SSL_set_accept_state(s.get());
    SSL_set_connect_state(c.get());
    for (int i = 0; i < 100 && !(SSL_is_init_finished(s.get()) && SSL_is_init_finished(c.get())); ++i) {
      SSL_do_handshake(c.get());
      SSL_do_handshake(s.get());
    }
    ASSERT_TRUE(SSL_is_init_finished(s.get()) && SSL_is_init_finished(c.get()));
    peer_ = std::move(c);
    peer_fd_ = UniqueFd(fds[1]);
    channel_ = std::make_unique<UserChannel>(std::move(s), UniqueFd(fds[0]));
  }
  // Reads until something other than "wait" comes back (bounded).
  IoStatus read(std::span<std::byte> buffer) {
    for (int i = 0; i < 200; ++i) {
      IoStatus st = channel_->read(buffer);
      if (st.kind != IoStatus::wait) return st;
      pollfd p{channel_->fd(), st.events, 0};
      ::poll(&p, 1, 10);
    }
    return IoStatus::wait_for(POLLIN);
  }

  test_support::TempDir dir_;
  FixedPinPolicy policy_{std::nullopt};
  SslPtr peer_;
  UniqueFd peer_fd_;
  std::unique_ptr<UserChannel> channel_;
  std::array<std::byte, 64> buffer_{};
};

TEST_F(AUserChannel, ReturnsDoneOnlyWithBytes) {
  ASSERT_EQ(SSL_write(peer_.get(), "abc", 3), 3);
  IoStatus st = read(buffer_);
  ASSERT_EQ(st.kind, IoStatus::done);
  EXPECT_EQ(st.bytes, 3u);
  EXPECT_EQ(channel_->read(buffer_).kind, IoStatus::wait);  // nothing more: wait, never done with 0
}

TEST_F(AUserChannel, IsDoneWithZeroBytesForAWriteOfNothing) {
  IoStatus st = channel_->write({});
  EXPECT_EQ(st.kind, IoStatus::done);
  EXPECT_EQ(st.bytes, 0u);
}

TEST_F(AUserChannel, EndsInOrderWithoutAnErrorOnThePeersCloseNotify) {
  SSL_shutdown(peer_.get());
  IoStatus st = read(buffer_);
  EXPECT_EQ(st.kind, IoStatus::closed);
  EXPECT_FALSE(st.error.code());
}

TEST_F(AUserChannel, FailsWhenThePeerVanishesWithoutCloseNotify) {
  peer_fd_.reset();
  IoStatus st = read(buffer_);
  EXPECT_EQ(st.kind, IoStatus::failed);
  EXPECT_TRUE(st.error.code());
}

}  // namespace
