// SPDX-License-Identifier: Apache-2.0
// The journal as log sink: under systemd, ttygated sends each line with sd_journal_sendv, so the
// structured fields of common/log.hpp (TTYGATE_PORT, TTYGATE_CLIENT, TTYGATE_PEER,
// TTYGATE_SESSION, MESSAGE_ID) become journal fields (`journalctl -u ttygated -o json`).
//
// "Under journald" is what systemd documents for it: $JOURNAL_STREAM names the device and inode
// of the stream it connected to stderr, and stderr still is that stream. Anything else (a
// terminal, a pipe, a test harness, an inherited but redirected JOURNAL_STREAM) keeps plain
// stderr lines.
#pragma once

#include <sys/types.h>

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/log.hpp"

namespace ttygate::daemon::journal {

// Whether $JOURNAL_STREAM (nullptr when unset) is "DEV:INO" of the stream with this dev and ino.
bool stream_matches(const char* journal_stream, dev_t dev, ino_t ino);

// The entry's fields as "NAME=value": MESSAGE, PRIORITY, SYSLOG_IDENTIFIER=ttygated, then the
// line's own fields in order; a field with an empty value is left out.
std::vector<std::string> entry(log::Level level, std::string_view line, std::span<const log::Field> fields);

// Installs the journal sink when stderr goes to the journal; says whether it did.
bool use_journal_if_connected();

}  // namespace ttygate::daemon::journal
