#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Prints the path of a cached Debian 12 root file system for tests/vm/image, as an uncompressed
# newc cpio archive the kernel unpacks into its initial rootfs; builds it with mmdebstrap when the
# cache has none for this package list. Nothing of ttygate is in it: run appends the project
# (cmake --install) and the scenario as a second archive on every run.
#
#   tests/vm/image/rootfs.sh CACHE_DIR
set -euo pipefail

cache=$1
# What the guest needs: systemd as PID 1 with udev (device permissions) and the system bus;
# ttygated's runtime libraries; openssl (s_client is the pinned client) and the tools the
# scenario calls.
packages=(
  systemd systemd-sysv udev dbus
  libssl3 liburing2 libtomlplusplus3 libgpiod2 libsystemd0 libnl-3-200 libnl-route-3-200
  openssl procps iproute2 util-linux
)
key=$(printf '%s\n' bookworm "${packages[@]}" | sha256sum | cut -c1-12)
dir=$cache/image-$key
if [[ -e $dir/.complete ]]; then
  echo "$dir/rootfs.cpio"
  exit 0
fi
command -v mmdebstrap >/dev/null || { echo "tests/vm/image: mmdebstrap is missing (scripts/setup installs it)" >&2; exit 2; }
rm -rf "$dir" && mkdir -p "$dir"
include=$(IFS=,; echo "${packages[*]}")
# Documentation, manuals and locales are of no use in the guest and would only make the archive
# (which the guest holds in RAM) bigger.
mmdebstrap --quiet --variant=minbase --include="$include" \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*' \
  --customize-hook='echo ttygate-image > "$1/etc/hostname"' \
  --customize-hook='passwd --root "$1" --delete root' \
  bookworm "$dir/rootfs.tar" >&2
# mmdebstrap runs as root here and keeps owners; cpio from a tar needs an unpacked tree.
mkdir "$dir/tree"
tar -C "$dir/tree" --numeric-owner -xpf "$dir/rootfs.tar"
(cd "$dir/tree" && find . | cpio -o -H newc --quiet) > "$dir/rootfs.cpio"
rm -rf "$dir/tree" "$dir/rootfs.tar"
touch "$dir/.complete"
echo "$dir/rootfs.cpio"
