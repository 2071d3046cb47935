// SPDX-License-Identifier: Apache-2.0
// KernelChannel's KeyUpdate state machine without a kernel: a fake RecordSocket behaves as
// Linux 6.14+ kernel TLS does (measured in tests/vm): after handing over a KeyUpdate record it
// parks decryption (EKEYEXPIRED) until the next TLS_RX key is installed; a record under another
// key than the installed one fails authentication (EBADMSG); a re-key on a kernel without it is
// EBUSY. Records carry the traffic secret they were protected with, so every check is "which key
// was in force", and the secrets installed are checked against next_traffic_secret() (itself
// checked against independent derivations in key_schedule_test and against OpenSSL's own
// KeyUpdate records in offload_test). tests/vm runs the same code against the real kernel.
#include <gtest/gtest.h>
#include <linux/tls.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "ktls/kernel_channel.hpp"

namespace ttygate::ktls {
namespace {

constexpr Suite kSuite = Suite::aes_128_gcm_sha256;

SecretBytes secret_of(std::uint8_t fill) {
  std::vector<std::uint8_t> bytes(hash_length(kSuite), fill);
  return *SecretBytes::from(bytes);
}

SecretBytes next(const SecretBytes& s) { return *next_traffic_secret(kSuite, s.bytes()); }

std::vector<std::byte> as_bytes(std::string_view text) {
  std::vector<std::byte> out;
  for (char c : text) out.push_back(static_cast<std::byte>(c));
  return out;
}

std::string text_of(std::span<const std::byte> bytes) {
  std::string out;
  for (std::byte b : bytes) out += static_cast<char>(b);
  return out;
}

const std::string kKeyUpdate{"\x18\x00\x00\x01\x00", 5};
const std::string kKeyUpdateRequested{"\x18\x00\x00\x01\x01", 5};

struct Record {
  std::uint8_t type;
  std::string payload;
  SecretBytes key;  // the traffic secret it was protected with
};

struct FakeKernel final : RecordSocket {
  // Peer → us.
  std::deque<Record> incoming;
  SecretBytes rx;
  bool parked = false;  // a KeyUpdate was decrypted: decryption waits for the next TLS_RX
  std::optional<Record> held;  // decrypted behind data by an earlier receive, not returned yet
  // Us → peer.
  std::vector<Record> sent;
  SecretBytes tx;
  bool full = false;  // the send buffer is full: EAGAIN
  bool short_record = false;  // the next send_record takes only part of the record
  // Re-keying.
  bool can_rekey = true;
  int refuse_tx_install = 0;  // errno for the next TLS_TX install, 0 to accept
  std::vector<std::pair<int, SecretBytes>> installs;

  int fd() const override { return 42; }

  // What poll() would say: Linux 6.14+ reports nothing while a re-key is pending, even when
  // the KeyUpdate record itself still waits to be read.
  bool poll_readable() const { return !parked && (held || !incoming.empty()); }

  ssize_t receive(std::span<std::byte> buffer, std::uint8_t& type) override {
    type = 23;
    if (held) return deliver(*std::exchange(held, std::nullopt), buffer, type);
    if (parked) return -EKEYEXPIRED;
    if (incoming.empty()) return -EAGAIN;
    if (!under_rx(incoming.front())) return -EBADMSG;
    Record r = incoming.front();
    incoming.pop_front();
    if (r.type == 22 && is_key_update(r)) parked = true;
    // As recvmsg does: after data that left room in the buffer it decrypts the next record
    // too, and keeps it for the next call when its type differs (here: a KeyUpdate).
    if (r.type == 23 && r.payload.size() < buffer.size() && !incoming.empty() &&
        incoming.front().type == 22 && is_key_update(incoming.front()) && under_rx(incoming.front())) {
      held = incoming.front();
      incoming.pop_front();
      parked = true;
    }
    return deliver(r, buffer, type);
  }

  static bool is_key_update(const Record& r) { return r.payload.size() == 5 && r.payload[0] == 24; }
  bool under_rx(const Record& r) const {
    return r.key.bytes().size() == rx.bytes().size() &&
           std::equal(r.key.bytes().begin(), r.key.bytes().end(), rx.bytes().begin());
  }
  static ssize_t deliver(const Record& r, std::span<std::byte> buffer, std::uint8_t& type) {
    std::size_t n = std::min(buffer.size(), r.payload.size());
    std::memcpy(buffer.data(), r.payload.data(), n);
    type = r.type;
    return static_cast<ssize_t>(n);
  }

  ssize_t send(std::span<const std::byte> data) override {
    if (full) return -EAGAIN;
    sent.push_back({23, text_of(data), tx});
    return static_cast<ssize_t>(data.size());
  }

  ssize_t send_record(std::uint8_t type, std::span<const std::byte> payload) override {
    if (full) return -EAGAIN;
    if (std::exchange(short_record, false)) payload = payload.first(payload.size() - 1);
    sent.push_back({type, text_of(payload), tx});
    return static_cast<ssize_t>(payload.size());
  }

  Result<void> install(int direction, Suite, std::span<const std::uint8_t> secret) override {
    if (!can_rekey) return errno_error("the kernel cannot re-key it", EBUSY);
    if (direction == TLS_TX && refuse_tx_install) {
      return errno_error("the kernel refused the transmit (TLS_TX) keys", std::exchange(refuse_tx_install, 0));
    }
    SecretBytes s = *SecretBytes::from(secret);
    installs.emplace_back(direction, s);
    (direction == TLS_RX ? rx : tx) = s;
    if (direction == TLS_RX) parked = false;
    return success();
  }
};

bool same(const SecretBytes& a, const SecretBytes& b) {
  return a.bytes().size() == b.bytes().size() && std::equal(a.bytes().begin(), a.bytes().end(), b.bytes().begin());
}

class AKernelChannel : public ::testing::Test {
 protected:
  void make(bool can_rekey = true) {
    auto socket = std::make_unique<FakeKernel>();
    kernel = socket.get();
    kernel->rx = rx0;
    kernel->tx = tx0;
    kernel->can_rekey = can_rekey;
    channel = std::make_unique<KernelChannel>(std::move(socket), kSuite, rx0, tx0, true, can_rekey);
  }
  void SetUp() override { make(); }

  void peer_sends(std::uint8_t type, std::string payload, const SecretBytes& key) {
    kernel->incoming.push_back({type, std::move(payload), key});
  }
  IoStatus read() { return channel->read(buffer); }
  std::string read_text() {
    IoStatus st = read();
    EXPECT_EQ(st.kind, IoStatus::done) << st.error.message();
    return st.kind == IoStatus::done ? text_of(std::span(buffer).first(st.bytes)) : std::string();
  }
  IoStatus write(std::string_view text) { return channel->write(as_bytes(text)); }

  SecretBytes rx0 = secret_of(0x11);
  SecretBytes tx0 = secret_of(0x22);
  std::vector<std::byte> buffer = std::vector<std::byte>(256);
  FakeKernel* kernel = nullptr;
  std::unique_ptr<KernelChannel> channel;
};

TEST_F(AKernelChannel, FollowsAPeerKeyUpdateAndReadsOnUnderTheNextReceiveKey) {
  peer_sends(23, "before", rx0);
  peer_sends(22, kKeyUpdate, rx0);
  peer_sends(23, "after", next(rx0));
  EXPECT_EQ(read_text(), "before");
  EXPECT_EQ(read_text(), "after");
  ASSERT_EQ(kernel->installs.size(), 1u);
  EXPECT_EQ(kernel->installs[0].first, TLS_RX);
  EXPECT_TRUE(same(kernel->installs[0].second, next(rx0)));
  EXPECT_TRUE(kernel->sent.empty());  // not requested: nothing to answer
  EXPECT_EQ(channel->key_updates_received(), 1u);
  EXPECT_EQ(read().kind, IoStatus::wait);
}

TEST_F(AKernelChannel, FollowsTenKeyUpdatesInARowOfData) {
  SecretBytes key = rx0;
  for (int i = 0; i < 10; ++i) {
    peer_sends(22, i % 2 ? kKeyUpdateRequested : kKeyUpdate, key);
    key = next(key);
    peer_sends(23, "block " + std::to_string(i), key);
  }
  for (int i = 0; i < 10; ++i) EXPECT_EQ(read_text(), "block " + std::to_string(i));
  EXPECT_TRUE(same(kernel->rx, key));
  EXPECT_EQ(channel->key_updates_received(), 10u);
  EXPECT_EQ(channel->key_updates_sent(), 5u);  // one answer per update_requested
}

TEST_F(AKernelChannel, AnswersUpdateRequestedUnderTheOldSendKeyThenMovesItsSendKey) {
  peer_sends(22, kKeyUpdateRequested, rx0);
  EXPECT_EQ(read().kind, IoStatus::wait);
  ASSERT_EQ(kernel->sent.size(), 1u);
  EXPECT_EQ(kernel->sent[0].type, 22);
  EXPECT_EQ(kernel->sent[0].payload, kKeyUpdate);  // ours does not request one back
  EXPECT_TRUE(same(kernel->sent[0].key, tx0));
  ASSERT_EQ(write("x").kind, IoStatus::done);
  EXPECT_TRUE(same(kernel->sent[1].key, next(tx0)));
  ASSERT_EQ(kernel->installs.size(), 2u);
  EXPECT_EQ(kernel->installs[1].first, TLS_TX);
  EXPECT_EQ(channel->key_updates_sent(), 1u);
}

TEST_F(AKernelChannel, AnswersRequestsThatArriveWhileItsSocketIsFullWithOneKeyUpdateBeforeItsNextData) {
  kernel->full = true;
  peer_sends(22, kKeyUpdateRequested, rx0);
  peer_sends(23, "a", next(rx0));
  peer_sends(22, kKeyUpdateRequested, next(rx0));
  peer_sends(23, "b", next(next(rx0)));
  EXPECT_EQ(read_text(), "a");
  EXPECT_EQ(read_text(), "b");
  EXPECT_TRUE(channel->key_update_owed());
  IoStatus st = read();
  EXPECT_EQ(st.kind, IoStatus::wait);
  EXPECT_EQ(st.events, POLLIN | POLLOUT);  // so the owed KeyUpdate goes as soon as there is room
  EXPECT_EQ(write("x").kind, IoStatus::wait);
  EXPECT_TRUE(kernel->sent.empty());
  kernel->full = false;
  ASSERT_EQ(write("x").kind, IoStatus::done);
  ASSERT_EQ(kernel->sent.size(), 2u);
  EXPECT_EQ(kernel->sent[0].payload, kKeyUpdate);
  EXPECT_TRUE(same(kernel->sent[0].key, tx0));
  EXPECT_EQ(kernel->sent[1].payload, "x");
  EXPECT_TRUE(same(kernel->sent[1].key, next(tx0)));
  EXPECT_EQ(channel->key_updates_sent(), 1u);
}

TEST_F(AKernelChannel, UpdatesItsKeysWithARequestedKeyUpdateAndFollowsThePeersAnswer) {
  EXPECT_EQ(channel->update_keys().kind, KeyUpdateStart::started);
  ASSERT_EQ(kernel->sent.size(), 1u);
  EXPECT_EQ(kernel->sent[0].payload, kKeyUpdateRequested);
  EXPECT_TRUE(same(kernel->sent[0].key, tx0));
  EXPECT_TRUE(same(kernel->tx, next(tx0)));
  peer_sends(23, "in flight", rx0);  // sent before the peer read our KeyUpdate
  peer_sends(22, kKeyUpdate, rx0);
  peer_sends(23, "answered", next(rx0));
  EXPECT_EQ(read_text(), "in flight");
  EXPECT_EQ(read_text(), "answered");
  EXPECT_EQ(kernel->sent.size(), 1u);  // the peer's answer asks nothing back
}

// The stall tests/vm found with s_client in a bulk transfer: the peer's KeyUpdate right behind
// data is decrypted by the read that returns the data and kept, and poll() never reports it.
TEST_F(AKernelChannel, SaysReadAgainAfterAShortDataReadSinceTheKernelMayHoldAKeyUpdatePollNeverReports) {
  peer_sends(23, "before", rx0);
  peer_sends(22, kKeyUpdate, rx0);
  peer_sends(23, "after", next(rx0));
  EXPECT_EQ(read_text(), "before");
  EXPECT_FALSE(kernel->poll_readable());  // waiting for POLLIN here would wait for ever
  EXPECT_TRUE(channel->has_buffered_input());
  EXPECT_EQ(read_text(), "after");
  EXPECT_EQ(channel->key_updates_received(), 1u);
  EXPECT_EQ(read().kind, IoStatus::wait);
  EXPECT_FALSE(channel->has_buffered_input());  // nothing held: poll again
}

TEST_F(AKernelChannel, LetsPollDecideAfterAReadThatFilledTheBuffer) {
  peer_sends(23, std::string(buffer.size(), 'x'), rx0);
  EXPECT_EQ(read().bytes, buffer.size());
  EXPECT_FALSE(channel->has_buffered_input());
}

TEST_F(AKernelChannel, NeverHoldsInputOnAKernelThatCannotReKey) {
  make(false);
  peer_sends(23, "data", rx0);
  EXPECT_EQ(read_text(), "data");
  EXPECT_FALSE(channel->has_buffered_input());
}

TEST_F(AKernelChannel, AsksForThePeersKeyUpdateOnceAndMovesOnlyItsSendKeyUntilTheAnswer) {
  ASSERT_EQ(channel->update_keys().kind, KeyUpdateStart::started);
  EXPECT_TRUE(channel->awaiting_answer());
  ASSERT_EQ(write("no answer needed").kind, IoStatus::done);  // TX never waits for the answer
  ASSERT_EQ(channel->update_keys().kind, KeyUpdateStart::started);
  ASSERT_EQ(kernel->sent.size(), 3u);
  EXPECT_EQ(kernel->sent[0].payload, kKeyUpdateRequested);
  EXPECT_TRUE(same(kernel->sent[0].key, tx0));
  EXPECT_TRUE(same(kernel->sent[1].key, next(tx0)));
  EXPECT_EQ(kernel->sent[2].payload, kKeyUpdate);  // a second request before the answer: none
  EXPECT_TRUE(same(kernel->sent[2].key, next(tx0)));
  EXPECT_TRUE(same(kernel->tx, next(next(tx0))));
  peer_sends(22, kKeyUpdate, rx0);  // the answer
  EXPECT_EQ(read().kind, IoStatus::wait);
  EXPECT_FALSE(channel->awaiting_answer());
  ASSERT_EQ(channel->update_keys().kind, KeyUpdateStart::started);
  ASSERT_EQ(kernel->sent.size(), 4u);
  EXPECT_EQ(kernel->sent[3].payload, kKeyUpdateRequested);  // asks again after the answer
  EXPECT_EQ(channel->key_updates_sent(), 3u);
}

TEST_F(AKernelChannel, SendsItsKeyUpdateAfterEveryByteTheKernelTookAndMovesItsKeyOnlyOnceItIsOut) {
  ASSERT_EQ(write("old").kind, IoStatus::done);
  kernel->full = true;
  ASSERT_EQ(channel->update_keys().kind, KeyUpdateStart::started);
  EXPECT_TRUE(kernel->installs.empty());  // not out yet: the send key stays
  EXPECT_EQ(write("new").kind, IoStatus::wait);
  kernel->full = false;
  ASSERT_EQ(write("new").kind, IoStatus::done);
  ASSERT_EQ(kernel->sent.size(), 3u);
  EXPECT_EQ(kernel->sent[0].payload, "old");
  EXPECT_EQ(kernel->sent[1].payload, kKeyUpdateRequested);
  EXPECT_TRUE(same(kernel->sent[1].key, tx0));
  EXPECT_EQ(kernel->sent[2].payload, "new");
  EXPECT_TRUE(same(kernel->sent[2].key, next(tx0)));
}

TEST_F(AKernelChannel, FailsWithoutMovingItsSendKeyWhenTheKernelTookPartOfItsKeyUpdate) {
  kernel->short_record = true;
  KeyUpdateStart start = channel->update_keys();
  EXPECT_EQ(start.kind, KeyUpdateStart::failed);
  EXPECT_NE(start.error.message().find("part of our KeyUpdate"), std::string::npos) << start.error.message();
  EXPECT_TRUE(kernel->installs.empty());
  EXPECT_EQ(write("x").kind, IoStatus::failed);
}

TEST_F(AKernelChannel, SendsItsKeyUpdateBeforeThePayloadWhenTheSocketWasFull) {
  kernel->full = true;
  EXPECT_EQ(channel->update_keys().kind, KeyUpdateStart::started);
  EXPECT_TRUE(channel->key_update_owed());
  EXPECT_EQ(channel->update_keys().kind, KeyUpdateStart::started);  // shares the owed one
  kernel->full = false;
  ASSERT_EQ(write("data").kind, IoStatus::done);
  ASSERT_EQ(kernel->sent.size(), 2u);
  EXPECT_EQ(kernel->sent[0].payload, kKeyUpdateRequested);
  EXPECT_TRUE(same(kernel->sent[0].key, tx0));
  EXPECT_TRUE(same(kernel->sent[1].key, next(tx0)));
}

TEST_F(AKernelChannel, CannotUpdateKeysOnAKernelWithoutReKeying) {
  make(false);
  EXPECT_EQ(channel->update_keys().kind, KeyUpdateStart::unsupported);
  EXPECT_FALSE(channel->updates_keys_in_place());
  EXPECT_TRUE(kernel->sent.empty());
}

TEST_F(AKernelChannel, EndsInOrderWithTheReasonWhenTheKernelCannotFollowAPeerKeyUpdate) {
  make(false);
  peer_sends(22, kKeyUpdate, rx0);
  peer_sends(23, "lost", next(rx0));
  IoStatus st = read();
  EXPECT_EQ(st.kind, IoStatus::closed);
  EXPECT_NE(st.error.message().find("peer sent KeyUpdate but the kernel cannot re-key"), std::string::npos)
      << st.error.message();
  ASSERT_EQ(kernel->sent.size(), 1u);
  EXPECT_EQ(kernel->sent[0].type, 21);  // close_notify
  EXPECT_EQ(kernel->sent[0].payload, std::string("\x01\x00", 2));
}

TEST_F(AKernelChannel, FailsOnARecordUnderTheOldKeyAfterAKeyUpdateAndDeliversNothingOfIt) {
  peer_sends(22, kKeyUpdate, rx0);
  peer_sends(23, "stale", rx0);
  IoStatus st = read();
  EXPECT_EQ(st.kind, IoStatus::failed);
  EXPECT_NE(st.error.message().find("failed authentication"), std::string::npos) << st.error.message();
  EXPECT_EQ(read().kind, IoStatus::failed);  // and stays failed
  EXPECT_EQ(write("x").kind, IoStatus::failed);
  EXPECT_TRUE(kernel->sent.empty());
}

TEST_F(AKernelChannel, FailsOnAGarbageKeyUpdateWithoutInstallingAnything) {
  peer_sends(22, std::string("\x18\x00\x00\x01\x07", 5), rx0);
  IoStatus st = read();
  EXPECT_EQ(st.kind, IoStatus::failed);
  EXPECT_NE(st.error.message().find("unexpected handshake message 24"), std::string::npos) << st.error.message();
  EXPECT_TRUE(kernel->installs.empty());
}

TEST_F(AKernelChannel, FailsWhenTheKernelHoldsRecordsUnderAKeyItNeverDerived) {
  kernel->parked = true;
  IoStatus st = read();
  EXPECT_EQ(st.kind, IoStatus::failed);
  EXPECT_NE(st.error.message().find("KeyUpdate was missed"), std::string::npos) << st.error.message();
}

TEST_F(AKernelChannel, BoundsAStormOfKeyUpdatesWithoutData) {
  SecretBytes key = rx0;
  for (int i = 0; i <= KernelChannel::max_key_updates_without_data; ++i) {
    peer_sends(22, kKeyUpdateRequested, key);
    key = next(key);
  }
  IoStatus st = read();
  EXPECT_EQ(st.kind, IoStatus::failed);
  EXPECT_NE(st.error.message().find("KeyUpdates with no application data between them"), std::string::npos)
      << st.error.message();
  EXPECT_EQ(channel->key_updates_received(), static_cast<std::uint64_t>(KernelChannel::max_key_updates_without_data));
}

TEST_F(AKernelChannel, AllowsAsManyKeyUpdatesAsItLikesBetweenData) {
  SecretBytes key = rx0;
  for (int i = 0; i < 3 * KernelChannel::max_key_updates_without_data; ++i) {
    peer_sends(22, kKeyUpdateRequested, key);
    key = next(key);
    peer_sends(23, "d", key);
  }
  for (int i = 0; i < 3 * KernelChannel::max_key_updates_without_data; ++i) EXPECT_EQ(read_text(), "d");
}

TEST_F(AKernelChannel, NamesARefusedSendKeyAfterItsKeyUpdateWentOut) {
  kernel->refuse_tx_install = EINVAL;
  KeyUpdateStart start = channel->update_keys();
  EXPECT_EQ(start.kind, KeyUpdateStart::failed);
  EXPECT_NE(start.error.message().find("our KeyUpdate was sent but the kernel refused the transmit"),
            std::string::npos)
      << start.error.message();
  EXPECT_EQ(write("x").kind, IoStatus::failed);  // nothing more under a key the peer left behind
  EXPECT_EQ(kernel->sent.size(), 1u);
}

}  // namespace
}  // namespace ttygate::ktls
