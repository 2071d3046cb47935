# SPDX-License-Identifier: Apache-2.0
"""Where ttygated's log lines go: plain stderr unless stderr is the journal stream systemd names
in $JOURNAL_STREAM (daemon/journal.hpp). Recognising the stream is unit-tested
(tests/unit/journal_test.cpp); the lines and fields in a real journal are proven in tests/vm/image,
since without a journald libsystemd drops native lines silently."""


def test_a_journal_stream_that_is_not_stderr_keeps_plain_stderr_lines(gateway_factory, client):
    g = gateway_factory()
    g.add_client(client[0], "laptop")
    # Inherited from a parent that was under journald, but stderr went elsewhere since.
    g.start(env={"JOURNAL_STREAM": "1:2"})
    lines = g.log().splitlines()
    assert any("running with 1 paired clients" in line for line in lines), lines
    assert all(line.startswith("ttygated: ") for line in lines), lines

