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

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <string>
#include <vector>

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

namespace {

// The same channel with its input brought by the event loop (ktls/loop_input.hpp): the test
// plays the loop, taking the peer's records off the socket itself and lending them in slices.
class AUserChannelFedByTheLoop : public AUserChannel {
 protected:
  void SetUp() override {
    AUserChannel::SetUp();
    ASSERT_TRUE(channel_->receive_from_loop());
    ASSERT_TRUE(channel_->takes_loop_input());
  }
  // Has the peer send each frame as its own record, and returns the records' bytes as they
  // arrived on the channel's socket (which is left empty).
  std::vector<std::byte> records(const std::vector<std::string>& frames) {
    for (const auto& f : frames) EXPECT_EQ(SSL_write(peer_.get(), f.data(), static_cast<int>(f.size())), static_cast<int>(f.size()));
    std::vector<std::byte> wire(64 * 1024);
    ssize_t n = ::recv(channel_->fd(), wire.data(), wire.size(), MSG_DONTWAIT);
    EXPECT_GT(n, 0);
    wire.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return wire;
  }
  // Reads until the channel waits (never polling: it must not need the socket), as a session
  // does while the loop's buffer is lent.
  std::string read_all() {
    std::string out;
    for (;;) {
      IoStatus st = channel_->read(buffer_);
      if (st.kind != IoStatus::done) {
        EXPECT_EQ(st.kind, IoStatus::wait);
        return out;
      }
      out.append(reinterpret_cast<const char*>(buffer_.data()), st.bytes);
    }
  }
};

TEST_F(AUserChannelFedByTheLoop, ReadsARecordSplitAcrossTwoReceives) {
  for (int read_ahead : {0, 1}) {
    SSL_set_read_ahead(channel_->ssl(), read_ahead);
    std::vector<std::byte> wire = records({"split in two"});
    std::vector<std::byte> lent(wire.begin(), wire.begin() + 7);
    channel_->lend_input(static_cast<int>(lent.size()), lent);
    EXPECT_EQ(read_all(), "");  // half a record: nothing yet, and nothing lost
    channel_->settle_input();
    std::fill(lent.begin(), lent.end(), std::byte{0xee});  // the loop reuses its buffer
    std::vector<std::byte> rest(wire.begin() + 7, wire.end());
    channel_->lend_input(static_cast<int>(rest.size()), rest);
    EXPECT_EQ(read_all(), "split in two") << "read-ahead " << read_ahead;
    channel_->settle_input();
    EXPECT_FALSE(channel_->has_buffered_input());
  }
}

TEST_F(AUserChannelFedByTheLoop, ReadsEveryRecordOfOneReceive) {
  for (int read_ahead : {0, 1}) {
    SSL_set_read_ahead(channel_->ssl(), read_ahead);
    std::vector<std::byte> wire = records({"one ", "two ", "three"});
    channel_->lend_input(static_cast<int>(wire.size()), wire);
    EXPECT_EQ(read_all(), "one two three") << "read-ahead " << read_ahead;
    channel_->settle_input();
    EXPECT_FALSE(channel_->has_buffered_input());
  }
}

// A session that stops reading (device queue full, its turn over) settles with records unread:
// they are copied before the loop takes its buffer back, and read later, in order.
TEST_F(AUserChannelFedByTheLoop, KeepsWhatItDidNotReadWhenTheLoopTakesItsBufferBack) {
  SSL_set_read_ahead(channel_->ssl(), 0);  // one record per read: the rest stays lent
  std::vector<std::byte> wire = records({"first", "second", "third"});
  channel_->lend_input(static_cast<int>(wire.size()), wire);
  IoStatus st = channel_->read(buffer_);
  ASSERT_EQ(st.kind, IoStatus::done);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(buffer_.data()), st.bytes), "first");
  EXPECT_TRUE(channel_->has_buffered_input());
  channel_->settle_input();
  std::fill(wire.begin(), wire.end(), std::byte{0});
  EXPECT_TRUE(channel_->has_buffered_input());
  EXPECT_EQ(read_all(), "secondthird");
  EXPECT_FALSE(channel_->has_buffered_input());
}

// After a poll (the ring was empty) nothing is lent: OpenSSL reads the socket as it always did.
TEST_F(AUserChannelFedByTheLoop, ReadsTheSocketItselfWhenNothingWasLent) {
  ASSERT_EQ(SSL_write(peer_.get(), "polled", 6), 6);
  IoStatus st = read(buffer_);
  ASSERT_EQ(st.kind, IoStatus::done);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(buffer_.data()), st.bytes), "polled");
}

TEST_F(AUserChannelFedByTheLoop, FailsWithTheErrorTheLoopsReceiveGot) {
  channel_->lend_input(-ECONNRESET, {});
  IoStatus st = channel_->read(buffer_);
  ASSERT_EQ(st.kind, IoStatus::failed);
  EXPECT_EQ(st.error.code(), std::error_code(ECONNRESET, std::system_category()));
}

TEST_F(AUserChannelFedByTheLoop, EndsInOrderOnACloseNotifyLentByTheLoop) {
  SSL_shutdown(peer_.get());
  std::vector<std::byte> wire(256);
  ssize_t n = ::recv(channel_->fd(), wire.data(), wire.size(), MSG_DONTWAIT);
  ASSERT_GT(n, 0);
  channel_->lend_input(static_cast<int>(n), std::span(wire).first(static_cast<std::size_t>(n)));
  IoStatus st = channel_->read(buffer_);
  EXPECT_EQ(st.kind, IoStatus::closed);
  EXPECT_FALSE(st.error.code());
}

TEST_F(AUserChannelFedByTheLoop, FailsAtAnEndOfStreamWithoutCloseNotify) {
  channel_->lend_input(0, {});
  EXPECT_EQ(channel_->read(buffer_).kind, IoStatus::failed);
}

}  // namespace
