// SPDX-License-Identifier: Apache-2.0
#include "tools/ttygatectl/output.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace ttygatectl {

void print_table(std::ostream& out, const Row& header, const std::vector<Row>& rows) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const Row& row : rows) width[c] = std::max(width[c], row.at(c).size());
  }
  auto line = [&](const Row& row) {
    std::string text;
    for (std::size_t c = 0; c < row.size(); ++c) {
      text += row[c];
      if (c + 1 < row.size()) text += std::string(width[c] - row[c].size() + 2, ' ');
    }
    out << text << "\n";
  };
  line(header);
  for (const Row& row : rows) line(row);
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", c);
      out += esc;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

void print_json(std::ostream& out, const Value& v) {
  switch (v.kind) {
    case Value::Kind::boolean: out << (v.boolean ? "true" : "false"); return;
    case Value::Kind::unsigned_number: out << v.u; return;
    case Value::Kind::signed_number: out << v.i; return;
    case Value::Kind::string: out << json_string(v.s); return;
    case Value::Kind::array:
      out << "[";
      for (std::size_t i = 0; i < v.items.size(); ++i) {
        if (i) out << ", ";
        print_json(out, v.items[i]);
      }
      out << "]";
      return;
    case Value::Kind::dict:
      out << "{";
      for (std::size_t i = 0; i < v.fields.size(); ++i) {
        if (i) out << ", ";
        out << json_string(v.fields[i].first) << ": ";
        print_json(out, v.fields[i].second);
      }
      out << "}";
      return;
  }
}

std::string format_time(std::uint64_t seconds) {
  if (seconds == 0) return "never";
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return text;
}

std::string format_bytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  if (unit == 0) std::snprintf(text, sizeof text, "%llu B", static_cast<unsigned long long>(bytes));
  else
    std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
  return text;
}

}  // namespace ttygatectl
