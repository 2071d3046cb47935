// SPDX-License-Identifier: Apache-2.0
// ttygatectl's output: aligned tables for people, JSON for scripts, times in UTC.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "tools/ttygatectl/bus_client.hpp"

namespace ttygatectl {

using Row = std::vector<std::string>;
// Columns separated by two spaces, each as wide as its widest cell; the header first.
void print_table(std::ostream& out, const Row& header, const std::vector<Row>& rows);
// A value as JSON (dicts as objects, structs and arrays as arrays).
void print_json(std::ostream& out, const Value& value);
std::string json_string(const std::string& text);
// Seconds since the epoch as "2025-01-31 12:00:00 UTC"; 0 as "never".
std::string format_time(std::uint64_t seconds);
// "1.2 KiB" style for byte counts.
std::string format_bytes(std::uint64_t bytes);

}  // namespace ttygatectl
