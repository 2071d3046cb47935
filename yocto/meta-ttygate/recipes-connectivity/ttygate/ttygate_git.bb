SUMMARY = "ttygate: a serial device on the LAN behind pinned mutual TLS 1.3"
DESCRIPTION = "ttygated accepts pinned mutual TLS 1.3 connections, hands the session keys to \
kernel TLS where the kernel has it, and relays bytes to a serial tty with io_uring. It is \
managed over D-Bus (org.ttygate.Gateway1). Also ships toysim, a simulated serial device."
SECTION = "net"

# The project has not chosen a licence yet: replace both lines when it has
# (e.g. LICENSE = "MIT" and LIC_FILES_CHKSUM = "file://LICENSE;md5=...").
LICENSE = "CLOSED"

# Placeholder location and revision: point SRC_URI at the ttygate repository your build can
# reach and SRCREV at the commit to ship. For development, SRCREV:pn-ttygate = "${AUTOREV}" in
# local.conf follows the branch, and externalsrc builds a local work tree (see README.md).
SRC_URI = "git://git.example.org/ttygate.git;protocol=https;branch=main"
SRCREV = "0000000000000000000000000000000000000000"
PV = "0.1.0+git${SRCPV}"
S = "${WORKDIR}/git"

DEPENDS = "openssl liburing systemd tomlplusplus libgpiod"

inherit cmake pkgconfig systemd useradd features_check

# Links libsystemd (sd-bus) and ships a unit: no sysvinit variant.
REQUIRED_DISTRO_FEATURES = "systemd"

# do_install is cmake's: the build installs the daemon, toysim, the unit, sysusers.d, tmpfiles.d
# and the example configuration. Only the directories differ from a desktop distribution.
EXTRA_OECMAKE = " \
    -DTTYGATE_TESTS=OFF \
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
