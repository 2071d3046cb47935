// SPDX-License-Identifier: Apache-2.0
// Gateway: owns all of ttygated's mutable state: the client store, the relays (one per port),
// their listeners, and the live sessions. Everything else (D-Bus, signals) calls in here.
//
// It is also the pin policy: inside each handshake it decides whether the client's pin is a
// known client, with which role, and whether its port can take it (an exclusive port with a
// controller refuses a second controller). Every refusal fails the handshake with an alert.
// The same rule (admission()) is asked again once the handshake is done, since the store or
// the port may have changed meanwhile. Single-threaded: lives on the loop.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/openssl.hpp"
#include "daemon/admission_limits.hpp"
#include "daemon/client_store.hpp"
#include "daemon/config.hpp"
#include "daemon/fd_budget.hpp"
#include "daemon/gateway_events.hpp"
#include "daemon/listener.hpp"
#include "daemon/loop.hpp"
#include "daemon/netwatch.hpp"
#include "daemon/pairing.hpp"
#include "daemon/refusal_log.hpp"
#include "daemon/relay.hpp"
#include "daemon/session.hpp"
#include "daemon/source_limit.hpp"
#include "ktls/identity.hpp"
#include "ktls/offload.hpp"
#include "ktls/session_cache.hpp"
#include "ktls/tls_context.hpp"

namespace ttygate::daemon {

class Gateway final : public ktls::PeerPolicy, public ktls::AlpnPolicy, public SessionHost, private PairingObserver, private PairingTimer {
 public:
  Gateway(Loop& loop, Config config, ktls::Identity identity, ClientStore store);
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;
  ~Gateway() override;

  // Binds every listener and opens every device (devices that are missing are retried).
  Result<void> start();
  // close_notify to every session, then stop the loop.
  void shutdown();
  // SIGHUP (gateway_reload.cpp): applies the [[port]] tables of an already parsed fresh
  // configuration. A port whose table is unchanged keeps its listeners, device and sessions;
  // a removed port closes its sessions (close_notify) and listeners; a changed one is removed
  // and added again. The other sections are read at start only. Returns the summary line.
  std::string reload(const Config& fresh);

  Loop& loop() override { return loop_; }
  const Config& config() const override { return config_; }
  const ktls::Identity& identity() const { return identity_; }
  const ClientStore& clients() const { return store_; }
  // What the kernel's TLS layer can take, probed once at start.
  const ktls::KernelTlsSupport& kernel_tls() const override { return kernel_tls_; }

  // ktls::PeerPolicy: called inside each handshake.
  bool admit(SSL* ssl, const ktls::Pin& pin) override;
  // Resumption is for paired clients only: never a pairing candidate.
  bool admit_resumption(SSL* ssl, const ktls::Pin& pin) override;

  // ktls::AlpnPolicy: RFC 2217 only on ports with line_control = "rfc2217".
  bool allows(SSL* ssl, std::string_view protocol) override;

  // The one admission rule, in the handshake and after it: nothing when the client with this
  // pin may use this port now (as `role`, when it was admitted with one), else why not.
  std::optional<std::string> admission(const ktls::Pin& pin, const Relay& relay,
                                       std::optional<Role> role = std::nullopt) const;

  // SessionHost. admit_established also records when the client was last seen.
  bool admit_established(const Session& session) override;
  std::string client_name(const ktls::Pin& pin) const override;
  void handshake_finished(const Peer& peer) override;
  void handshake_closed(const Session& session, std::string_view reason) override;
  // A session began relaying: it becomes visible to observers.
  void session_relaying(const Session& session) override { events_->session_added(session); }
  void session_closed(Session& session) override;
  std::span<std::byte> scratch() override { return scratch_; }
  SessionTally& tally() override { return tally_; }
  Session* session(std::uint64_t id);
  std::size_t session_count() const { return sessions_.size(); }
  const std::map<std::uint64_t, std::unique_ptr<Session>>& sessions() const { return sessions_; }

  // Management (D-Bus, the button): every argument is checked before anything changes; a
  // refusal (daemon/refusal.hpp, or the store's errc codes) changes nothing stored. Defined in
  // gateway_manage.cpp.
  void set_events(GatewayEvents* events) { events_ = events ? events : &no_events_; }
  const Pairing& pairing() const { return *pairing_; }
  Result<void> start_pairing(std::chrono::seconds seconds);
  Result<void> stop_pairing();
  Result<void> confirm_pairing(std::string_view code);
  void button_pressed();
  Result<Client> add_client(std::string_view pem, std::string_view name, std::string_view role);
  // Removing closes the client's live sessions at once (close_notify).
  Result<void> remove_client(const ktls::Pin& pin);
  Result<void> rename_client(const ktls::Pin& pin, std::string_view name);
  // A new role closes the client's live sessions: they reconnect with it.
  Result<void> set_client_role(const ktls::Pin& pin, std::string_view role);
  Result<void> disconnect_session(std::uint64_t id);
  // From sessions: an unknown client finished its handshake during a window, and how its
  // pairing exchange ended (gateway_pairing.cpp).
  void pairing_candidate(Session& session) override;
  void pairing_exchange_ended(Session& session, const ktls::pairing::Step& step) override;
  // A setup code's verifier is in the state directory (ttygated --new-passcode).
  bool passcode_set() const;

  // Where a port listens right now: its listen addresses and the live addresses of its
  // interfaces (gateway_interfaces.cpp). ifindex: the interface an address belongs to, 0 when
  // not one (a listen address other than a link-local one).
  struct LiveListener {
    std::string text;
    int ifindex = 0;
    bool loopback = false;
  };
  std::vector<LiveListener> live_listeners(const PortConfig& port) const;
  // Called after live_listeners() changed (the DNS-SD publisher follows it); one watch.
  void set_listener_watch(std::function<void()> watch) { listener_watch_ = std::move(watch); }

 private:
  // PairingObserver and PairingTimer (gateway_pairing.cpp).
  void pairing_window_changed() override;
  void pairing_exchange(const PairingCandidate& candidate) override;
  void pairing_requested(const PairingCandidate& candidate) override;
  bool pairing_accept(const PairingCandidate& candidate, std::string* why) override;
  void pairing_reject(std::uint64_t session, std::string_view reason) override;
  void pairing_failed(std::string_view reason) override;
  PairingClock::time_point now() const override { return PairingClock::now(); }
  void arm(PairingClock::time_point at) override;
  void disarm() override { pairing_timer_.reset(); }
  std::string unique_client_name(std::string_view wanted) const;
  Result<void> load_passcode();
  void close_sessions_of(const ktls::Pin& pin, std::string_view reason);

  // One [[port]] at run time: its own copy of its table (a reload replaces config_.ports), its
  // relay and the listeners that feed it (destroyed first).
  struct Port {
    std::unique_ptr<const PortConfig> config;
    std::unique_ptr<Relay> relay;
    std::vector<std::unique_ptr<Listener>> listeners;
  };
  // Binds the port's listeners and starts its relay; nothing is kept when a bind fails.
  Result<void> open_port(const PortConfig& port);
  // Takes the port out of service: listeners closed now, sessions closed (close_notify), the
  // relay destroyed once they are gone.
  void retire_port(std::size_t index, std::string_view reason);
  template <class F>
  void for_each_listener(F&& f) {
    for (Port& port : ports_)
      for (auto& listener : port.listeners) f(*listener);
  }

  Result<std::unique_ptr<Listener>> make_listener(Relay& relay, const ListenAddress& address);
  void on_accept(Relay& relay, UniqueFd fd, Peer peer);
  // Interface ports (gateway_interfaces.cpp).
  Result<void> follow_interfaces();
  void interfaces_changed(const NetSnapshot& snapshot);
  bool follow_port(Port& port, const NetSnapshot& snapshot);
  void note_interfaces(const PortConfig& port, const NetSnapshot& snapshot);
  Result<void> open_listener(Port& port, const ListenAddress& address);
  void close_listener(const std::string& text);
  void expire_cached_sessions();
  // Its tickets name nothing any more: the next connection is a full handshake.
  void forget_resumable_sessions(const ktls::Pin& pin, const std::string& name);
  // Lock-out limits (gateway_limits.cpp, docs/threat-model.md).
  void make_room_for_handshake();
  void resume_accepting();
  void flush_refusals_periodically();
  void flush_store_periodically();
  void flush_store();

  Loop& loop_;
  Config config_;
  ktls::Identity identity_;
  ClientStore store_;
  SslCtxPtr tls_;
  ktls::KernelTlsSupport kernel_tls_;
  // Resumable sessions of paired clients, one per client usually (each resumption renews it):
  // room for every client of a large site reconnecting at once.
  static constexpr std::size_t kCachedSessions = 8192;
  ktls::SessionCache session_cache_{kCachedSessions, config_.tls.ticket_lifetime};
  Op session_expiry_;
  Op store_flush_;
  Op heap_trim_;
  std::vector<Port> ports_;
  SessionTally tally_;  // before sessions_: their tokens refer to it
  std::map<std::uint64_t, std::unique_ptr<Session>> sessions_;
  std::uint64_t next_session_id_ = 1;
  unsigned handshaking_ = 0;
  bool paused_for_handshakes_ = false;  // every slot holds a young handshake that is nearly done
  Op handshake_grace_;                  // then: accept again once the grace is over
  RefusalLog refusals_;
  Op refusal_flush_;
  FdReserve fd_reserve_;
  SourceLimit handshakes_by_source_{config_.limits.max_handshakes_per_source,
                                    config_.limits.handshakes_per_source_per_minute};
  std::array<std::byte, 16 * 1024> scratch_{};  // one TLS record of plaintext
  GatewayEvents no_events_;
  GatewayEvents* events_ = &no_events_;
  std::unique_ptr<Pairing> pairing_;
  Op pairing_timer_;
  std::optional<ktls::pairing::PasscodeVerifier> passcode_;  // read as each "passcode" window opens
  std::unique_ptr<NetWatch> netwatch_;  // only when a port names interfaces
  std::map<std::string, std::map<std::string, int>> followed_;  // port -> listener text -> ifindex
  std::map<std::string, bool> interface_present_;             // "eth0" -> seen in the last snapshot
  std::set<std::string> failed_binds_;                         // logged once until they succeed
  Op bind_retry_;
  std::function<void()> listener_watch_;
};

}  // namespace ttygate::daemon
