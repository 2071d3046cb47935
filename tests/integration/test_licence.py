# SPDX-License-Identifier: Apache-2.0
"""The project's licence: Apache-2.0, in LICENSE and named by an SPDX line in every source file."""
import os
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TAG = "SPDX-License-Identifier: Apache-2.0"


def tracked_sources():
    files = subprocess.run(["git", "-C", ROOT, "ls-files"], capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if name.endswith((".cpp", ".hpp", ".c", ".py")) or os.path.basename(name) == "CMakeLists.txt":
            yield name


def test_the_licence_file_is_apache_2_0():
    with open(os.path.join(ROOT, "LICENSE")) as f:
        text = f.read()
    assert "Apache License" in text and "Version 2.0, January 2004" in text


def test_every_source_file_names_its_licence_in_its_first_lines():
    missing = []
    for name in tracked_sources():
        with open(os.path.join(ROOT, name), errors="replace") as f:
            head = "".join(f.readline() for _ in range(3))
        if TAG not in head:
            missing.append(name)
    assert not missing, f"no SPDX line: {missing[:20]}"
