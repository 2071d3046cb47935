// SPDX-License-Identifier: Apache-2.0
#include "ktls/loop_input.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ttygate::ktls {

void LoopInput::lend(int res, std::span<const std::byte> bytes) {
  if (res > 0) lent_ = bytes.first(std::min(bytes.size(), static_cast<std::size_t>(res)));
  else if (res == 0) eof_ = true;
  else if (res != -EAGAIN && res != -EINTR) error_ = -res;
}

void LoopInput::settle() {
  if (lent_.empty()) return;
  if (kept_done_ > 0) {
    kept_.erase(kept_.begin(), kept_.begin() + static_cast<std::ptrdiff_t>(kept_done_));
    kept_done_ = 0;
  }
  kept_.insert(kept_.end(), lent_.begin(), lent_.end());
  lent_ = {};
}

int LoopInput::read(char* out, int size, BIO* bio) {
  const auto want = static_cast<std::size_t>(size);
  if (kept_done_ < kept_.size()) {
    const std::size_t n = std::min(want, kept_.size() - kept_done_);
    std::memcpy(out, kept_.data() + kept_done_, n);
    kept_done_ += n;
    if (kept_done_ == kept_.size()) {
      std::vector<std::byte>().swap(kept_);  // an idle channel keeps nothing
      kept_done_ = 0;
    }
    return static_cast<int>(n);
  }
  if (!lent_.empty()) {
    const std::size_t n = std::min(want, lent_.size());
    std::memcpy(out, lent_.data(), n);
    lent_ = lent_.subspan(n);
    return static_cast<int>(n);
  }
  if (error_) {
    errno = error_;
    return -1;
  }
  if (eof_) return 0;
  const ssize_t n = ::read(fd_, out, want);
  if (n > 0) return static_cast<int>(n);
  if (n == 0) {
    eof_ = true;
    return 0;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_read(bio);
  return -1;
}

int LoopInput::bio_read(BIO* bio, char* out, int size) {
  BIO_clear_retry_flags(bio);
  if (size <= 0 || !out) return 0;
  return static_cast<LoopInput*>(BIO_get_data(bio))->read(out, size, bio);
}

long LoopInput::bio_ctrl(BIO* bio, int cmd, long, void*) {
  auto* self = static_cast<LoopInput*>(BIO_get_data(bio));
  switch (cmd) {
    case BIO_CTRL_PENDING:
      return static_cast<long>(self->unread());
    case BIO_CTRL_EOF:
      return self->eof_ && self->unread() == 0;
    case BIO_CTRL_FLUSH:
      return 1;
    default:
      return 0;
  }
}

BIO* LoopInput::make_bio() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ttygate loop input");
    if (m) {
      BIO_meth_set_read(m, bio_read);
      BIO_meth_set_ctrl(m, bio_ctrl);
    }
    return m;
  }();
  BIO* bio = method ? BIO_new(method) : nullptr;
  if (!bio) return nullptr;
  BIO_set_data(bio, this);
  BIO_set_init(bio, 1);
  return bio;
}

}  // namespace ttygate::ktls
