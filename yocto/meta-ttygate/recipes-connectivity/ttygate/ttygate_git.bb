SUMMARY = "ttygate: a serial device on the LAN behind pinned mutual TLS 1.3"
DESCRIPTION = "ttygated accepts pinned mutual TLS 1.3 connections, hands the session keys to \
kernel TLS where the kernel has it, and relays bytes to a serial tty with io_uring. It is \
managed over D-Bus (org.ttygate.Gateway1). Also ships toysim, a simulated serial device."
SECTION = "net"

LICENSE = "Apache-2.0"
LIC_FILES_CHKSUM = "file://LICENSE;md5=3b83ef96387f14655fc854ddc3c6bd57"

# By default the recipe builds the ttygate checkout it sits in (this layer is
# <checkout>/yocto/meta-ttygate): externalsrc, nothing fetched, every edit rebuilt. THISDIR is this
# recipe's folder, four levels below the checkout's top.
#
# A release builds a tagged commit from git instead; in local.conf or a .bbappend:
#   EXTERNALSRC:pn-ttygate = ""
#   SRC_URI:pn-ttygate = "git://<host>/<path>/ttygate.git;protocol=https;branch=main;destsuffix=${BP}"
#   SRCREV:pn-ttygate = "<the 40-hex commit the release tag points at>"
#   PV:pn-ttygate = "<the release, as in CMakeLists.txt's project(VERSION)>"
# destsuffix=${BP} unpacks where every series' default S points (no S line needed).
EXTERNALSRC ?= "${@os.path.normpath(os.path.join(d.getVar('THISDIR'), '../../../..'))}"
EXTERNALSRC_BUILD ?= "${WORKDIR}/build"
inherit externalsrc
PV = "0.1.0+git"

DEPENDS = "openssl liburing systemd tomlplusplus libnl"

inherit cmake pkgconfig systemd useradd features_check

# Links libsystemd (sd-bus) and ships a unit: no sysvinit variant.
REQUIRED_DISTRO_FEATURES = "systemd"

# do_install is cmake's: the build installs the daemon, toysim, the unit, sysusers.d, tmpfiles.d
# and the example configuration. Only the directories differ from a desktop distribution.
EXTRA_OECMAKE = " \
    -DTTYGATE_TESTS=OFF \
    -DTTYGATE_WERROR=OFF \
    -DTTYGATE_SYSTEMD_UNITDIR=${systemd_system_unitdir} \
    -DTTYGATE_SYSUSERSDIR=${nonarch_libdir}/sysusers.d \
    -DTTYGATE_TMPFILESDIR=${nonarch_libdir}/tmpfiles.d \
"

SYSTEMD_SERVICE:${PN} = "ttygated.service"
SYSTEMD_AUTO_ENABLE:${PN} = "enable"

# The account exists at image build time, so a read-only rootfs works; the sysusers.d file
# describes the same account for images that create users at boot.
USERADD_PACKAGES = "${PN}"
GROUPADD_PARAM:${PN} = "--system ttygate"
USERADD_PARAM:${PN} = "--system --gid ttygate --groups dialout --home-dir /var/lib/ttygate \
    --no-create-home --shell /sbin/nologin ttygate"

PACKAGES =+ "${PN}-toysim"
FILES:${PN}-toysim = "${bindir}/toysim"
SUMMARY:${PN}-toysim = "Simulated serial sensor/actor device on a pty, for ttygate demos"

# The bus policy (who may manage org.ttygate.Gateway1) and the interface's introspection XML.
FILES:${PN} += "${nonarch_libdir}/sysusers.d ${nonarch_libdir}/tmpfiles.d ${datadir}/dbus-1"
RDEPENDS:${PN} += "dbus"
CONFFILES:${PN} = "${sysconfdir}/ttygate/ttygated.toml"

# Kernel TLS moves record crypto into the kernel; without the module every session runs over
# the user-space channel, which works but costs CPU on a small board.
RRECOMMENDS:${PN} += "kernel-module-tls"

# DNS-SD: ttygated announces its ports through Avahi's D-Bus API when avahi-daemon runs
# (dbus/discovery.hpp); without it, clients connect by address.
RRECOMMENDS:${PN} += "avahi-daemon"
