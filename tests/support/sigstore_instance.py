#!/usr/bin/env python3
"""A throwaway Sigstore instance for ontoref's attestation tests.

Every run generates fresh keys (nothing is read from or kept in the repo) for
a whole private Sigstore instance, writes that instance's trusted root, and
signs one attestation over an artifact the way GitHub Actions and the
public-good instance do, so `ontoref attestation verify` can be tested
end to end, valid and tampered, without the network or stored fixtures:

  trusted_root.json  (mediaType application/vnd.dev.sigstore.trustedroot+json;version=0.1)
    certificateAuthorities  a Fulcio-like CA: a P-384 root and, unless --no-intermediate,
                            a P-384 intermediate (code-signing EKU, pathlen 0)
    tlogs                   a Rekor v1 log key (P-256); logId = sha256(DER SPKI)
    ctlogs                  a certificate-transparency log key (P-256)
    timestampAuthorities    an RFC 3161 TSA: leaf (timeStamping EKU) + root

  bundle  (application/vnd.dev.sigstore.bundle.v0.3+json)
    dsseEnvelope   payloadType application/vnd.in-toto+json, an in-toto Statement v1 whose one
                   subject is {name, digest:{sha256}} of --artifact, predicateType --predicate-type
                   and a small SLSA-v1-shaped predicate; one ECDSA P-256/SHA-256 signature over
                   the DSSE PAE by an ephemeral key
    certificate    that key's leaf, issued by the CA for 10 minutes: SAN URI --san (critical), code-
                   signing EKU, digitalSignature, the Fulcio extensions (OIDC issuer as 1.1 raw and
                   1.8 UTF8String; BuildSignerURI 1.9, RunnerEnvironment 1.11, SourceRepositoryURI
                   1.12, SourceRepositoryRef 1.14, SourceRepositoryOwnerURI 1.16, BuildConfigURI
                   1.18) and an embedded SCT: the CT log's RFC 6962 v1 signature over the precert
                   entry (sha256 of the issuer's SPKI, and the leaf's TBSCertificate without the
                   SCT extension)
    tlogEntries    unless --no-tlog: one Rekor v1 entry of kind dsse 0.0.1 (or intoto 0.0.2, with
                   --tlog-kind intoto), with its canonicalized body, integratedTime inside the
                   leaf's validity, the SET (ECDSA over the RFC 8785 JSON {body, integratedTime,
                   logID, logIndex}) and an inclusion proof in an RFC 6962 Merkle tree of a few
                   dummy leaves plus this one, with a checkpoint: a signed note whose signature
                   line carries the key hint logId[:4], as Rekor v1 writes it
    rfc3161Timestamps  with --tsa: a TimeStampResp from the TSA over sha256(the DSSE signature)

Usage:
  sigstore_instance.py --artifact FILE --out-bundle B --out-root R
      [--subject-name NAME]        the in-toto subject's name (default: the artifact's file name)
      [--san S]                    the leaf's SAN URI (default: a release workflow of acme/ontologies)
      [--issuer I]                 the OIDC issuer (default: GitHub Actions')
      [--repo OWNER/REPO]          source repository and owner claims (default: acme/ontologies)
      [--predicate-type T]         (default: https://slsa.dev/provenance/v1)
      [--tlog-kind dsse|intoto]    the Rekor entry's kind (default: dsse)
      [--no-tlog]                  no transparency-log entry
      [--tsa]                      add an RFC 3161 timestamp
      [--no-intermediate]          the leaf is issued by the CA's root directly
      [--no-sct]                   leave the SCT extension out of the leaf
      [--tamper WHAT]              break one thing after (or while) signing; WHAT is one of
          payload          the envelope's statement is edited after signing (same subject)
          signature        the envelope's signature is replaced by one over other bytes
          set              the SET is a valid signature over another integratedTime
          inclusion-proof  one hash of the inclusion proof is altered
          checkpoint       the checkpoint is signed by another key (same key hint)
          log-entry        the log entry (body, SET, proof all valid) records another payload hash
          sct              the SCT is signed by a key that is not the root's CT log
          timestamp        the RFC 3161 imprint is over other bytes (needs --tsa)

Prints a JSON summary on stdout. Needs `cryptography` and `asn1crypto`
(pinned in tests/python/requirements.txt). Exit code 0 done, 2 usage, 1 anything else.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import os
import secrets
import struct
import sys
import time
from pathlib import Path

from asn1crypto import cms, core, tsp
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
TRUSTED_ROOT = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
IN_TOTO = "application/vnd.in-toto+json"
STATEMENT_V1 = "https://in-toto.io/Statement/v1"
SLSA_V1 = "https://slsa.dev/provenance/v1"
ACTIONS_ISSUER = "https://token.actions.githubusercontent.com"
DEFAULT_REPO = "acme/ontologies"
DEFAULT_SAN = "https://github.com/acme/ontologies/.github/workflows/release.yml@refs/tags/v1.0.0"
# Host names under .invalid: nothing here is ever contacted.
REKOR_NAME = "rekor.ontoref-test.invalid"
ORG = "ontoref-test"

OID_SCT_LIST = "1.3.6.1.4.1.11129.2.4.2"
FULCIO = "1.3.6.1.4.1.57264.1."
TAMPER = ["payload", "signature", "set", "inclusion-proof", "checkpoint", "log-entry", "sct", "timestamp"]


# --- encodings ------------------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def jcs(value) -> bytes:
    """RFC 8785 JSON: exact for what is signed here (ASCII strings, integers, objects, arrays)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return text.encode()


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def spki(key) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def ecdsa(key, data: bytes, hash_alg=None) -> bytes:
    """A DER ECDSA signature over `data` (SHA-256 unless told)."""
    return key.sign(data, ec.ECDSA(hash_alg or hashes.SHA256()))


def utc(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)


def rfc3339(seconds: int) -> str:
    return utc(seconds).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the certificate authorities ------------------------------------------------------------------


def name(cn: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORG), x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    )


def key_usage(*, sign: bool = False, ca: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def ca_cert(subject: x509.Name, key, issuer: x509.Name, issuer_key, now: int, *, pathlen, eku=None):
    """A CA certificate valid from a day ago for a year, signed by `issuer_key`."""
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(utc(now - 86400))
        .not_valid_after(utc(now + 365 * 86400))
        .add_extension(x509.BasicConstraints(ca=True, path_length=pathlen), critical=True)
        .add_extension(key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    )
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    hash_alg = hashes.SHA384() if isinstance(issuer_key.curve, ec.SECP384R1) else hashes.SHA256()
    return b.sign(issuer_key, hash_alg)


class Instance:
    """The instance's keys and certificates, all made fresh."""

    def __init__(self, now: int, intermediate: bool):
        self.now = now
        self.fulcio_root_key = ec.generate_private_key(ec.SECP384R1())
        root_name = name("ontoref-test-fulcio-root")
        self.fulcio_root = ca_cert(
            root_name, self.fulcio_root_key, root_name, self.fulcio_root_key, now, pathlen=1
        )
        if intermediate:
            self.issuer_key = ec.generate_private_key(ec.SECP384R1())
            self.issuer = ca_cert(
                name("ontoref-test-fulcio-intermediate"),
                self.issuer_key,
                root_name,
                self.fulcio_root_key,
                now,
                pathlen=0,
                eku=[ExtendedKeyUsageOID.CODE_SIGNING],
            )
            self.fulcio_chain = [self.issuer, self.fulcio_root]
        else:
            self.issuer_key, self.issuer = self.fulcio_root_key, self.fulcio_root
            self.fulcio_chain = [self.fulcio_root]
        self.rekor_key = ec.generate_private_key(ec.SECP256R1())
        self.rekor_id = sha256(spki(self.rekor_key))
        self.ct_key = ec.generate_private_key(ec.SECP256R1())
        self.ct_id = sha256(spki(self.ct_key))
        self.tsa_root_key = ec.generate_private_key(ec.SECP384R1())
        tsa_root_name = name("ontoref-test-tsa-root")
        self.tsa_root = ca_cert(
            tsa_root_name, self.tsa_root_key, tsa_root_name, self.tsa_root_key, now, pathlen=0
        )
        self.tsa_key = ec.generate_private_key(ec.SECP256R1())
        self.tsa_leaf = (
            x509.CertificateBuilder()
            .subject_name(name("ontoref-test-tsa"))
            .issuer_name(tsa_root_name)
            .public_key(self.tsa_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(utc(now - 86400))
            .not_valid_after(utc(now + 365 * 86400))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(key_usage(sign=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.tsa_key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.tsa_root_key.public_key()),
                critical=False,
            )
            .sign(self.tsa_root_key, hashes.SHA384())
        )

    def trusted_root(self) -> dict:
        start = {"start": rfc3339(self.now - 86400)}

        def log(key_id: bytes, key, url: str) -> dict:
            return {
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": b64(spki(key)),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": start,
                },
                "logId": {"keyId": b64(key_id)},
            }

        def authority(cn: str, url: str, chain) -> dict:
            return {
                "subject": {"organization": ORG, "commonName": cn},
                "uri": url,
                "certChain": {"certificates": [{"rawBytes": b64(der(c))} for c in chain]},
                "validFor": start,
            }

        return {
            "mediaType": TRUSTED_ROOT,
            "tlogs": [log(self.rekor_id, self.rekor_key, f"https://{REKOR_NAME}")],
            "certificateAuthorities": [
                authority("ontoref-test-fulcio", "https://fulcio.ontoref-test.invalid", self.fulcio_chain)
            ],
            "ctlogs": [log(self.ct_id, self.ct_key, "https://ctfe.ontoref-test.invalid")],
            "timestampAuthorities": [
                authority(
                    "ontoref-test-tsa", "https://tsa.ontoref-test.invalid", [self.tsa_leaf, self.tsa_root]
                )
            ],
        }


# --- the signing certificate and its SCT ----------------------------------------------------------


def utf8_ext(oid: str, value: str) -> x509.UnrecognizedExtension:
    """A Fulcio extension from 1.8 on: the value is a DER UTF8String."""
    return x509.UnrecognizedExtension(ObjectIdentifier(oid), core.UTF8String(value).dump())


def sct_list(inst: Instance, precert_tbs: bytes, timestamp_ms: int, key) -> bytes:
    """A SignedCertificateTimestampList (RFC 6962 §3.3) holding one v1 precert SCT by `key`."""
    issuer_key_hash = sha256(spki(inst.issuer_key))
    no_extensions = struct.pack(">H", 0)
    signed = (
        struct.pack(">BBQH", 0, 0, timestamp_ms, 1)  # v1, certificate_timestamp, timestamp, precert_entry
        + issuer_key_hash
        + len(precert_tbs).to_bytes(3, "big")
        + precert_tbs
        + no_extensions
    )
    signature = ecdsa(key, signed)
    sct = (
        struct.pack(">B", 0)
        + inst.ct_id
        + struct.pack(">Q", timestamp_ms)
        + no_extensions
        + bytes([4, 3])  # SignatureAndHashAlgorithm: sha256, ecdsa
        + struct.pack(">H", len(signature))
        + signature
    )
    serialized = struct.pack(">H", len(sct)) + sct
    return struct.pack(">H", len(serialized)) + serialized


def leaf_cert(inst: Instance, leaf_key, args, not_before: int, tamper: str | None):
    owner, repo_name = args.repo.split("/", 1)
    repo_uri = f"https://github.com/{owner}/{repo_name}"
    ref = args.san.rsplit("@", 1)[1] if "@" in args.san else "refs/heads/main"
    san = x509.UniformResourceIdentifier(args.san) if "://" in args.san else x509.RFC822Name(args.san)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(inst.issuer.subject)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(utc(not_before))
        .not_valid_after(utc(not_before + 600))
        .add_extension(key_usage(sign=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(inst.issuer_key.public_key()), critical=False
        )
        .add_extension(x509.SubjectAlternativeName([san]), critical=True)
        # 1.1, the legacy issuer, is the raw string; 1.8 on are DER UTF8Strings.
        .add_extension(
            x509.UnrecognizedExtension(ObjectIdentifier(FULCIO + "1"), args.issuer.encode()), critical=False
        )
        .add_extension(utf8_ext(FULCIO + "8", args.issuer), critical=False)
        .add_extension(utf8_ext(FULCIO + "9", args.san), critical=False)
        .add_extension(utf8_ext(FULCIO + "11", "github-hosted"), critical=False)
        .add_extension(utf8_ext(FULCIO + "12", repo_uri), critical=False)
        .add_extension(utf8_ext(FULCIO + "14", ref), critical=False)
        .add_extension(utf8_ext(FULCIO + "16", f"https://github.com/{owner}"), critical=False)
        .add_extension(utf8_ext(FULCIO + "18", args.san), critical=False)
    )
    hash_alg = hashes.SHA384() if isinstance(inst.issuer_key.curve, ec.SECP384R1) else hashes.SHA256()
    if args.no_sct:
        return builder.sign(inst.issuer_key, hash_alg)
    # The precert TBS the CT log signs is the final TBSCertificate without the SCT extension:
    # the same builder signed without it (ECDSA signatures differ, the TBS does not).
    precert_tbs = builder.sign(inst.issuer_key, hash_alg).tbs_certificate_bytes
    ct_key = ec.generate_private_key(ec.SECP256R1()) if tamper == "sct" else inst.ct_key
    scts = sct_list(inst, precert_tbs, not_before * 1000, ct_key)
    cert = builder.add_extension(
        x509.UnrecognizedExtension(ObjectIdentifier(OID_SCT_LIST), core.OctetString(scts).dump()),
        critical=False,
    ).sign(inst.issuer_key, hash_alg)
    # Self-check: dropping the SCT extension from the final TBS gives back the signed precert TBS.
    tbs = ax509.Certificate.load(der(cert))["tbs_certificate"]
    tbs = tbs.copy()
    tbs["extensions"] = [e for e in tbs["extensions"] if e["extn_id"].dotted != OID_SCT_LIST]
    assert tbs.dump(force=True) == precert_tbs, "the precert TBS does not match the certificate"
    return cert


# --- DSSE -----------------------------------------------------------------------------------------


def statement(args, artifact: bytes, predicate_note: str = "built by the ontoref test instance") -> bytes:
    owner, repo_name = args.repo.split("/", 1)
    st = {
        "_type": STATEMENT_V1,
        "subject": [{"name": args.subject_name, "digest": {"sha256": hashlib.sha256(artifact).hexdigest()}}],
        "predicateType": args.predicate_type,
        "predicate": {
            "buildDefinition": {
                "buildType": "https://actions.github.io/buildtypes/workflow/v1",
                "externalParameters": {
                    "workflow": {
                        "repository": f"https://github.com/{owner}/{repo_name}",
                        "path": ".github/workflows/release.yml",
                        "ref": args.san.rsplit("@", 1)[-1],
                    }
                },
            },
            "runDetails": {
                "builder": {"id": "https://github.com/actions/runner/github-hosted"},
                "note": predicate_note,
            },
        },
    }
    return json.dumps(st, indent=2).encode() + b"\n"


def pae(payload_type: str, payload: bytes) -> bytes:
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def envelope_json(payload: bytes, signature: bytes) -> dict:
    return {
        "payload": b64(payload),
        "payloadType": IN_TOTO,
        "signatures": [{"keyid": "", "sig": b64(signature)}],
    }


# --- the transparency log -------------------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    return sha256(b"\x00" + data)


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1 Merkle tree hash over leaf hashes."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def audit_path(m: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 6962 §2.1.1 PATH(m, D[n]), leaf to root."""
    if len(leaves) == 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m < k:
        return audit_path(m, leaves[:k]) + [mth(leaves[k:])]
    return audit_path(m - k, leaves[k:]) + [mth(leaves[:k])]


def rekor_body(kind: str, payload: bytes, signature: bytes, cert: x509.Certificate) -> bytes:
    env = envelope_json(payload, signature)
    payload_hash = {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()}
    env_hash = {"algorithm": "sha256", "value": hashlib.sha256(jcs(env)).hexdigest()}
    if kind == "dsse":
        body = {
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": env_hash,
                "payloadHash": payload_hash,
                "signatures": [{"signature": b64(signature), "verifier": b64(pem(cert))}],
            },
        }
    else:  # intoto 0.0.2: Rekor stores the signature base64-encoded twice, and drops the payload
        body = {
            "apiVersion": "0.0.2",
            "kind": "intoto",
            "spec": {
                "content": {
                    "envelope": {
                        "payloadType": IN_TOTO,
                        "signatures": [{"publicKey": b64(pem(cert)), "sig": b64(b64(signature).encode())}],
                    },
                    "hash": env_hash,
                    "payloadHash": payload_hash,
                }
            },
        }
    return jcs(body)


def tlog_entry(inst: Instance, kind: str, body: bytes, integrated_time: int, tamper: str | None) -> dict:
    # A small log: a few other entries around ours.
    others = 3 + secrets.randbelow(7)
    index = secrets.randbelow(others + 1)
    bodies = [jcs({"dummy": secrets.token_hex(16)}) for _ in range(others)]
    bodies.insert(index, body)
    leaves = [leaf_hash(b) for b in bodies]
    size, root = len(leaves), mth(leaves)
    path = audit_path(index, leaves)

    promise = {
        "body": b64(body),
        "integratedTime": integrated_time,
        "logID": inst.rekor_id.hex(),
        "logIndex": index,
    }
    if tamper == "set":
        promise["integratedTime"] -= 1
    signed_entry_timestamp = ecdsa(inst.rekor_key, jcs(promise))

    tree_id = secrets.randbelow(1 << 62)
    note = f"{REKOR_NAME} - {tree_id}\n{size}\n{b64(root)}\nTimestamp: {integrated_time * 10**9}\n"
    checkpoint_key = ec.generate_private_key(ec.SECP256R1()) if tamper == "checkpoint" else inst.rekor_key
    note_sig = ecdsa(checkpoint_key, note.encode())
    checkpoint = f"{note}\n\u2014 {REKOR_NAME} {b64(inst.rekor_id[:4] + note_sig)}\n"
    if tamper == "inclusion-proof":
        path[0] = bytes([path[0][0] ^ 1]) + path[0][1:]

    return {
        "logIndex": str(index),
        "logId": {"keyId": b64(inst.rekor_id)},
        "kindVersion": {"kind": kind, "version": "0.0.1" if kind == "dsse" else "0.0.2"},
        "integratedTime": str(integrated_time),
        "inclusionPromise": {"signedEntryTimestamp": b64(signed_entry_timestamp)},
        "inclusionProof": {
            "logIndex": str(index),
            "rootHash": b64(root),
            "treeSize": str(size),
            "hashes": [b64(h) for h in path],
            "checkpoint": {"envelope": checkpoint},
        },
        "canonicalizedBody": b64(body),
    }


# --- the timestamp authority ----------------------------------------------------------------------


def rfc3161(inst: Instance, signature: bytes, gen_time: int) -> bytes:
    """A granted TimeStampResp over sha256(signature), signed by the instance's TSA."""
    leaf = ax509.Certificate.load(der(inst.tsa_leaf))
    tst_info = tsp.TSTInfo(
        {
            "version": "v1",
            "policy": "1.3.6.1.4.1.57264.2",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": sha256(signature),
            },
            "serial_number": secrets.randbits(63),
            "gen_time": utc(gen_time),
            "accuracy": {"seconds": 1},
            "nonce": secrets.randbits(63),
        }
    )
    tst_der = tst_info.dump()
    attrs = [
        cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
        cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"utc_time": utc(gen_time)})]}),
        cms.CMSAttribute({"type": "message_digest", "values": [sha256(tst_der)]}),
        cms.CMSAttribute(
            {
                "type": "signing_certificate_v2",
                "values": [{"certs": [{"cert_hash": sha256(der(inst.tsa_leaf))}]}],
            }
        ),
    ]
    # DER orders a SET OF by encoding; verifiers re-encode the attributes so, then check the signature.
    attrs.sort(key=lambda a: a.dump())
    signed_attrs = cms.CMSAttributes(attrs)
    to_sign = signed_attrs.dump()
    assert to_sign[0] == 0x31
    signer = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": {
                        "issuer": leaf["tbs_certificate"]["issuer"],
                        "serial_number": leaf["tbs_certificate"]["serial_number"],
                    }
                }
            ),
            "digest_algorithm": {"algorithm": "sha256"},
            "signed_attrs": signed_attrs,
            "signature_algorithm": {"algorithm": "sha256_ecdsa"},
            "signature": ecdsa(inst.tsa_key, to_sign),
        }
    )
    signed_data = cms.SignedData(
        {
            "version": "v3",
            "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": {"content_type": "tst_info", "content": tst_info},
            "certificates": [leaf],
            "signer_infos": [signer],
        }
    )
    token = cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
    return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump()


# --- the bundle -----------------------------------------------------------------------------------


def make(args) -> dict:
    artifact = Path(args.artifact).read_bytes()
    now = int(time.time())
    inst = Instance(now, intermediate=not args.no_intermediate)
    not_before = now - 120  # the leaf lives 10 minutes, like Fulcio's
    signed_at = now - 60  # integratedTime and the TSA's genTime: inside the leaf's validity, not ahead

    leaf_key = ec.generate_private_key(ec.SECP256R1())
    cert = leaf_cert(inst, leaf_key, args, not_before, args.tamper)
    payload = statement(args, artifact)
    signature = ecdsa(leaf_key, pae(IN_TOTO, payload))

    material: dict = {"certificate": {"rawBytes": b64(der(cert))}, "tlogEntries": []}
    if not args.no_tlog:
        logged_payload = (
            statement(args, artifact, "another payload") if args.tamper == "log-entry" else payload
        )
        body = rekor_body(args.tlog_kind, logged_payload, signature, cert)
        material["tlogEntries"].append(tlog_entry(inst, args.tlog_kind, body, signed_at, args.tamper))
    if args.tsa:
        stamped = b"not the signature" if args.tamper == "timestamp" else signature
        material["timestampVerificationData"] = {
            "rfc3161Timestamps": [{"signedTimestamp": b64(rfc3161(inst, stamped, signed_at))}]
        }

    if args.tamper == "payload":
        payload = statement(args, artifact, "edited after signing")
    if args.tamper == "signature":
        signature = ecdsa(leaf_key, pae(IN_TOTO, payload + b" "))
    bundle = {
        "mediaType": BUNDLE_V03,
        "verificationMaterial": material,
        "dsseEnvelope": envelope_json(payload, signature),
    }

    Path(args.out_root).write_text(json.dumps(inst.trusted_root(), indent=2) + "\n")
    Path(args.out_bundle).write_text(json.dumps(bundle, indent=2) + "\n")
    entry = material["tlogEntries"][0] if material["tlogEntries"] else None
    return {
        "bundle": args.out_bundle,
        "root": args.out_root,
        "subject": {"name": args.subject_name, "sha256": hashlib.sha256(artifact).hexdigest()},
        "san": args.san,
        "issuer": args.issuer,
        "predicateType": args.predicate_type,
        "intermediate": not args.no_intermediate,
        "sct": not args.no_sct,
        "tlog": (
            None
            if entry is None
            else {
                "kind": args.tlog_kind,
                "logIndex": int(entry["logIndex"]),
                "treeSize": int(entry["inclusionProof"]["treeSize"]),
                "integratedTime": signed_at,
            }
        ),
        "tsa": args.tsa,
        "tamper": args.tamper,
    }


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--artifact", required=True, help="the file the attestation is about")
    p.add_argument("--out-bundle", required=True, help="where to write the Sigstore bundle")
    p.add_argument("--out-root", required=True, help="where to write the instance's trusted_root.json")
    p.add_argument("--subject-name", help="the in-toto subject's name (default: the artifact's file name)")
    p.add_argument("--san", default=DEFAULT_SAN, help="the leaf's SAN (URI, or email without ://)")
    p.add_argument("--issuer", default=ACTIONS_ISSUER, help="the OIDC issuer extensions (1.1, 1.8)")
    p.add_argument("--repo", default=DEFAULT_REPO, help="OWNER/REPO of the source repository claims")
    p.add_argument("--predicate-type", default=SLSA_V1)
    p.add_argument("--tlog-kind", choices=["dsse", "intoto"], default="dsse")
    p.add_argument("--no-tlog", action="store_true", help="no transparency-log entry")
    p.add_argument("--tsa", action="store_true", help="add an RFC 3161 timestamp")
    p.add_argument("--no-intermediate", action="store_true", help="the CA's root issues the leaf")
    p.add_argument("--no-sct", action="store_true", help="no SCT extension in the leaf")
    p.add_argument("--tamper", choices=TAMPER)
    args = p.parse_args(argv)
    if "/" not in args.repo:
        p.error("--repo is OWNER/REPO")
    if args.tamper in ("set", "inclusion-proof", "checkpoint", "log-entry") and args.no_tlog:
        p.error(f"--tamper {args.tamper} needs a tlog entry")
    if args.tamper == "timestamp" and not args.tsa:
        p.error("--tamper timestamp needs --tsa")
    if args.tamper == "sct" and args.no_sct:
        p.error("--tamper sct needs an SCT")
    if args.subject_name is None:
        args.subject_name = os.path.basename(args.artifact)
    print(json.dumps(make(args), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
