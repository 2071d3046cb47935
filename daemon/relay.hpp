// Relay: one serial device and the sessions attached to it.
//
// Device output is read with io_uring and fanned out to every attached session; each session
// queues what its peer can't take yet and is dropped past its buffer limit, so one slow reader
// never stalls the device or the others. Input from control sessions is written to the device
// in order; when the device falls behind, sessions stop reading from the network (TCP pushes
// back on the client) until the device queue drains.
//
// If the device disappears or hangs up (EIO, HUP), every session on it is closed and the device
// is reopened with exponential backoff; the daemon keeps running.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "common/unique_fd.hpp"
#include "daemon/config.hpp"
#include "daemon/loop.hpp"

namespace ttygate::daemon {

class Session;

class Relay {
 public:
  static constexpr std::size_t kDeviceQueueLimit = 64 * 1024;

  Relay(Loop& loop, const PortConfig& port);
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;
  ~Relay();

  // Opens the device now, or schedules retries until it appears.
  void start();
  const PortConfig& port() const { return port_; }
  bool device_open() const { return tty_.valid(); }
  // An exclusive port with a control session attached.
  bool controller_busy() const;

  void attach(Session& session);
  void detach(Session& session);
  const std::vector<Session*>& sessions() const { return sessions_; }

  // Queues input for the device. False = queue full: the session must stop reading until
  // Session::resume_input() is called.
  bool to_device(std::span<const std::byte> data, Session& from);

 private:
  void open_device();
  void arm_read();
  void on_read(int res);
  void start_write();
  void on_write(int res);
  void lose_device(const std::string& reason);
  void wake_blocked();

  Loop& loop_;
  const PortConfig& port_;
  UniqueFd tty_;
  Op read_op_;
  Op write_op_;
  Op reopen_op_;
  std::chrono::milliseconds backoff_{100};
  std::array<std::byte, 4096> from_device_{};
  std::vector<std::byte> inflight_;  // being written by the kernel; never touched meanwhile
  std::size_t inflight_done_ = 0;
  std::vector<std::byte> pending_;   // queued behind inflight_
  std::vector<Session*> sessions_;
  std::vector<Session*> blocked_;    // waiting for room in the device queue
};

}  // namespace ttygate::daemon
