// SPDX-License-Identifier: Apache-2.0
// tlsbench: the one measuring client used against every system (ttygated and its peers).
//
//   tlsbench latency    --port P [TLS] --frames N [--size 32] [--warmup W] [--out SAMPLES]
//   tlsbench reject     --port P [TLS]                  an unknown client must get no echo
//   tlsbench throughput --port P [TLS] --dir down|up --bytes N --ctl SOCK --pids A,B
//   tlsbench handshake  --port P  TLS  --seconds S [--concurrency C] [--resume] --pids A,B
//   tlsbench idle       --port P [TLS] --sessions N [--warmup N] --pids A,B
//   tlsbench fanout     --port P [TLS] --sessions N --frames F --interval-us U --ctl SOCK
//   tlsbench storm      --port P  TLS  --sessions N [--resume] [--retry] [--pids A,B] [--tick-ms 50] [--deadline-s 10]
//                                                     N clients reconnecting at once (--retry: a failed
//                                                     attempt is tried again, backing off like ttygate-client)
// TLS = --cert FILE --key FILE [--server-cert FILE (pinned)] [--groups P-256 (OpenSSL list:
// X25519 is what ttygate-client offers first)]; or --plain for raw TCP.
// Each prints one JSON object on stdout; the exit status is non-zero only when the run could not
// be made at all (a wrong echo is reported in the JSON and by the exit status 3).
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/lib/dialer.hpp"
#include "bench/lib/pattern.hpp"
#include "bench/lib/proc.hpp"
#include "bench/lib/storm.hpp"
#include "bench/lib/tls_client.hpp"

namespace {

using namespace ttygate::bench;

using Args = std::map<std::string, std::string>;

std::string arg(const Args& a, const std::string& k, const std::string& def = "") {
  auto it = a.find(k);
  return it == a.end() ? def : it->second;
}
long long num(const Args& a, const std::string& k, long long def) {
  auto v = arg(a, k);
  return v.empty() ? def : std::stoll(v);
}

std::vector<int> pids(const Args& a) {
  std::vector<int> out;
  std::stringstream in(arg(a, "pids"));
  for (std::string p; std::getline(in, p, ',');)
    if (!p.empty()) out.push_back(std::stoi(p));
  return out;
}

// JSON object built field by field; numbers printed with enough digits, strings escaped.
class Json {
 public:
  Json& add(const std::string& k, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.10g", v);
    return raw(k, buf);
  }
  Json& add(const std::string& k, const std::string& v) {
    std::string e;
    for (char c : v) {
      if (c == '"' || c == '\\') e += '\\';
      e += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
    }
    return raw(k, "\"" + e + "\"");
  }
  Json& add(const std::string& k, bool v) { return raw(k, v ? "true" : "false"); }
  void print() const { std::printf("{%s}\n", body_.c_str()); }

 private:
  Json& raw(const std::string& k, const std::string& v) {
    if (!body_.empty()) body_ += ", ";
    body_ += "\"" + k + "\": " + v;
    return *this;
  }
  std::string body_;
};

// The device's control socket: one command line out, one reply line back.
class Control {
 public:
  explicit Control(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error("device control socket " + path + ": " + strerror(errno));
    timeval tv{60, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Control() { close(fd_); }
  void send_line(const std::string& cmd) {
    std::string l = cmd + "\n";
    if (write(fd_, l.data(), l.size()) != static_cast<ssize_t>(l.size()))
      throw std::runtime_error("device control: write failed");
  }
  std::string read_line() {
    std::string line;
    char c;
    while (read(fd_, &c, 1) == 1 && c != '\n') line += c;
    return line;
  }
  std::string ask(const std::string& cmd) {
    send_line(cmd);
    return read_line();
  }

 private:
  int fd_ = -1;
};

ClientOptions client_options(const Args& a) {
  ClientOptions o;
  o.host = arg(a, "host", "127.0.0.1");
  o.port = arg(a, "port");
  o.cert = arg(a, "cert");
  o.key = arg(a, "key");
  o.server_cert = arg(a, "server-cert");
  o.plain = a.count("plain") > 0;
  o.groups = arg(a, "groups", "P-256");
  if (o.port.empty()) throw std::runtime_error("--port is required");
  return o;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

int cmd_latency(const Args& a) {
  ClientContext ctx(client_options(a));
  Stream s(ctx);
  const std::size_t size = static_cast<std::size_t>(num(a, "size", 32));
  const long long frames = num(a, "frames", 10000), warmup = num(a, "warmup", 100);
  std::mt19937_64 rng(42);
  std::vector<unsigned char> out(size), in(size);
  std::vector<double> us;
  long long mismatches = 0;
  for (long long k = 0; k < warmup + frames; ++k) {
    for (auto& b : out) b = static_cast<unsigned char>(rng());
    std::uint64_t t0 = mono_ns();
    if (!s.write_full(out.data(), size) || !s.read_full(in.data(), size))
      throw std::runtime_error("connection lost after " + std::to_string(k) + " frames");
    std::uint64_t t1 = mono_ns();
    if (in != out) ++mismatches;
    if (k >= warmup) us.push_back(static_cast<double>(t1 - t0) / 1000.0);
  }
  if (auto path = arg(a, "out"); !path.empty()) {
    std::ofstream f(path);
    for (double v : us) f << v << "\n";
  }
  double sum = 0;
  for (double v : us) sum += v;
  Json().add("frames", static_cast<double>(us.size())).add("size", static_cast<double>(size))
      .add("p50_us", percentile(us, 0.5)).add("p99_us", percentile(us, 0.99))
      .add("mean_us", sum / static_cast<double>(us.size())).add("max_us", percentile(us, 1.0))
      .add("mismatches", static_cast<double>(mismatches)).add("byte_exact", mismatches == 0).print();
  return mismatches == 0 ? 0 : 3;
}

// A client whose key is not pinned (or not signed by the configured CA) must never reach the
// device: either the handshake fails or the first read sees an alert or the end of the stream.
int cmd_reject(const Args& a) {
  ClientContext ctx(client_options(a));
  std::string how = "echoed";
  try {
    Stream s(ctx);
    unsigned char f[32] = "ttygate bench: must not echo", r[32];
    if (!s.write_full(f, sizeof f) || !s.read_full(r, sizeof r)) how = "closed after handshake";
  } catch (const std::exception& e) {
    how = std::string("handshake failed: ") + e.what();
  }
  Json().add("rejected", how != "echoed").add("how", how).print();
  return 0;
}

// records: the TLS records that carried the transfer (those the client received going down,
// those it sent going up), so a run shows how many bytes each record carried.
Json transfer_result(std::uint64_t bytes, std::uint64_t ns, const TreeUsage& u0, const TreeUsage& u1,
                     std::uint64_t records) {
  double mib = static_cast<double>(bytes) / (1024.0 * 1024.0), s = static_cast<double>(ns) / 1e9;
  double cpu = u1.cpu_s - u0.cpu_s, sys = u1.sys_s - u0.sys_s;
  Json j;
  j.add("bytes", static_cast<double>(bytes)).add("seconds", s).add("mib_per_s", mib / s)
      .add("cpu_s", cpu).add("cpu_ms_per_mib", cpu * 1000.0 / mib).add("sys_ms_per_mib", sys * 1000.0 / mib);
  if (records > 0)
    j.add("records", static_cast<double>(records))
        .add("bytes_per_record", static_cast<double>(bytes) / static_cast<double>(records));
  return j;
}

int throughput_down(Stream& s, Control& ctl, std::uint64_t bytes, const std::vector<int>& roots) {
  std::vector<unsigned char> buf(65536);
  TreeUsage u0 = tree_usage(roots);
  std::uint64_t t0 = mono_ns(), got = 0, errors = 0, records0 = s.records().in;
  ctl.send_line("source " + std::to_string(bytes));
  while (got < bytes) {
    std::size_t n = s.read_some(buf.data(), std::min<std::uint64_t>(buf.size(), bytes - got));
    if (n == 0) throw std::runtime_error("connection lost after " + std::to_string(got) + " bytes");
    for (std::size_t i = 0; i < n; ++i) errors += buf[i] != pattern_byte(got + i);
    got += n;
  }
  std::uint64_t t1 = mono_ns();
  TreeUsage u1 = tree_usage(roots);
  ctl.read_line();
  transfer_result(bytes, t1 - t0, u0, u1, s.records().in - records0).add("errors", static_cast<double>(errors))
      .add("byte_exact", errors == 0).print();
  return errors == 0 ? 0 : 3;
}

int throughput_up(Stream& s, Control& ctl, std::uint64_t bytes, const std::vector<int>& roots) {
  if (ctl.ask("sink " + std::to_string(bytes)) != "ready") throw std::runtime_error("device not ready");
  std::vector<unsigned char> buf(16384);
  TreeUsage u0 = tree_usage(roots);
  std::uint64_t t0 = mono_ns(), records0 = s.records().out;
  for (std::uint64_t put = 0; put < bytes;) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), bytes - put));
    for (std::size_t i = 0; i < n; ++i) buf[i] = pattern_byte(put + i);
    if (!s.write_full(buf.data(), n)) throw std::runtime_error("connection lost while sending");
    put += n;
  }
  std::string done = ctl.read_line();
  std::uint64_t t1 = mono_ns();
  TreeUsage u1 = tree_usage(roots);
  unsigned long long at = 0, errors = 1;
  if (std::sscanf(done.c_str(), "ok %llu %llu", &at, &errors) != 2)
    throw std::runtime_error("device did not receive everything: '" + done + "'");
  transfer_result(bytes, at - t0, u0, u1, s.records().out - records0).add("errors", static_cast<double>(errors))
      .add("byte_exact", errors == 0).print();
  (void)t1;
  return errors == 0 ? 0 : 3;
}

int cmd_throughput(const Args& a) {
  ClientContext ctx(client_options(a));
  Control ctl(arg(a, "ctl"));
  ctl.ask("flush");
  Stream s(ctx);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the gateway opens the tty
  auto bytes = static_cast<std::uint64_t>(num(a, "bytes", 64 << 20));
  if (arg(a, "dir") == "down") return throughput_down(s, ctl, bytes, pids(a));
  if (arg(a, "dir") == "up") return throughput_up(s, ctl, bytes, pids(a));
  throw std::runtime_error("--dir must be down or up");
}

int cmd_handshake(const Args& a) {
  ClientContext ctx(client_options(a));
  bool resume = a.count("resume") > 0;
  if (resume) {
    Dialer prime(ctx, Tickets::collect);
    int c = static_cast<int>(num(a, "concurrency", 8));
    prime.run(c, c, 5, false);
    if (!ctx.has_session()) {
      Json().add("supported", false).add("why", prime.first_error.empty()
          ? std::string("server sent no session ticket") : prime.first_error).print();
      return 0;
    }
  }
  auto roots = pids(a);
  Dialer d(ctx, resume ? Tickets::use : Tickets::none);
  TreeUsage u0 = tree_usage(roots);
  std::uint64_t t0 = mono_ns();
  d.run(static_cast<int>(num(a, "count", 1 << 30)), static_cast<int>(num(a, "concurrency", 8)),
        static_cast<double>(num(a, "seconds", 5)), false);
  std::uint64_t t1 = mono_ns();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // servers finish the last ones
  TreeUsage u1 = tree_usage(roots);
  double s = static_cast<double>(t1 - t0) / 1e9, cpu = u1.cpu_s - u0.cpu_s;
  bool all_resumed = !resume || d.reused == d.completed;
  std::string why = d.first_error;
  if (why.empty() && d.reused == 0 && resume) why = "server did not accept its own tickets";
  Json().add("supported", all_resumed || d.reused > 0).add("why", why).add("handshakes", static_cast<double>(d.completed))
      .add("failed", static_cast<double>(d.failed)).add("reused", static_cast<double>(d.reused))
      .add("seconds", s).add("per_s", d.completed / s).add("server_cpu_s", cpu)
      .add("cpu_ms_per_handshake", d.completed ? cpu * 1000.0 / d.completed : 0.0)
      .add("per_server_cpu_s", cpu > 0 ? d.completed / cpu : 0.0).add("error", d.first_error).print();
  return 0;
}

// Seconds from the storm's start until `fraction` of all n clients were relaying; -1 if never.
double time_to(std::vector<double> relaying_s, std::size_t n, double fraction) {
  std::sort(relaying_s.begin(), relaying_s.end());
  std::size_t need = static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(n)));
  return need == 0 ? 0 : need <= relaying_s.size() ? relaying_s[need - 1] : -1;
}

void add_spread(Json& j, const std::string& name, const std::vector<double>& ms) {
  j.add(name + "_p50_ms", percentile(ms, 0.5)).add(name + "_p99_ms", percentile(ms, 0.99))
      .add(name + "_max_ms", percentile(ms, 1.0));
}

// N clients connect at the same instant (a gateway reboot, a Wi-Fi access point coming back),
// each with a fresh ticket of its own under --resume (primed by one full handshake each, as a
// real client would hold from its last session). Reports when 50/90/99/100 % of them were
// relaying, each phase's spread (TCP connect, handshake, first device byte), and every failure
// with its reason. See bench/lib/storm.hpp for how relaying is proven.
int cmd_storm(const Args& a) {
  ClientContext ctx(client_options(a));
  StormOptions o;
  o.sessions = static_cast<int>(num(a, "sessions", 1000));
  o.resume = a.count("resume") > 0;
  o.retry = a.count("retry") > 0;
  if (auto v = arg(a, "tick-ms"); !v.empty()) o.tick_ms = std::stod(v);
  if (auto v = arg(a, "deadline-s"); !v.empty()) o.deadline_s = std::stod(v);
  if (auto v = arg(a, "timeout-s"); !v.empty()) o.timeout_s = std::stod(v);
  std::string prime_error;
  if (o.resume) {
    Dialer prime(ctx, Tickets::collect);
    prime.run(o.sessions, 32, 120, false);
    prime_error = prime.first_error;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the gateway closes the primers
  }
  const double primed = static_cast<double>(ctx.sessions());
  auto roots = pids(a);
  Storm storm(ctx, o);
  TreeUsage u0 = tree_usage(roots);
  rusage c0{}, c1{};
  getrusage(RUSAGE_SELF, &c0);
  storm.run();
  getrusage(RUSAGE_SELF, &c1);
  TreeUsage u1 = tree_usage(roots);
  auto cpu_s = [](const rusage& r) {
    return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
  };
  const std::uint64_t t0 = storm.start();
  auto ms = [](std::uint64_t from, std::uint64_t to) { return static_cast<double>(to - from) / 1e6; };
  std::vector<double> relaying_s, connect_ms, handshake_ms, first_byte_ms, dial_ms;
  std::map<std::string, int> failures;
  double offered = 0, resumed = 0, handshaken = 0, last_handshake_s = 0, attempts = 0, retried = 0, most_attempts = 0;
  // Clients in on their first attempt: the ticket they offered was never spent by an attempt the
  // gateway evicted (tickets are single-use), so each must have resumed.
  double first_try_offered = 0, first_try_reused = 0;
  for (const StormClient& c : storm.clients()) {
    dial_ms.push_back(ms(t0, c.started));
    offered += c.offered_ticket;
    resumed += c.resumed;
    attempts += c.attempts;
    retried += c.attempts > 1;
    first_try_offered += c.attempts == 1 && c.offered_ticket;
    first_try_reused += c.attempts == 1 && c.resumed;
    most_attempts = std::max(most_attempts, static_cast<double>(c.attempts));
    if (c.connected) connect_ms.push_back(ms(c.attempt_started, c.connected));
    if (c.handshaken) {
      ++handshaken;
      handshake_ms.push_back(ms(c.connected, c.handshaken));
      last_handshake_s = std::max(last_handshake_s, ms(t0, c.handshaken) / 1000);
    }
    if (c.relaying) {
      first_byte_ms.push_back(ms(c.handshaken, c.relaying));
      relaying_s.push_back(ms(t0, c.relaying) / 1000);
    }
    if (!c.error.empty()) ++failures[c.error];
  }
  std::string failed_why, retry_why;
  for (auto& [why, count] : failures) failed_why += (failed_why.empty() ? "" : "; ") + std::to_string(count) + " x " + why;
  for (auto& [why, count] : storm.retried_for()) retry_why += (retry_why.empty() ? "" : "; ") + std::to_string(count) + " x " + why;
  const std::size_t n = storm.clients().size();
  Json j;
  j.add("sessions", static_cast<double>(n)).add("groups", ctx.options().groups).add("resume", o.resume)
      .add("primed_tickets", primed).add("prime_error", prime_error).add("offered_ticket", offered)
      .add("reused", resumed).add("handshakes", handshaken).add("relaying", static_cast<double>(relaying_s.size()))
      .add("failed", static_cast<double>(n - relaying_s.size())).add("failures", failed_why)
      .add("why", failures.empty() ? std::string() : failures.begin()->first)
      // --retry: every attempt, the clients that needed more than one, and why attempts failed.
      .add("retry", o.retry).add("attempts", attempts).add("retries", attempts - static_cast<double>(n))
      .add("clients_retried", retried).add("most_attempts", most_attempts).add("retried_for", retry_why)
      .add("first_try_offered", first_try_offered).add("first_try_reused", first_try_reused)
      .add("t50_s", time_to(relaying_s, n, 0.5)).add("t90_s", time_to(relaying_s, n, 0.9))
      .add("t99_s", time_to(relaying_s, n, 0.99)).add("all_relaying_s", time_to(relaying_s, n, 1.0))
      .add("handshakes_s", last_handshake_s).add("dial_spread_ms", percentile(dial_ms, 1.0))
      .add("tick_ms", o.tick_ms).add("ticks", static_cast<double>(storm.ticks()))
      .add("server_cpu_s", u1.cpu_s - u0.cpu_s).add("client_cpu_s", cpu_s(c1) - cpu_s(c0))
      // Every client still connected and relaying: the gateway's memory per live session (under
      // a full storm it includes the resumable session each one was given).
      .add("rss_kib_before", static_cast<double>(u0.rss_kib)).add("rss_kib_after", static_cast<double>(u1.rss_kib))
      .add("rss_kib_per_session", relaying_s.empty() ? 0.0
                                  : (static_cast<double>(u1.rss_kib) - static_cast<double>(u0.rss_kib)) /
                                        static_cast<double>(relaying_s.size()))
      .add("start_monotonic_s", static_cast<double>(t0) / 1e9);  // to cut a profile to the storm
  add_spread(j, "connect", connect_ms);
  add_spread(j, "handshake", handshake_ms);
  add_spread(j, "first_byte", first_byte_ms);
  j.print();
  return relaying_s.size() == n ? 0 : 3;
}

int cmd_idle(const Args& a) {
  ClientContext ctx(client_options(a));
  auto roots = pids(a);
  const int n = static_cast<int>(num(a, "sessions", 100));
  // Sessions opened and closed before the first reading, so what a server sets up once (the
  // library pages a first handshake touches, tables built on first use) is not spread over the
  // sessions measured.
  if (const int warm = static_cast<int>(num(a, "warmup", 16)); warm > 0) {
    Dialer w(ctx, Tickets::none);
    w.run(warm, 16, 60, true);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(num(a, "settle-ms", 1500)));
  TreeUsage u0 = tree_usage(roots);
  Dialer d(ctx, Tickets::none);
  d.run(n, 16, 120, true);
  std::this_thread::sleep_for(std::chrono::milliseconds(num(a, "settle-ms", 1500)));
  TreeUsage u1 = tree_usage(roots);
  double opened = static_cast<double>(d.kept().size());
  auto per = [&](std::uint64_t before, std::uint64_t after) {
    return opened > 0 ? (static_cast<double>(after) - static_cast<double>(before)) / opened : 0.0;
  };
  Json().add("sessions", static_cast<double>(n)).add("opened", opened)
      .add("failed", static_cast<double>(d.failed)).add("error", d.first_error)
      .add("rss_kib_before", static_cast<double>(u0.rss_kib)).add("rss_kib_after", static_cast<double>(u1.rss_kib))
      .add("rss_kib_per_session", per(u0.rss_kib, u1.rss_kib))
      .add("pss_kib_per_session", per(u0.pss_kib, u1.pss_kib))
      .add("processes_after", static_cast<double>(u1.processes)).print();
  return 0;
}

struct FanoutSession {
  std::vector<unsigned char> buf;
  std::vector<double> lag_us;
  std::uint32_t next_seq = 0;
  bool bad = false;
};

// Reads whatever is ready on session k; frames are checked and their lag recorded.
void fanout_read(Session& s, FanoutSession& f, bool plain) {
  unsigned char tmp[4096];
  for (;;) {
    int r = plain ? static_cast<int>(recv(s.fd, tmp, sizeof tmp, MSG_DONTWAIT))
                  : SSL_read(s.ssl.get(), tmp, sizeof tmp);
    if (r <= 0) break;
    std::uint64_t now = mono_ns();
    f.buf.insert(f.buf.end(), tmp, tmp + r);
    std::size_t off = 0;
    for (; f.buf.size() - off >= Frame::size; off += Frame::size) {
      std::uint32_t seq = 0;
      std::uint64_t sent = now;
      if (!Frame::parse(f.buf.data() + off, seq, sent) || seq != f.next_seq) f.bad = true;
      f.next_seq = seq + 1;
      f.lag_us.push_back(static_cast<double>(now - sent) / 1000.0);
    }
    f.buf.erase(f.buf.begin(), f.buf.begin() + static_cast<long>(off));
  }
  if (!plain) ERR_clear_error();
}

int cmd_fanout(const Args& a) {
  ClientContext ctx(client_options(a));
  Control ctl(arg(a, "ctl"));
  ctl.ask("flush");
  const int n = static_cast<int>(num(a, "sessions", 100));
  const auto frames = static_cast<std::uint32_t>(num(a, "frames", 1000));
  Dialer d(ctx, Tickets::none);
  d.run(n, 16, 60, true);
  auto& ss = d.kept();
  if (static_cast<int>(ss.size()) != n)
    throw std::runtime_error("opened " + std::to_string(ss.size()) + " of " + std::to_string(n) +
                             " sessions: " + d.first_error);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  int ep = epoll_create1(EPOLL_CLOEXEC);
  for (std::size_t k = 0; k < ss.size(); ++k) {
    epoll_event ev{EPOLLIN, {.u64 = k}};
    epoll_ctl(ep, EPOLL_CTL_ADD, ss[k].fd, &ev);
  }
  std::vector<FanoutSession> fs(ss.size());
  ctl.send_line("stream " + std::to_string(frames) + " " + arg(a, "interval-us", "2778"));
  std::uint64_t last_progress = mono_ns();
  for (std::size_t complete = 0; complete < ss.size() && mono_ns() - last_progress < 5'000'000'000ull;) {
    epoll_event evs[128];
    int m = epoll_wait(ep, evs, 128, 100);
    for (int k = 0; k < m; ++k) {
      auto i = evs[k].data.u64;
      bool was = fs[i].next_seq >= frames;
      fanout_read(ss[i], fs[i], ctx.options().plain);
      if (!was && fs[i].next_seq >= frames) ++complete;
      last_progress = mono_ns();
    }
  }
  close(ep);
  std::string late = ctl.read_line();
  double slow50 = 0, slow99 = 0, worst = 0, complete = 0, bad = 0;
  std::vector<double> p50s;
  for (auto& f : fs) {
    complete += f.next_seq >= frames && !f.bad;
    bad += f.bad;
    p50s.push_back(percentile(f.lag_us, 0.5));
    slow50 = std::max(slow50, p50s.back());
    slow99 = std::max(slow99, percentile(f.lag_us, 0.99));
    worst = std::max(worst, percentile(f.lag_us, 1.0));
  }
  Json().add("sessions", static_cast<double>(n)).add("frames", static_cast<double>(frames))
      .add("complete_sessions", complete).add("bad_sessions", bad)
      .add("median_p50_lag_us", percentile(p50s, 0.5)).add("slowest_p50_lag_us", slow50)
      .add("slowest_p99_lag_us", slow99).add("max_lag_us", worst).add("device", late)
      .add("byte_exact", complete == n).print();
  return complete == n ? 0 : 3;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0) throw std::runtime_error("unexpected argument " + k);
    k = k.substr(2);
    bool flag = k == "plain" || k == "resume" || k == "retry";
    a[k] = flag ? "1" : (i + 1 < argc ? argv[++i] : "");
  }
  return a;
}

void raise_nofile() {
  rlimit r{};
  getrlimit(RLIMIT_NOFILE, &r);
  r.rlim_cur = r.rlim_max;
  setrlimit(RLIMIT_NOFILE, &r);
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  raise_nofile();
  std::string cmd = argc > 1 ? argv[1] : "";
  try {
    Args a = parse(argc, argv);
    if (cmd == "latency") return cmd_latency(a);
    if (cmd == "reject") return cmd_reject(a);
    if (cmd == "throughput") return cmd_throughput(a);
    if (cmd == "handshake") return cmd_handshake(a);
    if (cmd == "storm") return cmd_storm(a);
    if (cmd == "idle") return cmd_idle(a);
    if (cmd == "fanout") return cmd_fanout(a);
    std::fprintf(stderr, "usage: tlsbench latency|reject|throughput|handshake|idle|fanout|storm [options]\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tlsbench %s: %s\n", cmd.c_str(), e.what());
    return 1;
  }
}
