// SPDX-License-Identifier: Apache-2.0
// Result<T>: a value or an Error. The one error channel of library code.
//
// g++ 12 has no std::expected. An Error is a std::error_code (what went wrong, in a form code
// can branch on) plus a short context string (where: a file, a key, a peer), so the caller that
// finally logs can say "Failed to X: <context>: <reason>" once.
#pragma once

#include <cerrno>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

namespace ttygate {

class Error {
 public:
  Error() = default;
  Error(std::error_code code, std::string context = {}) : code_(code), context_(std::move(context)) {}

  const std::error_code& code() const { return code_; }
  const std::string& context() const { return context_; }
  // "context: reason", or just the reason.
  std::string message() const {
    return context_.empty() ? code_.message() : context_ + ": " + code_.message();
  }

 private:
  std::error_code code_;
  std::string context_;
};

inline Error errno_error(std::string context, int err = errno) {
  return Error(std::error_code(err, std::system_category()), std::move(context));
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool failed_ = false;
};

inline Result<void> success() { return {}; }

}  // namespace ttygate
