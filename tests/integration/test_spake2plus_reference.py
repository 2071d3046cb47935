# SPDX-License-Identifier: Apache-2.0
"""ktls/spake2plus against an independent SPAKE2+ (spake2plus_ref.py, python3-ecdsa).

First the reference itself is held against RFC 9383's Appendix C; then both implementations
get the same random inputs (through tests/spake2plus_tool) and must agree on every value; then
each plays one side of live exchanges with random scalars against the other.
"""
import os
import secrets
import subprocess

import pytest

import spake2plus_ref as ref
from conftest import BUILD_DIR

TOOL = os.path.join(BUILD_DIR, "tests", "spake2plus_tool")

# RFC 9383 Appendix C: every vector of P256-SHA256-HKDF-SHA256-HMAC-SHA256 (the published RFC
# has one for this suite, with idProver "client" and idVerifier "server").
RFC_VECTORS = [
    dict(
        context=b"SPAKE2+-P256-SHA256-HKDF-SHA256-HMAC-SHA256 Test Vectors", id_prover=b"client", id_verifier=b"server",
        w0="bb8e1bbcf3c48f62c08db243652ae55d3e5586053fca77102994f23ad95491b3",
        w1="7e945f34d78785b8a3ef44d0df5a1a97d6b3b460409a345ca7830387a74b1dba",
        L="04eb7c9db3d9a9eb1f8adab81b5794c1f13ae3e225efbe91ea487425854c7fc00f00bfedcbd09b2400142d40a14f2064ef31dfaa903b91d1faea7093d835966efd",
        x="d1232c8e8693d02368976c174e2088851b8365d0d79a9eee709c6a05a2fad539",
        y="717a72348a182085109c8d3917d6c43d59b224dc6a7fc4f0483232fa6516d8b3",
        expected=dict(
            shareP="04ef3bd051bf78a2234ec0df197f7828060fe9856503579bb1733009042c15c0c1de127727f418b5966afadfdd95a6e4591d171056b333dab97a79c7193e341727",
            shareV="04c0f65da0d11927bdf5d560c69e1d7d939a05b0e88291887d679fcadea75810fb5cc1ca7494db39e82ff2f50665255d76173e09986ab46742c798a9a68437b048",
            Z="04bbfce7dd7f277819c8da21544afb7964705569bdf12fb92aa388059408d50091a0c5f1d3127f56813b5337f9e4e67e2ca633117a4fbd559946ab474356c41839",
            V="0458bf27c6bca011c9ce1930e8984a797a3419797b936629a5a937cf2f11c8b9514b82b993da8a46e664f23db7c01edc87faa530db01c2ee405230b18997f16b68",
            TT="38000000000000005350414b45322b2d503235362d5348413235362d484b44462d5348413235362d484d41432d53484132"
               "3536205465737420566563746f72730600000000000000636c69656e74060000000000000073657276657241000000000000"
               "0004886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f5ff355163e43ce224e0b0e65ff02ac8e"
               "5c7be09419c785e0ca547d55a12e2d20410000000000000004d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b"
               "4f98baa1292b4907d60aa6bfade45008a636337f5168c64d9bd36034808cd564490b1e656edbe7410000000000000004ef3b"
               "d051bf78a2234ec0df197f7828060fe9856503579bb1733009042c15c0c1de127727f418b5966afadfdd95a6e4591d171056"
               "b333dab97a79c7193e341727410000000000000004c0f65da0d11927bdf5d560c69e1d7d939a05b0e88291887d679fcadea7"
               "5810fb5cc1ca7494db39e82ff2f50665255d76173e09986ab46742c798a9a68437b048410000000000000004bbfce7dd7f27"
               "7819c8da21544afb7964705569bdf12fb92aa388059408d50091a0c5f1d3127f56813b5337f9e4e67e2ca633117a4fbd5599"
               "46ab474356c4183941000000000000000458bf27c6bca011c9ce1930e8984a797a3419797b936629a5a937cf2f11c8b9514b"
               "82b993da8a46e664f23db7c01edc87faa530db01c2ee405230b18997f16b682000000000000000bb8e1bbcf3c48f62c08db2"
               "43652ae55d3e5586053fca77102994f23ad95491b3",
            K_main="4c59e1ccf2cfb961aa31bd9434478a1089b56cd11542f53d3576fb6c2a438a29",
            K_confirmP="871ae3f7b78445e34438fb284504240239031c39d80ac23eb5ab9be5ad6db58a",
            K_confirmV="ccd53c7c1fa37b64a462b40db8be101cedcf838950162902054e644b400f1680",
            confirmP="926cc713504b9b4d76c9162ded04b5493e89109f6d89462cd33adc46fda27527",  # HMAC(K_confirmP, shareV)
            confirmV="9747bcc4f8fe9f63defee53ac9b07876d907d55047e6ff2def2e7529089d3e68",  # HMAC(K_confirmV, shareP)
            K_shared="0c5f8ccd1413423a54f6c1fb26ff01534a87f893779c6e68666d772bfd91f3e7",
        ),
    ),
]

DETAIL_NAMES = ["shareP", "shareV", "Z", "V", "TT", "K_main", "K_confirmP", "K_confirmV", "confirmP", "confirmV",
                "K_shared"]


def tool(*args, check=True):
    done = subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=60)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return dict(line.split(" ", 1) for line in done.stdout.splitlines())


def hexed(details):
    return {name: details[name].hex() for name in DETAIL_NAMES}


def reference_run(w0, w1, context, id_prover, id_verifier, x, y):
    """Both sides of one exchange in Python, with every value each computed."""
    prover = ref.Prover(w0, w1, context, id_prover, id_verifier, x=x)
    verifier = ref.Verifier(w0, ref.make_verifier(w1), context, prover.share(), id_prover, id_verifier, y=y)
    confirm_p = prover.finish(verifier.share(), verifier.confirm())
    assert verifier.finish(confirm_p) == prover.shared_key
    return prover, verifier


@pytest.mark.parametrize("vector", RFC_VECTORS, ids=lambda v: v["id_prover"].decode() + "-" + v["id_verifier"].decode())
def test_reference_matches_every_rfc9383_vector(vector):
    w0, w1, x, y = (int(vector[k], 16) for k in ("w0", "w1", "x", "y"))
    assert ref.make_verifier(w1).hex() == vector["L"]
    prover, verifier = reference_run(w0, w1, vector["context"], vector["id_prover"], vector["id_verifier"], x, y)
    assert hexed(prover.details) == vector["expected"]
    assert hexed(verifier.details) == vector["expected"]


@pytest.mark.parametrize("vector", RFC_VECTORS, ids=lambda v: v["id_prover"].decode() + "-" + v["id_verifier"].decode())
def test_tool_matches_every_rfc9383_vector(vector):
    out = tool("run", vector["w0"], vector["w1"], vector["context"].hex(), vector["id_prover"].hex(),
               vector["id_verifier"].hex(), vector["x"], vector["y"])
    assert out["L"] == vector["L"]
    for side in ("prover", "verifier"):
        assert {name: out[side + "." + name] for name in DETAIL_NAMES} == vector["expected"]


def test_reference_refuses_what_the_rfc_says_to_refuse():
    valid = bytes.fromhex(RFC_VECTORS[0]["expected"]["shareV"])
    for bad in (valid[:-1] + bytes([valid[-1] ^ 1]), b"\x04" + bytes(64), b"\x00", valid[:33], b"\x06" + valid[1:]):
        with pytest.raises(ValueError):
            ref.decode(bad)
    w0, w1 = ref.derive_secrets("31415926", b"salt", 1000)
    prover = ref.Prover(w0, w1, b"c")
    verifier = ref.Verifier(w0, ref.make_verifier(w1), b"other context", prover.share())
    with pytest.raises(ValueError):
        prover.finish(verifier.share(), verifier.confirm())


@pytest.mark.parametrize("case", range(6))
def test_secrets_from_a_passcode_agree(case):
    password = "%08d" % secrets.randbelow(10 ** 8) if case else ""
    salt = secrets.token_bytes(1 + secrets.randbelow(64))
    iterations = 1 + secrets.randbelow(3000)
    w0, w1 = ref.derive_secrets(password, salt, iterations)
    out = tool("derive", password, salt.hex(), str(iterations))
    assert (out["w0"], out["w1"]) == ("%064x" % w0, "%064x" % w1)
    assert out["L"] == ref.make_verifier(w1).hex()


def random_scalar():
    return secrets.randbelow(ref.ORDER - 1) + 1


@pytest.mark.parametrize("case", range(20))
def test_every_value_agrees_for_random_inputs(case):
    w0, w1, x, y = (random_scalar() for _ in range(4))
    context = secrets.token_bytes(secrets.randbelow(80))
    # ttygate's own use: empty identities; the rest also try others.
    ids = (b"", b"") if case % 2 == 0 else (secrets.token_bytes(secrets.randbelow(20)), secrets.token_bytes(5))
    prover, verifier = reference_run(w0, w1, context, ids[0], ids[1], x, y)
    out = tool("run", "%064x" % w0, "%064x" % w1, context.hex(), ids[0].hex(), ids[1].hex(), "%064x" % x, "%064x" % y)
    assert out["L"] == ref.make_verifier(w1).hex()
    for side, details in (("prover", prover.details), ("verifier", verifier.details)):
        assert {name: out[side + "." + name] for name in DETAIL_NAMES} == hexed(details)
    assert (out["shareP"], out["shareV"]) == (prover.share().hex(), verifier.share().hex())
    assert (out["confirmP"], out["confirmV"]) == (prover.details["confirmP"].hex(), verifier.confirm().hex())
    assert out["K_shared"] == out["verifier.K_shared.object"] == prover.shared_key.hex()


class Peer:
    """spake2plus_tool prove|verify: one side of a live exchange, line by line."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([TOOL, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def read(self):
        """(name, value) of the next answer line; a refusal is ("refused", "<errc> <message>")."""
        name, _, value = self.proc.stdout.readline().rstrip("\n").partition(" ")
        return name, value

    def send(self, *words):
        self.proc.stdin.write(" ".join(words) + "\n")
        self.proc.stdin.flush()

    def close(self):
        self.proc.stdin.close()
        return self.proc.wait(timeout=30)


def passcode_pair(prover_code, verifier_code):
    salt = secrets.token_bytes(32)
    return ref.derive_secrets(prover_code, salt, 1000), ref.derive_secrets(verifier_code, salt, 1000)


@pytest.mark.parametrize("case", range(5))
def test_cpp_prover_and_python_verifier_agree(case):
    (w0, w1), _ = passcode_pair("27182818", "27182818")
    context = secrets.token_bytes(32)
    peer = Peer("prove", "%064x" % w0, "%064x" % w1, context.hex())
    name, share_p = peer.read()
    assert name == "shareP"
    verifier = ref.Verifier(w0, ref.make_verifier(w1), context, bytes.fromhex(share_p))
    peer.send(verifier.share().hex(), verifier.confirm().hex())
    name, confirm_p = peer.read()
    assert name == "confirmP", confirm_p
    name, shared = peer.read()
    assert name == "K_shared"
    assert shared == verifier.finish(bytes.fromhex(confirm_p)).hex()
    assert peer.close() == 0


@pytest.mark.parametrize("case", range(5))
def test_python_prover_and_cpp_verifier_agree(case):
    (w0, w1), _ = passcode_pair("27182818", "27182818")
    context = secrets.token_bytes(32)
    prover = ref.Prover(w0, w1, context)
    peer = Peer("verify", "%064x" % w0, ref.make_verifier(w1).hex(), context.hex())
    peer.send(prover.share().hex())
    (name_v, share_v), (name_c, confirm_v) = peer.read(), peer.read()
    assert (name_v, name_c) == ("shareV", "confirmV")
    confirm_p = prover.finish(bytes.fromhex(share_v), bytes.fromhex(confirm_v))
    peer.send(confirm_p.hex())
    assert peer.read() == ("K_shared", prover.shared_key.hex())
    assert peer.close() == 0


def test_a_wrong_passcode_fails_on_both_sides_across_implementations():
    (pw0, pw1), (vw0, vw1) = passcode_pair("27182818", "31415926")
    context = secrets.token_bytes(32)
    # C++ prover, Python verifier: the prover refuses confirmV.
    peer = Peer("prove", "%064x" % pw0, "%064x" % pw1, context.hex())
    verifier = ref.Verifier(vw0, ref.make_verifier(vw1), context, bytes.fromhex(peer.read()[1]))
    peer.send(verifier.share().hex(), verifier.confirm().hex())
    name, why = peer.read()
    assert (name, why.split()[0]) == ("refused", "permission_denied"), why
    assert peer.close() == 1
    # Python prover that answers anyway, C++ verifier: the verifier refuses confirmP.
    prover = ref.Prover(pw0, pw1, context)
    peer = Peer("verify", "%064x" % vw0, ref.make_verifier(vw1).hex(), context.hex())
    peer.send(prover.share().hex())
    share_v, _ = peer.read()[1], peer.read()
    with pytest.raises(ValueError):
        prover.finish(bytes.fromhex(share_v), bytes(32))  # computes its confirmP before refusing
    peer.send(prover.details["confirmP"].hex())
    name, why = peer.read()
    assert (name, why.split()[0]) == ("refused", "permission_denied"), why
    assert peer.close() == 1
