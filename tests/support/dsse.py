#!/usr/bin/env python3
"""An independent signer of in-toto attestations with a key, for ontoref's
attestation and vendoring tests.

It makes what `cosign attest --key` and `cosign attest-blob --key
--new-bundle-format` make, without sharing a line of code with the Rust
verifier under test: an in-toto Statement v1 over a file's sha256, in a DSSE
envelope signed with ECDSA P-256 / SHA-256 over the pre-authentication
encoding, written as a bare envelope or as a Sigstore bundle v0.3 with a
public-key hint and no log entry. `cryptography` (pinned in
tests/python/requirements.txt) does the ECDSA.

Subcommands:

  keygen  --out DIR       key.pem (PKCS#8, P-256), key.pub (PKIX PEM)
  attest  --artifact F --key key.pem --out OUT [--form bare|bundle]
          [--predicate-type T] [--subject-sha256 HEX] [--subject-alg ALG]
          [--tamper payload|signature]
                          writes OUT; prints {"out", "sha256", "predicate_type"}

--subject-sha256 names another digest than the artifact's (a statement about
other bytes); --tamper changes the payload after signing, or a byte of the
signature.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

IN_TOTO = "application/vnd.in-toto+json"
SLSA_V1 = "https://slsa.dev/provenance/v1"


def pae(payload_type: str, payload: bytes) -> bytes:
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def keygen(args: argparse.Namespace) -> None:
    os.makedirs(args.out, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    with open(os.path.join(args.out, "key.pem"), "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    with open(os.path.join(args.out, "key.pub"), "wb") as f:
        f.write(
            key.public_key().public_bytes(
                serialization.Encoding.PEM,
                serialization.PublicFormat.SubjectPublicKeyInfo,
            )
        )


def attest(args: argparse.Namespace) -> None:
    with open(args.artifact, "rb") as f:
        data = f.read()
    sha256 = args.subject_sha256 or hashlib.sha256(data).hexdigest()
    digest = {args.subject_alg: hashlib.new(args.subject_alg, data).hexdigest()}
    if args.subject_alg == "sha256":
        digest = {"sha256": sha256}
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": os.path.basename(args.artifact), "digest": digest}],
        "predicateType": args.predicate_type,
        "predicate": {"buildDefinition": {"buildType": "https://ontoref.test/tests"}},
    }
    payload = json.dumps(statement, separators=(",", ":")).encode()
    with open(args.key, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    sig = key.sign(pae(IN_TOTO, payload), ec.ECDSA(hashes.SHA256()))
    if args.tamper == "payload":
        statement["predicate"]["tampered"] = True
        payload = json.dumps(statement, separators=(",", ":")).encode()
    elif args.tamper == "signature":
        sig = sig[:-1] + bytes([sig[-1] ^ 1])
    envelope = {
        "payloadType": IN_TOTO,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": "", "sig": base64.b64encode(sig).decode()}],
    }
    if args.form == "bare":
        doc = envelope
    else:
        spki = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        hint = base64.b64encode(hashlib.sha256(spki).digest()).decode()
        doc = {
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {"publicKey": {"hint": hint}, "tlogEntries": []},
            "dsseEnvelope": envelope,
        }
    with open(args.out, "w") as f:
        json.dump(doc, f)
    print(json.dumps({"out": args.out, "sha256": sha256, "predicate_type": args.predicate_type}))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("keygen")
    k.add_argument("--out", required=True)
    a = sub.add_parser("attest")
    a.add_argument("--artifact", required=True)
    a.add_argument("--key", required=True)
    a.add_argument("--out", required=True)
    a.add_argument("--form", choices=["bare", "bundle"], default="bundle")
    a.add_argument("--predicate-type", default=SLSA_V1)
    a.add_argument("--subject-sha256")
    a.add_argument("--subject-alg", default="sha256", help="the subject's digest algorithm (hashlib name)")
    a.add_argument("--tamper", choices=["payload", "signature"])
    args = p.parse_args()
    {"keygen": keygen, "attest": attest}[args.cmd](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
