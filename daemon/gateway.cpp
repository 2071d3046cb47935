// SPDX-License-Identifier: Apache-2.0
#include "daemon/gateway.hpp"

#include <malloc.h>

#include <ctime>
#include <stdexcept>

#include "common/log.hpp"
#include "ktls/secrets.hpp"

namespace ttygate::daemon {

Gateway::Gateway(Loop& loop, Config config, ktls::Identity identity, ClientStore store)
    : loop_(loop), config_(std::move(config)), identity_(std::move(identity)), store_(std::move(store)) {
  pairing_ = std::make_unique<Pairing>(config_.pairing, static_cast<PairingTimer&>(*this),
                                       static_cast<PairingObserver&>(*this));
}

Gateway::~Gateway() {
  // Sessions refer to relays and to this gateway: they go first.
  sessions_.clear();
  netwatch_.reset();
  ports_.clear();
}

Result<void> Gateway::start() {
  auto tls = ktls::make_server_context(identity_, *this);
  if (!tls) return tls.error();
  tls_ = std::move(*tls);
  ktls::select_alpn(tls_.get(), *this);
  if (config_.tls.ticket_lifetime.count() > 0) {
    // One ticket per handshake: clients keep the newest and every resumption renews it. The
    // ticket names a session kept here (ktls/session_cache.hpp): a resumption decodes nothing.
    auto resumable = session_cache_.attach(tls_.get(), *this, 1);
    if (!resumable) return resumable.error();
    expire_cached_sessions();
  }
  if (config_.tls.kernel == KernelTls::automatic) kernel_tls_ = ktls::probe_kernel_tls();
  else
    kernel_tls_.reason = "turned off by tls.kernel = \"off\"";
  if (kernel_tls_.any()) {
    // Secrets are only captured when they have somewhere to go.
    if (auto prepared = ktls::prepare_for_offload(tls_.get()); !prepared) return prepared.error();
    log::info("Kernel TLS available: sessions are handed to the kernel after the handshake");
    log::info(kernel_tls_.rekey ? "Kernel TLS re-keys in place: KeyUpdate keeps kernel sessions"
                                : "Kernel TLS cannot re-key (" + kernel_tls_.rekey_reason +
                                      "): a KeyUpdate ends a kernel session and the client resumes");
  } else {
    log::info("Kernel TLS unavailable (" + kernel_tls_.reason + "): TLS stays in user space");
  }
  for (const PortConfig& port : config_.ports)
    if (auto opened = open_port(port); !opened) return opened.error();
  if (auto followed = follow_interfaces(); !followed) return followed.error();
  flush_store_periodically();
  flush_refusals_periodically();
  return success();
}

Result<void> Gateway::open_port(const PortConfig& table) {
  auto owned = std::make_unique<const PortConfig>(table);
  const PortConfig& config = *owned;
  Port port{std::move(owned), std::make_unique<Relay>(loop_, config), {}};
  Relay& relay = *port.relay;
  for (const ListenAddress& address : config.listen) {
    auto listener = make_listener(relay, address);
    if (!listener) return listener.error();
    port.listeners.push_back(std::move(*listener));
  }
  for (auto& listener : port.listeners) {
    listener->start();
    log::info("Port " + config.name + ": listening on " + listener->text(), {log::port(config.name)});
  }
  relay.start();
  ports_.push_back(std::move(port));
  return success();
}

// A listener feeding `relay`, with the lock-out limits' refusal log and spare descriptor.
Result<std::unique_ptr<Listener>> Gateway::make_listener(Relay& relay, const ListenAddress& address) {
  auto fd = Listener::bind(address);
  if (!fd) return fd.error();
  if (auto deferred = defer_accept_until_data(fd->get()); !deferred)
    log::warning("Failed to defer accept on " + address.text + ": " + deferred.error().message() + ", ignoring");
  auto listener = std::make_unique<Listener>(
      loop_, std::move(*fd), address.text, config_.limits.allow_from,
      [this, &relay](UniqueFd client, Peer peer) { on_accept(relay, std::move(client), std::move(peer)); });
  listener->set_refusal_log(&refusals_);
  listener->set_fd_reserve(&fd_reserve_);
  return listener;
}

void Gateway::on_accept(Relay& relay, UniqueFd fd, Peer peer) {
  switch (handshakes_by_source_.start(SourceLimit::key_of(peer.addr))) {
    case SourceLimit::Verdict::start:
      break;
    case SourceLimit::Verdict::too_many:
      refusals_.refuse("limits.max_handshakes_per_source",
                       "Refused " + peer.text + ": " + std::to_string(config_.limits.max_handshakes_per_source) +
                           " handshakes from this source in progress (limits.max_handshakes_per_source)");
      return;
    case SourceLimit::Verdict::too_fast:
      refusals_.refuse("limits.handshakes_per_source_per_minute",
                       "Refused " + peer.text + ": more than " +
                           std::to_string(config_.limits.handshakes_per_source_per_minute) +
                           " handshakes a minute from this source (limits.handshakes_per_source_per_minute)");
      return;
  }
  if (auto kept = apply_keepalive(fd.get(), config_.keepalive); !kept)
    log::warning("Failed to set keep-alive on " + peer.text + ": " + kept.error().message() + ", ignoring");
  auto handshake = Handshake::accept(tls_.get(), std::move(fd));
  if (!handshake) {
    log::error("Failed to set up TLS for " + peer.text + ": " + handshake.error().message());
    handshakes_by_source_.finish(SourceLimit::key_of(peer.addr));
    return;
  }
  make_room_for_handshake();  // before the newcomer joins: it is never its own victim
  std::uint64_t id = next_session_id_++;
  auto& session = *sessions_.emplace(id, std::make_unique<Session>(*this, relay, id, std::move(*handshake),
                                                                   std::move(peer)))
                       .first->second;
  ++handshaking_;
  session.start(config_.limits.handshake_timeout, config_.limits.hello_timeout);
}

bool Gateway::admit(SSL* ssl, const ktls::Pin& pin) {
  auto* session = static_cast<Session*>(SSL_get_app_data(ssl));
  if (!session) return false;
  const Client* client = store_.find(pin);
  std::string who = "Session " + std::to_string(session->id()) + " (" + session->peer().text + ")";
  if (!client && pairing_->open()) {
    // A pairing candidate: admitted to finish the handshake, never to the relay until confirmed.
    log::notice(who + ": unknown client key " + ktls::fingerprint(pin) + " during a pairing window",
                {log::port(session->relay().port().name), log::client(ktls::fingerprint(pin)),
                 log::peer(session->peer().text), log::session(session->id())});
    session->set_candidate(pin);
    return true;
  }
  if (auto why = admission(pin, session->relay())) {
    // A paired client's reason is its own cause (bounded by the store); unknown keys share one.
    refusals_.refuse(client ? *why : "unknown client key", who + ": refused: " + *why,
                     {log::message_id(log::kAuthorisationFailed), log::port(session->relay().port().name),
                      log::client(ktls::fingerprint(pin)), log::peer(session->peer().text), log::session(session->id())});
    return false;
  }
  session->set_client(pin, client->role);
  return true;
}

bool Gateway::allows(SSL* ssl, std::string_view protocol) {
  auto* session = static_cast<Session*>(SSL_get_app_data(ssl));
  if (!session) return false;
  if (protocol != ktls::kAlpnRfc2217 || session->relay().port().line_control == LineControlMode::rfc2217) return true;
  log::notice("Session " + std::to_string(session->id()) + " (" + session->peer().text + "): port " +
              session->relay().port().name + " has line_control = \"none\": " + std::string(protocol) + " refused");
  return false;
}

std::optional<std::string> Gateway::admission(const ktls::Pin& pin, const Relay& relay,
                                              std::optional<Role> role) const {
  const Client* client = store_.find(pin);
  if (!client) return "unknown client key " + ktls::fingerprint(pin);
  if (role && client->role != *role) return client->name + ": its role changed during the handshake";
  if (!relay.device_open()) return client->name + ": port " + relay.port().name + " has no device right now";
  if (client->role == Role::control && relay.controller_busy())
    return client->name + ": port " + relay.port().name + " is exclusive and already has a control session";
  return session_cap(tally_.counts(pin, relay), config_.limits.max_sessions, config_.limits.max_sessions_per_client,
                     relay.port().name, client->name);
}

bool Gateway::admit_resumption(SSL* ssl, const ktls::Pin& pin) {
  if (store_.find(pin)) return admit(ssl, pin);
  auto* session = static_cast<Session*>(SSL_get_app_data(ssl));
  log::notice("Session " + std::to_string(session ? session->id() : 0) + ": ticket of " + ktls::fingerprint(pin) +
                  " ignored: no longer a paired client",
              {log::message_id(log::kAuthorisationFailed), log::client(ktls::fingerprint(pin)),
               log::peer(session ? session->peer().text : ""), log::session(session ? session->id() : 0)});
  return false;
}

void Gateway::forget_resumable_sessions(const ktls::Pin& pin, const std::string& name) {
  if (std::size_t n = session_cache_.evict(pin))
    log::info("Client \"" + name + "\": " + std::to_string(n) + " resumable session(s) forgotten");
}

// An expired session is refused when presented anyway; the sweep only returns its memory.
void Gateway::expire_cached_sessions() {
  session_expiry_.set(loop_, loop_.timeout(config_.tls.ticket_lifetime, [this](int) {
    session_cache_.expire();
    expire_cached_sessions();
  }));
}

bool Gateway::admit_established(const Session& session) {
  if (auto why = admission(session.pin(), session.relay(), session.role())) {
    refusals_.refuse(*why, "Session " + std::to_string(session.id()) + " (" + session.peer().text +
                               "): refused after the handshake: " + *why,
                     {log::message_id(log::kAuthorisationFailed), log::port(session.relay().port().name),
                      log::client(ktls::fingerprint(session.pin())), log::peer(session.peer().text),
                      log::session(session.id())});
    return false;
  }
  // last_seen is for people ("when did the laptop last connect"): it is kept in memory and
  // written with the next change or flush (flush_store), never with an fsync on the
  // connection path, where it would stall every session.
  store_.mark_seen(session.pin(), std::time(nullptr));
  events_->client_changed(*store_.find(session.pin()), GatewayEvents::ClientField::last_seen);
  return true;
}

std::string Gateway::client_name(const ktls::Pin& pin) const {
  const Client* client = store_.find(pin);
  return client ? client->name : ktls::fingerprint(pin);
}

void Gateway::handshake_finished(const Peer& peer) {
  handshakes_by_source_.finish(SourceLimit::key_of(peer.addr));
  --handshaking_;
  if (paused_for_handshakes_ && handshaking_ < config_.limits.max_handshakes) resume_accepting();
  if (handshaking_ == 0 && !heap_trim_.armed()) {
    // A handshake allocates tens of KiB and frees them again (after a kernel hand-over, the SSL
    // object too), leaving free pages between the sessions that stay: malloc keeps them
    // resident. Once the handshakes are over, at most once a second, they go back to the system.
    heap_trim_.set(loop_, loop_.timeout(std::chrono::seconds(1), [](int) { malloc_trim(0); }));
  }
}

Session* Gateway::session(std::uint64_t id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

void Gateway::session_closed(Session& session) {
  pairing_->connection_closed(session.id());
  if (session.since() != 0) events_->session_removed(session.id());
  loop_.defer([this, id = session.id()] { sessions_.erase(id); });
}

// Last-seen marks reach the disk at most every few minutes (flash wears; an fsync stalls the
// loop), and at shutdown.
void Gateway::flush_store_periodically() {
  store_flush_.set(loop_, loop_.timeout(std::chrono::minutes(5), [this](int) {
    flush_store();
    flush_store_periodically();
  }));
}

void Gateway::flush_store() {
  if (auto saved = store_.flush(); !saved)
    log::warning("Failed to save last-seen times: " + saved.error().message() + ", keeping them in memory");
}

void Gateway::shutdown() {
  netwatch_.reset();  // no interface listeners (re)opened either
  bind_retry_.reset();
  for_each_listener([](Listener& listener) { listener.close(); });  // no new sessions while we close
  flush_store();
  log::info("Shutting down: closing " + std::to_string(sessions_.size()) + " sessions");
  for (auto& [id, session] : sessions_) session->close("gateway shutting down");
  loop_.defer([this] { loop_.stop(); });
}

}  // namespace ttygate::daemon
