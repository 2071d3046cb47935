# SPDX-License-Identifier: Apache-2.0
"""SPAKE2+ (RFC 9383), ciphersuite P256-SHA256-HKDF-SHA256-HMAC-SHA256, written a second time.

An independent computation to hold ktls/spake2plus against: curve arithmetic from Debian's
python3-ecdsa (pure Python), SHA-256, HMAC and PBKDF2 from the standard library, HKDF written
out from RFC 5869. Nothing here comes from OpenSSL's EC code, so a mistake there or in how
ttygate drives it shows up as a mismatch. For tests only: not constant time, not hardened.

Besides the test of tests/integration/test_spake2plus_reference.py, the pairing tests use it
as the client side of a setup-code exchange:

    w0, w1 = derive_secrets("12345670", salt, iterations)
    prover = Prover(w0, w1, context)
    send(prover.share())
    confirm_p = prover.finish(share_v, confirm_v)   # ValueError on a wrong confirmV
"""
import hashlib
import hmac
import secrets
import struct

from ecdsa import NIST256p
from ecdsa.ellipticcurve import INFINITY, Point, PointJacobi
from ecdsa.numbertheory import square_root_mod_prime

CURVE = NIST256p.curve
G = NIST256p.generator
ORDER = NIST256p.order  # n, RFC 9383's p
FIELD = CURVE.p()
SCALAR_BYTES, POINT_BYTES, MAC_BYTES = 32, 65, 32


def _decompress(data):
    """A compressed SEC1 point (02/03 || x), as RFC 9383 gives M and N."""
    x = int.from_bytes(data[1:], "big")
    y = square_root_mod_prime((x ** 3 + CURVE.a() * x + CURVE.b()) % FIELD, FIELD)
    if y % 2 != data[0] - 2:
        y = FIELD - y
    return PointJacobi.from_affine(Point(CURVE, x, y, ORDER))


# RFC 9383 section 4, P-256.
M = _decompress(bytes.fromhex("02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f"))
N = _decompress(bytes.fromhex("03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49"))


def encode(point):
    """Uncompressed SEC1: 0x04 || x || y."""
    if point == INFINITY:
        raise ValueError("the identity point has no encoding")
    affine = point.to_affine() if isinstance(point, PointJacobi) else point
    return b"\x04" + affine.x().to_bytes(32, "big") + affine.y().to_bytes(32, "big")


def decode(data):
    """A received share: 65 bytes, uncompressed, coordinates below p, on the curve."""
    if len(data) != POINT_BYTES or data[0] != 4:
        raise ValueError("not a 65-byte uncompressed point")
    x, y = int.from_bytes(data[1:33], "big"), int.from_bytes(data[33:], "big")
    if x >= FIELD or y >= FIELD or not CURVE.contains_point(x, y):
        raise ValueError("not a point on P-256")
    return PointJacobi.from_affine(Point(CURVE, x, y, ORDER))  # cofactor 1: never the identity


def _len(data):
    return struct.pack("<Q", len(data))  # RFC 9383's len(): eight bytes, little-endian


def _scalar(value, name):
    if not 0 <= value < ORDER:
        raise ValueError(name + " is not below the order")
    return value


def _ephemeral(value):
    if value is None:
        return secrets.randbelow(ORDER - 1) + 1
    if not 1 <= value < ORDER:
        raise ValueError("test scalar outside [1, n-1]")
    return value


def derive_secrets(password, salt, iterations):
    """(w0, w1) as ttygate derives them: PBKDF2-HMAC-SHA256 over RFC 9383 section 3.2's
    encoding with empty identities, 80 bytes, each half mod n."""
    pw = password.encode()
    data = _len(pw) + pw + _len(b"") + _len(b"")
    out = hashlib.pbkdf2_hmac("sha256", data, salt, iterations, 80)
    return int.from_bytes(out[:40], "big") % ORDER, int.from_bytes(out[40:], "big") % ORDER


def make_verifier(w1):
    """L = w1*P, encoded."""
    return encode(G * _scalar(w1, "w1"))


def hkdf_sha256(ikm, info, length, salt=b""):
    """RFC 5869 with HMAC-SHA256; an absent salt is HashLen zero bytes."""
    prk = hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()
    okm, block = b"", b""
    for counter in range(1, -(-length // 32) + 1):
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        okm += block
    return okm[:length]


def key_schedule(context, id_prover, id_verifier, share_p, share_v, z, v, w0):
    """RFC 9383 sections 3.3 and 3.4: every value its test vectors list, by their names."""
    w0_bytes = w0.to_bytes(SCALAR_BYTES, "big")
    tt = b"".join(_len(part) + part for part in (context, id_prover, id_verifier, encode(M), encode(N),
                                                 share_p, share_v, z, v, w0_bytes))
    k_main = hashlib.sha256(tt).digest()
    confirmation = hkdf_sha256(k_main, b"ConfirmationKeys", 64)
    k_confirm_p, k_confirm_v = confirmation[:32], confirmation[32:]
    return {
        "shareP": share_p, "shareV": share_v, "Z": z, "V": v, "TT": tt, "K_main": k_main,
        "K_confirmP": k_confirm_p, "K_confirmV": k_confirm_v,
        "confirmP": hmac.new(k_confirm_p, share_v, hashlib.sha256).digest(),
        "confirmV": hmac.new(k_confirm_v, share_p, hashlib.sha256).digest(),
        "K_shared": hkdf_sha256(k_main, b"SharedKey", 32),
    }


class Prover:
    """The client's side. x: a fixed scalar for tests, else drawn at random."""

    def __init__(self, w0, w1, context, id_prover=b"", id_verifier=b"", x=None):
        self.w0, self.w1 = _scalar(w0, "w0"), _scalar(w1, "w1")
        self.context, self.id_prover, self.id_verifier = context, id_prover, id_verifier
        self.x = _ephemeral(x)
        self._share = encode(G * self.x + M * self.w0)
        self.details = None
        self.shared_key = None

    def share(self):
        return self._share

    def finish(self, share_v, confirm_v):
        """confirmP to send; raises ValueError on a bad shareV or a wrong confirmV."""
        unblinded = decode(share_v) + (-(N * self.w0))
        self.details = key_schedule(self.context, self.id_prover, self.id_verifier, self._share, bytes(share_v),
                                    encode(unblinded * self.x), encode(unblinded * self.w1), self.w0)
        if not hmac.compare_digest(self.details["confirmV"], bytes(confirm_v)):
            raise ValueError("confirmV does not match: a different setup code or transcript")
        self.shared_key = self.details["K_shared"]
        return self.details["confirmP"]


class Verifier:
    """The gateway's side, answering a shareP at once. y: as Prover's x."""

    def __init__(self, w0, L, context, share_p, id_prover=b"", id_verifier=b"", y=None):
        self.w0 = _scalar(w0, "w0")
        self.y = _ephemeral(y)
        x_point, l_point = decode(share_p), decode(L)
        share_v = encode(G * self.y + N * self.w0)
        unblinded = x_point + (-(M * self.w0))
        self.details = key_schedule(context, id_prover, id_verifier, bytes(share_p), share_v,
                                    encode(unblinded * self.y), encode(l_point * self.y), self.w0)

    def share(self):
        return self.details["shareV"]

    def confirm(self):
        return self.details["confirmV"]

    def finish(self, confirm_p):
        """K_shared; raises ValueError on a wrong confirmP."""
        if not hmac.compare_digest(self.details["confirmP"], bytes(confirm_p)):
            raise ValueError("confirmP does not match: a different setup code or transcript")
        return self.details["K_shared"]
