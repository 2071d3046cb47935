# SPDX-License-Identifier: Apache-2.0
"""The manual pages (docs/man/*.scd) stay in step with the programs' own usage text.

Each program's --help lists its options (and ttygatectl's and ttygate-client's their commands);
every one of them must appear in the program's manual page, so an option added to main.cpp
without a line in the manual fails here. The pages built by scdoc (when installed) are checked
to be real roff with the right title.
"""
import os
import re
import subprocess

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
MAN = os.path.join(ROOT, "docs", "man")
BUILD_DIR = os.environ.get("TTYGATE_BUILD_DIR", os.path.join(ROOT, "build"))
PAGES = {"ttygated": "ttygated.8", "ttygatectl": "ttygatectl.1", "ttygate-client": "ttygate-client.1",
         "toysim": "toysim.1"}


def usage(program):
    path = os.path.join(BUILD_DIR, "tools", program)
    assert os.access(path, os.X_OK), f"build {program} first: {path} is missing"
    proc = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=10)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def page_source(page):
    with open(os.path.join(MAN, page + ".scd")) as f:
        return f.read()


@pytest.mark.parametrize("program", sorted(PAGES))
def test_every_option_in_a_programs_usage_is_in_its_manual_page(program):
    options = set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", usage(program)))
    assert options, "no options found in the usage text"
    source = page_source(PAGES[program])
    missing = sorted(o for o in options if f"*{o}" not in source and f" {o}" not in source)
    assert missing == [], f"{PAGES[program]}.scd lacks {missing}"


@pytest.mark.parametrize("program", ["ttygatectl", "ttygate-client"])
def test_every_command_in_a_programs_usage_is_in_its_manual_page(program):
    text = usage(program)
    commands = set(re.findall(r"^  ([a-z]+)\b", text, re.M))
    assert len(commands) >= 6, text
    source = page_source(PAGES[program])
    missing = sorted(c for c in commands if f"*{c}*" not in source)
    assert missing == [], f"{PAGES[program]}.scd lacks {missing}"


def test_the_configuration_page_names_every_table_the_daemon_accepts():
    with open(os.path.join(ROOT, "daemon", "config.cpp")) as f:
        config = f.read()
    top = re.search(r'Section section\(file, root, "", \{([^}]*)\}\);', config)
    assert top, "daemon/config.cpp: the list of top-level tables moved"
    source = page_source("ttygate.toml.5")
    for table in re.findall(r'"(\w+)"', top.group(1)):
        heading = f"# [[{table}]]" if table == "port" else f"# [{table}]"
        assert heading in source, f"ttygate.toml.5.scd has no section {heading}"


@pytest.mark.parametrize("page", sorted(list(PAGES.values()) + ["ttygate.toml.5"]))
def test_scdoc_builds_each_page_into_roff_with_its_title(page):
    built = os.path.join(BUILD_DIR, "docs", "man", page)
    if not os.path.exists(built):
        pytest.skip("scdoc is not installed: the build made no manual pages (Debian package scdoc)")
    with open(built) as f:
        roff = f.read()
    name, section = page.rsplit(".", 1)
    assert f'.TH "{name}" "{section}"' in roff
    assert ".SH NAME" in roff
