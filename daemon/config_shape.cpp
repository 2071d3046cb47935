// SPDX-License-Identifier: Apache-2.0
// Bounding a TOML text before parsing it. See config_shape.hpp.
#include "daemon/config_shape.hpp"

#include <string>

namespace ttygate::daemon {
namespace {

enum class State { normal, comment, basic, literal, multi_basic, multi_literal };

class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  Result<void> run() {
    while (at_ < text_.size()) {
      if (auto stepped = step(); !stepped) return stepped;
    }
    return success();
  }

 private:
  bool ahead(std::string_view what) const { return text_.substr(at_, what.size()) == what; }

  Error fail(const std::string& problem) const {
    return Error(std::make_error_code(std::errc::invalid_argument),
                 std::to_string(line_) + ":" + std::to_string(column_) + ": " + problem);
  }

  void advance(std::size_t n) {
    for (std::size_t i = 0; i < n && at_ < text_.size(); ++i, ++at_) {
      if (text_[at_] == '\n') {
        ++line_;
        column_ = 1;
        dots_ = 0;
      } else {
        ++column_;
      }
    }
  }

  Result<void> step() {
    switch (state_) {
      case State::normal: return normal();
      case State::comment: return until("\n", State::normal, false);
      case State::basic: return in_string("\"", true);
      case State::literal: return in_string("'", false);
      case State::multi_basic: return until("\"\"\"", State::normal, true);
      case State::multi_literal: return until("'''", State::normal, false);
    }
    return success();
  }

  Result<void> normal() {
    if (ahead("\"\"\"")) return enter(State::multi_basic, 3);
    if (ahead("'''")) return enter(State::multi_literal, 3);
    const char c = text_[at_];
    if (c == '"') return enter(State::basic, 1);
    if (c == '\'') return enter(State::literal, 1);
    if (c == '#') return enter(State::comment, 1);
    if (c == '.' && ++dots_ >= kMaxDottedParts) {
      return fail("more than " + std::to_string(kMaxDottedParts) + " dotted key parts on one line");
    }
    if ((c == '[' || c == '{') && ++depth_ > kMaxNesting) {
      return fail("arrays or tables nested more than " + std::to_string(kMaxNesting) + " deep");
    }
    if ((c == ']' || c == '}') && depth_ > 0) --depth_;
    advance(1);
    return success();
  }

  Result<void> enter(State state, std::size_t width) {
    state_ = state;
    advance(width);
    return success();
  }

  // A single-line string ends at its quote; a newline first is toml++'s error to report.
  Result<void> in_string(std::string_view quote, bool escapes) {
    const char c = text_[at_];
    if (escapes && c == '\\') {
      advance(2);
    } else {
      if (c == quote[0] || c == '\n') state_ = State::normal;
      advance(1);
    }
    return success();
  }

  Result<void> until(std::string_view end, State next, bool escapes) {
    if (escapes && text_[at_] == '\\') {
      advance(2);
    } else if (ahead(end)) {
      state_ = next;
      advance(end == "\n" ? 0 : end.size());
    } else {
      advance(1);
    }
    return success();
  }

  std::string_view text_;
  std::size_t at_ = 0;
  std::size_t line_ = 1, column_ = 1;
  std::size_t dots_ = 0, depth_ = 0;
  State state_ = State::normal;
};

}  // namespace

Result<void> check_config_shape(std::string_view text) { return Scanner(text).run(); }

}  // namespace ttygate::daemon
