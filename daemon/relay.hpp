// SPDX-License-Identifier: Apache-2.0
// Relay: one serial device and the sessions attached to it.
//
// Device output is read with io_uring and fanned out to every attached session; each session
// queues what its peer can't take yet and is dropped past its buffer limit, so one slow reader
// never stalls the device or the others. Input from control sessions is written to the device
// in order: straight away with write(2) when nothing is queued (the device fd is non-blocking),
// else queued and written with io_uring; when the device falls behind, sessions stop reading
// from the network (TCP pushes back on the client) until the device queue drains.
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

#include <string_view>

#include "common/unique_fd.hpp"
#include "daemon/client_store.hpp"
#include "daemon/config.hpp"
#include "daemon/loop.hpp"
#include "daemon/port_line.hpp"

namespace ttygate::daemon {

// What the relay needs of each session attached to it (a Session; a fake in tests).
class RelaySubscriber {
 public:
  virtual bool relaying() const = 0;
  virtual Role role() const = 0;
  // Device output for the peer. May close (and so detach) the subscriber.
  virtual void from_device(std::span<const std::byte> data) = 0;
  // The device queue has room again after to_device() said it was full.
  virtual void resume_input() = 0;
  virtual void close(std::string_view reason) = 0;

 protected:
  ~RelaySubscriber() = default;
};

class Relay {
 public:
  static constexpr std::size_t kDeviceQueueLimit = 64 * 1024;

  Relay(Loop& loop, const PortConfig& port);
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;
  ~Relay();

  // Opens the device now, or schedules retries until it appears.
  void start();
  // Relays this already open device (what start() does once the port opened; tests hand in a
  // pty or a socketpair).
  void adopt_device(UniqueFd tty);
  const PortConfig& port() const { return port_; }
  bool device_open() const { return tty_.valid(); }
  // An exclusive port with a control session attached.
  bool controller_busy() const;

  void attach(RelaySubscriber& session);
  void detach(RelaySubscriber& session);
  const std::vector<RelaySubscriber*>& sessions() const { return sessions_; }

  // Queues input for the device. False = queue full: the session must stop reading until
  // its resume_input() is called.
  bool to_device(std::span<const std::byte> data, RelaySubscriber& from);
  // PURGE-DATA: input queued for the device and not yet handed to the kernel is dropped.
  void discard_pending() { pending_.clear(); }
  // The line as RFC 2217 sessions change it (holds the tty while the device is open).
  PortLine& line() { return line_; }

 private:
  void open_device();
  void arm_read();
  void on_read(int res);
  std::size_t write_now(std::span<const std::byte> data);
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
  std::vector<RelaySubscriber*> sessions_;
  std::vector<RelaySubscriber*> blocked_;  // waiting for room in the device queue
  PortLine line_{loop_, port_};
};

}  // namespace ttygate::daemon
