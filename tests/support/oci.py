#!/usr/bin/env python3
"""An independent OCI writer and reader for ontoref's registry tests.

It owns the test side of the OCI layer: pushing artifacts and cosign
signatures to a private registry (tests/registry.rs starts one per test),
reading them back, and making vault tarballs (hostile ones included), all
without sharing a line of code with the Rust implementation under test. It
speaks the distribution API over plain HTTP with the standard library only;
`cryptography` (pinned in tests/python/requirements.txt) does the ECDSA.

Subcommands (each registry one takes --registry HOST:PORT [--user U --password P]):

  keygen          --out DIR             cosign.key (PKCS#8 PEM, P-256), cosign.pub (PKIX PEM)
  push-artifact   --repo --tag --artifact-type --layer PATH:MEDIA_TYPE[:TITLE]...
                                        prints {"digest", "manifest"}
  sign            --repo --digest --key [--rekor-key LOG_KEY]
                                        prints the signature manifest's digest; with
                                        --rekor-key the signature is "logged" by a test log
  make-vault-tar  --src DIR --out FILE [--evil KIND]
                                        prints {"out", "entries", "evil"}
  pull-artifact   --repo --ref --out    prints {"digest", "artifactType", "layers"}
  verify          --repo --ref --pub    prints {"digest", "signature", "valid"}
  get-tag         --repo --tag          prints the manifest's bytes as stored

Exit codes: 0 done; 1 verification or integrity failure (bad signature, no
signature, wrong digest, a blob whose sha256 does not match); 2 usage; 3 the
manifest (tag or digest) is not in the registry; 4 any other HTTP error
(401 included), the status on stderr as `HTTP <status> <METHOD> <path>`;
5 the registry is unreachable.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
TITLE_ANNOTATION = "org.opencontainers.image.title"
COSIGN_TYPE = "cosign container image signature"
ACCEPT = ", ".join([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST])


class Fail(Exception):
    """A failure with its exit code; main() prints the message on stderr."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


class NotFound(Fail):
    def __init__(self, message: str):
        super().__init__(3, message)


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(value) -> bytes:
    """Compact JSON, keys in insertion order: the bytes a digest is taken of."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


# --- the distribution API over plain HTTP --------------------------------------------------------


class Registry:
    def __init__(self, endpoint: str, user: str | None, password: str | None):
        self.base = f"http://{endpoint}"
        self.endpoint = endpoint
        self.auth = None
        if user is not None:
            token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
            self.auth = f"Basic {token}"

    def request(self, method: str, url: str, body: bytes | None = None, headers=None, ok=(200,)):
        """One request; returns (status, headers, body). A status not in `ok`
        raises NotFound for 404, Fail(4) otherwise; no connection Fail(5)."""
        if not url.startswith("http"):
            url = self.base + url
        req = urllib.request.Request(url, data=body, method=method)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        if self.auth:
            req.add_header("Authorization", self.auth)
        path = urllib.parse.urlsplit(url).path
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, hdrs, data = resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            status, hdrs, data = e.code, e.headers, e.read()
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise Fail(5, f"registry {self.endpoint} unreachable: {reason}") from None
        if status not in ok:
            text = data.decode("utf-8", "replace")[:500]
            message = f"HTTP {status} {method} {path}: {text}"
            if status == 404:
                raise NotFound(message)
            raise Fail(4, message)
        return status, hdrs, data

    def blob_exists(self, repo: str, digest: str) -> bool:
        status, _, _ = self.request("HEAD", f"/v2/{repo}/blobs/{digest}", ok=(200, 404))
        return status == 200

    def push_blob(self, repo: str, data: bytes) -> dict:
        """Monolithic upload (POST, then PUT with the digest); a blob the
        registry has is not sent again. Returns its descriptor core."""
        digest = sha256_digest(data)
        if not self.blob_exists(repo, digest):
            _, hdrs, _ = self.request("POST", f"/v2/{repo}/blobs/uploads/", body=b"", ok=(202,))
            location = urllib.parse.urljoin(self.base + "/", hdrs["Location"])
            sep = "&" if "?" in location else "?"
            url = f"{location}{sep}digest={urllib.parse.quote(digest)}"
            headers = {"Content-Type": "application/octet-stream", "Content-Length": str(len(data))}
            _, hdrs, _ = self.request("PUT", url, body=data, headers=headers, ok=(201,))
            stored = hdrs.get("Docker-Content-Digest")
            if stored and stored != digest:
                raise Fail(1, f"the registry stored blob {stored}, not {digest}")
        return {"digest": digest, "size": len(data)}

    def push_manifest(self, repo: str, ref: str, manifest: dict, media_type=OCI_MANIFEST) -> str:
        body = canonical(manifest)
        digest = sha256_digest(body)
        _, hdrs, _ = self.request(
            "PUT", f"/v2/{repo}/manifests/{ref}", body=body, headers={"Content-Type": media_type}, ok=(201,)
        )
        stored = hdrs.get("Docker-Content-Digest")
        if stored and stored != digest:
            raise Fail(1, f"the registry stored manifest {stored}, not {digest}")
        return digest

    def get_manifest(self, repo: str, ref: str) -> tuple[bytes, str]:
        """The manifest's bytes and digest; a digest ref is checked against them."""
        _, hdrs, body = self.request("GET", f"/v2/{repo}/manifests/{ref}", headers={"Accept": ACCEPT})
        digest = sha256_digest(body)
        if ref.startswith("sha256:") and ref != digest:
            raise Fail(1, f"manifest {ref} has digest {digest}")
        stored = hdrs.get("Docker-Content-Digest")
        if stored and stored != digest:
            raise Fail(1, f"the registry says manifest {ref} is {stored}, its bytes are {digest}")
        return body, digest

    def get_blob(self, repo: str, descriptor: dict) -> bytes:
        digest = descriptor["digest"]
        _, _, data = self.request("GET", f"/v2/{repo}/blobs/{digest}")
        if sha256_digest(data) != digest:
            raise Fail(1, f"blob {digest} has sha256 {sha256_digest(data)}")
        if "size" in descriptor and descriptor["size"] != len(data):
            raise Fail(1, f"blob {digest} is {len(data)} bytes, its descriptor says {descriptor['size']}")
        return data


def registry_of(args) -> Registry:
    return Registry(args.registry, args.user, args.password)


def parse_pairs(pairs: list[str] | None) -> dict:
    out = {}
    for p in pairs or []:
        key, sep, value = p.partition("=")
        if not sep:
            raise Fail(2, f"not key=value: {p}")
        out[key] = value
    return out


# --- keygen ---------------------------------------------------------------------------------------


def cmd_keygen(args) -> int:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.password is None:
        (out / "cosign.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    else:
        # cosign's encrypted key, as go-securesystemslib writes it: scrypt (cosign's N=32768, r=8,
        # p=1) over the password, then NaCl secretbox over the PKCS#8 DER, in a JSON envelope.
        import hashlib
        import nacl.secret

        der = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        salt, nonce = os.urandom(32), os.urandom(24)
        box_key = hashlib.scrypt(args.password.encode(), salt=salt, n=32768, r=8, p=1, maxmem=64 << 20, dklen=32)
        sealed = nacl.secret.SecretBox(box_key).encrypt(der, nonce).ciphertext
        envelope = json.dumps({
            "kdf": {"name": "scrypt", "params": {"N": 32768, "r": 8, "p": 1},
                    "salt": base64.b64encode(salt).decode()},
            "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
            "ciphertext": base64.b64encode(sealed).decode(),
        }, separators=(",", ":")).encode()
        body = base64.b64encode(envelope).decode()
        lines = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
        label = "ENCRYPTED SIGSTORE PRIVATE KEY"
        (out / "cosign.key").write_text(f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----\n")
    (out / "cosign.pub").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    print(json.dumps({"key": str(out / "cosign.key"), "pub": str(out / "cosign.pub")}))
    return 0


# --- push-artifact --------------------------------------------------------------------------------


def cmd_push_artifact(args) -> int:
    reg = registry_of(args)
    config_body = Path(args.config).read_bytes() if args.config else b"{}"
    config = {"mediaType": args.config_media_type, **reg.push_blob(args.repo, config_body)}
    layers = []
    for spec in args.layer:
        parts = spec.split(":", 2)
        if len(parts) < 2:
            raise Fail(2, f"--layer wants PATH:MEDIA_TYPE[:TITLE], got {spec}")
        data = Path(parts[0]).read_bytes()
        layer = {"mediaType": parts[1], **reg.push_blob(args.repo, data)}
        if len(parts) == 3:
            layer["annotations"] = {TITLE_ANNOTATION: parts[2]}
        layers.append(layer)
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST}
    if args.artifact_type:
        manifest["artifactType"] = args.artifact_type
    manifest["config"] = config
    manifest["layers"] = layers
    if args.subject:
        body, digest = reg.get_manifest(args.repo, args.subject)
        subject_type = json.loads(body).get("mediaType", OCI_MANIFEST)
        manifest["subject"] = {"mediaType": subject_type, "digest": digest, "size": len(body)}
    annotations = parse_pairs(args.annotation)
    if annotations:
        manifest["annotations"] = annotations
    digest = reg.push_manifest(args.repo, args.tag, manifest)
    print(json.dumps({"digest": digest, "manifest": manifest}))
    return 0


# --- sign (cosign legacy simple signing) ----------------------------------------------------------


def sig_tag(digest: str) -> str:
    algo, _, hexpart = digest.partition(":")
    if algo != "sha256" or len(hexpart) != 64:
        raise Fail(2, f"not a sha256 digest: {digest}")
    return f"sha256-{hexpart}.sig"


BUNDLE_ANNOTATION = "dev.sigstore.cosign/bundle"


def rekor_bundle(log_key_path: str, signer, payload: bytes, signature_b64: str) -> str:
    """What cosign stores when a signature is logged: the hashedrekord entry
    of the signature and the log's signed entry timestamp over the entry's
    canonical JSON, here from a test log whose private key is LOG_KEY_PATH."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    log = serialization.load_pem_private_key(Path(log_key_path).read_bytes(), password=None)
    signer_pem = signer.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    body = {
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()}},
            "signature": {
                "content": signature_b64,
                "publicKey": {"content": base64.b64encode(signer_pem).decode()},
            },
        },
    }
    log_der = log.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    entry = {
        "body": base64.b64encode(json.dumps(body).encode()).decode(),
        "integratedTime": 1764547200,
        "logID": hashlib.sha256(log_der).hexdigest(),
        "logIndex": 42,
    }
    # RFC 8785 for this record: sorted keys, no whitespace.
    canonical_entry = json.dumps(entry, sort_keys=True, separators=(",", ":")).encode()
    set_sig = log.sign(canonical_entry, ec.ECDSA(hashes.SHA256()))
    return json.dumps({"SignedEntryTimestamp": base64.b64encode(set_sig).decode(), "Payload": entry})


def cmd_sign(args) -> int:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    reg = registry_of(args)
    key = serialization.load_pem_private_key(Path(args.key).read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise Fail(2, f"{args.key} is not an EC private key")
    reference = args.docker_reference or f"{args.registry}/{args.repo}"
    # The field order of cosign's Go structs: critical{identity, image, type}, optional.
    payload = canonical(
        {
            "critical": {
                "identity": {"docker-reference": reference},
                "image": {"docker-manifest-digest": args.payload_digest or args.digest},
                "type": COSIGN_TYPE,
            },
            "optional": None,
        }
    )
    signature = bytearray(key.sign(payload, ec.ECDSA(hashes.SHA256())))
    if args.corrupt:
        # The last byte belongs to the integer s: the DER stays well formed, the math fails.
        signature[-1] ^= 0x01
    signature_b64 = base64.b64encode(bytes(signature)).decode()
    annotations = {SIGNATURE_ANNOTATION: signature_b64}
    if args.rekor_key:
        annotations[BUNDLE_ANNOTATION] = rekor_bundle(args.rekor_key, key, payload, signature_b64)
    layer = {
        "mediaType": SIMPLE_SIGNING,
        **reg.push_blob(args.repo, payload),
        "annotations": annotations,
    }
    tag = sig_tag(args.digest)
    layers = [layer]
    if args.append:
        try:
            body, _ = reg.get_manifest(args.repo, tag)
            layers = json.loads(body)["layers"] + layers
        except NotFound:
            pass
    # cosign's placeholder config: an image config whose rootfs names the payload layers.
    config_body = canonical(
        {
            "architecture": "",
            "created": "0001-01-01T00:00:00Z",
            "history": [{"created": "0001-01-01T00:00:00Z"}],
            "os": "",
            "rootfs": {"type": "layers", "diff_ids": [layer["digest"] for layer in layers]},
            "config": {},
        }
    )
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, **reg.push_blob(args.repo, config_body)},
        "layers": layers,
    }
    print(reg.push_manifest(args.repo, tag, manifest))
    return 0


# --- make-vault-tar -------------------------------------------------------------------------------

EVIL = ["dotdot", "symlink", "absolute", "hardlink", "device"]


def _info(name: str, kind: bytes, size: int = 0, mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = size
    info.mode = mode
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _evil_entries(kind: str) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    """The hostile entries of each kind, each one an extractor must refuse."""
    text = b"written by a hostile vault tarball\n"
    if kind == "dotdot":
        return [(_info("src-vault/../../evil-dotdot.txt", tarfile.REGTYPE, len(text)), text)]
    if kind == "absolute":
        return [(_info("/tmp/ontoref-evil-absolute.txt", tarfile.REGTYPE, len(text)), text)]
    if kind == "symlink":
        # The classic two steps: a link out of the tree, then a file through it.
        link = _info("src-vault/evil-link", tarfile.SYMTYPE, mode=0o777)
        link.linkname = "../../.."
        return [(link, None), (_info("src-vault/evil-link/evil-symlink.txt", tarfile.REGTYPE, len(text)), text)]
    if kind == "hardlink":
        link = _info("src-vault/evil-hardlink", tarfile.LNKTYPE)
        link.linkname = "/etc/passwd"
        return [(link, None)]
    if kind == "device":
        dev = _info("src-vault/evil-device", tarfile.CHRTYPE, mode=0o666)
        dev.devmajor, dev.devminor = 1, 3  # /dev/null's numbers
        return [(dev, None)]
    raise Fail(2, f"unknown --evil {kind}")


def cmd_make_vault_tar(args) -> int:
    src = Path(args.src)
    entries: list[tuple[tarfile.TarInfo, bytes | None]] = []
    access = src / "access.sops.yaml"
    if access.is_file():
        data = access.read_bytes()
        entries.append((_info("access.sops.yaml", tarfile.REGTYPE, len(data)), data))
    vault = src / "src-vault"
    if vault.is_dir():
        entries.append((_info("src-vault", tarfile.DIRTYPE, mode=0o755), None))
        for path in sorted(vault.rglob("*")):
            name = path.relative_to(src).as_posix()
            if path.is_symlink():
                raise Fail(2, f"{path} is a symlink; use --evil symlink for hostile links")
            if path.is_dir():
                entries.append((_info(name, tarfile.DIRTYPE, mode=0o755), None))
            elif path.is_file():
                data = path.read_bytes()
                entries.append((_info(name, tarfile.REGTYPE, len(data)), data))
    if not entries:
        raise Fail(2, f"{src} has neither access.sops.yaml nor src-vault/")
    evil = _evil_entries(args.evil) if args.evil else []
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in entries + evil:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    # mtime 0 and no file name in the gzip header: the same tree makes the same bytes.
    Path(args.out).write_bytes(gzip.compress(raw.getvalue(), mtime=0))
    print(
        json.dumps(
            {
                "out": args.out,
                "entries": [i.name for i, _ in entries + evil],
                "evil": [{"name": i.name, "type": i.type.decode(), "linkname": i.linkname} for i, _ in evil],
            }
        )
    )
    return 0


# --- pull-artifact, verify, get-tag ---------------------------------------------------------------


def safe_title(title: str | None) -> str | None:
    if not title or "/" in title or "\\" in title or title in (".", "..") or "\0" in title:
        return None
    return title


def cmd_pull_artifact(args) -> int:
    reg = registry_of(args)
    body, digest = reg.get_manifest(args.repo, args.ref)
    manifest = json.loads(body)
    if manifest.get("mediaType") not in (OCI_MANIFEST, DOCKER_MANIFEST, None):
        raise Fail(1, f"{args.ref} is a {manifest.get('mediaType')}, not an image manifest")
    reg.get_blob(args.repo, manifest["config"])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    layers = []
    for layer in manifest.get("layers", []):
        data = reg.get_blob(args.repo, layer)
        title = (layer.get("annotations") or {}).get(TITLE_ANNOTATION)
        name = safe_title(title) or layer["digest"].replace(":", "-")
        (out / name).write_bytes(data)
        layers.append(
            {"mediaType": layer["mediaType"], "digest": layer["digest"], "size": len(data), "title": title}
        )
    print(json.dumps({"digest": digest, "artifactType": manifest.get("artifactType"), "layers": layers}))
    return 0


def cmd_verify(args) -> int:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    reg = registry_of(args)
    public = serialization.load_pem_public_key(Path(args.pub).read_bytes())
    if not isinstance(public, ec.EllipticCurvePublicKey) or public.curve.name != "secp256r1":
        raise Fail(2, f"{args.pub} is not a P-256 public key")
    _, digest = reg.get_manifest(args.repo, args.ref)
    tag = sig_tag(digest)
    try:
        body, sig_digest = reg.get_manifest(args.repo, tag)
    except NotFound:
        raise Fail(1, f"no signature: {args.repo}:{tag} does not exist") from None
    reasons = []
    valid = 0
    for i, layer in enumerate(json.loads(body).get("layers", [])):
        if layer.get("mediaType") != SIMPLE_SIGNING:
            reasons.append(f"layer {i}: media type {layer.get('mediaType')}")
            continue
        payload = reg.get_blob(args.repo, layer)
        encoded = (layer.get("annotations") or {}).get(SIGNATURE_ANNOTATION)
        if not encoded:
            reasons.append(f"layer {i}: no {SIGNATURE_ANNOTATION} annotation")
            continue
        try:
            public.verify(base64.b64decode(encoded, validate=True), payload, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError) as e:
            reasons.append(f"layer {i}: the signature does not verify ({type(e).__name__})")
            continue
        critical = json.loads(payload).get("critical") or {}
        if critical.get("type") != COSIGN_TYPE:
            reasons.append(f"layer {i}: payload type {critical.get('type')!r}")
            continue
        named = (critical.get("image") or {}).get("docker-manifest-digest")
        if named != digest:
            reasons.append(f"layer {i}: the payload names {named}, not {digest}")
            continue
        valid += 1
    if not valid:
        raise Fail(1, f"no valid signature for {args.repo}@{digest}: " + "; ".join(reasons or ["no layers"]))
    print(json.dumps({"digest": digest, "signature": sig_digest, "valid": valid}))
    return 0


def cmd_get_tag(args) -> int:
    body, _ = registry_of(args).get_manifest(args.repo, args.tag)
    sys.stdout.buffer.write(body)
    sys.stdout.flush()
    return 0


# --- command line ---------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="oci.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def with_registry(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--registry", required=True, help="HOST:PORT, plain HTTP")
        p.add_argument("--user")
        p.add_argument("--password")
        p.add_argument("--repo", required=True)
        return p

    p = sub.add_parser("keygen", help="a P-256 cosign key pair")
    p.add_argument("--out", required=True)
    p.add_argument("--password", help="write cosign.key as cosign's ENCRYPTED SIGSTORE PRIVATE KEY")
    p.set_defaults(run=cmd_keygen)

    p = with_registry("push-artifact", "push blobs and an OCI image manifest")
    p.add_argument("--tag", required=True)
    p.add_argument("--artifact-type")
    p.add_argument("--config-media-type", default=OCI_EMPTY)
    p.add_argument("--config", help="the config blob's file (default: the two bytes {})")
    p.add_argument("--layer", action="append", default=[], metavar="PATH:MEDIA_TYPE[:TITLE]")
    p.add_argument("--annotation", action="append", metavar="KEY=VALUE")
    p.add_argument("--subject", metavar="TAG_OR_DIGEST", help="a manifest in the same repo")
    p.set_defaults(run=cmd_push_artifact)

    p = with_registry("sign", "a cosign simple-signing signature at sha256-<hex>.sig")
    p.add_argument("--digest", required=True, help="the manifest digest the signature is for")
    p.add_argument("--key", required=True)
    p.add_argument("--docker-reference", help="default: REGISTRY/REPO")
    p.add_argument("--payload-digest", help="the digest the payload names (default: --digest)")
    p.add_argument("--corrupt", action="store_true", help="flip a bit of the signature")
    p.add_argument("--append", action="store_true", help="add to an existing .sig manifest")
    p.add_argument("--rekor-key", help="log the signature: a test log's private key (PEM) signs its entry")
    p.set_defaults(run=cmd_sign)

    p = sub.add_parser("make-vault-tar", help="a vault layer tarball (gzip)")
    p.add_argument("--src", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--evil", choices=EVIL)
    p.set_defaults(run=cmd_make_vault_tar)

    p = with_registry("pull-artifact", "download and check a manifest and its layers")
    p.add_argument("--ref", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(run=cmd_pull_artifact)

    p = with_registry("verify", "check a cosign simple-signing signature")
    p.add_argument("--ref", required=True)
    p.add_argument("--pub", required=True)
    p.set_defaults(run=cmd_verify)

    p = with_registry("get-tag", "a tag's manifest, as stored")
    p.add_argument("--tag", required=True)
    p.set_defaults(run=cmd_get_tag)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except Fail as e:
        print(f"oci.py {args.command}: {e}", file=sys.stderr)
        return e.code
    except ImportError as e:
        print(
            f"oci.py {args.command}: {e}: run it with the test venv (target/pyenv, made by "
            "scripts/test.sh from tests/python/requirements.txt)",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
