#!/usr/bin/env python3
"""Builds MIF ontology release tarballs for ontoref's vendoring tests, the
way the corpus's release workflow does (`git archive --prefix=NAME-VERSION/`
of a tree holding `ontologies/index.json` and the `*.ontology.yaml` files),
and hostile or tampered variants of them, without sharing code with the
Rust implementation under test. Standard library only.

  pack --corpus DIR --out FILE [--top NAME] [--ids a,b,...]
       [--bump ID:VERSION]... [--edit ID]... [--stale-index] [--tamper-index ID:VERSION]
       [--evil traversal|absolute|symlink|hardlink|two-tops|fifo]
       [--tree-out DIR]

--ids keeps only those files (the index is cut to them); --bump sets an
ontology's version in its YAML; --edit appends a comment line to its file.
The index follows every change (sha256 over the raw bytes, `jq -S` layout),
unless --stale-index leaves it as it was (a tampered release);
--tamper-index ID:VERSION edits the index alone. --evil adds
one hostile entry. --tree-out also writes the tree unpacked (a directory
source). Prints {"out", "index_sha256", "sha256"}.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import sys
import tarfile


def sha256(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def render(index: dict) -> bytes:
    # `jq -S .`: keys sorted at every depth, two-space indent, then "\n".
    return (json.dumps(index, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("pack")
    k.add_argument("--corpus", required=True)
    k.add_argument("--out", required=True)
    k.add_argument("--top", default="ontologies-0.4.0")
    k.add_argument("--ids")
    k.add_argument("--bump", action="append", default=[])
    k.add_argument("--edit", action="append", default=[])
    k.add_argument("--stale-index", action="store_true")
    k.add_argument("--tamper-index", metavar="ID:VERSION")
    k.add_argument("--evil", choices=["traversal", "absolute", "symlink", "hardlink", "two-tops", "fifo"])
    k.add_argument("--tree-out")
    a = p.parse_args()

    with open(os.path.join(a.corpus, "index.json"), "rb") as f:
        index_bytes = f.read()
    index = json.loads(index_bytes)
    keep = a.ids.split(",") if a.ids else list(index["ontologies"])
    index["ontologies"] = {i: e for i, e in index["ontologies"].items() if i in keep}
    files = {}
    for i, e in index["ontologies"].items():
        with open(os.path.join(a.corpus, e["file"]), "rb") as f:
            files[i] = f.read()
    for spec in a.bump:
        i, version = spec.split(":", 1)
        text = files[i].decode()
        # The first `version:` under `ontology:` (two-space indented).
        text, n = re.subn(r'(?m)^(  version: )"?[^"\n]*"?$', rf'\g<1>"{version}"', text, count=1)
        assert n == 1, f"no version line in {i}"
        files[i] = text.encode()
        index["ontologies"][i]["version"] = version
    for i in a.edit:
        files[i] = files[i] + b"# edited by the test\n"
    if not a.stale_index:
        for i, b in files.items():
            index["ontologies"][i]["sha256"] = sha256(b)
        index_out = render(index) if (a.ids or a.bump or a.edit) else index_bytes
    else:
        index_out = index_bytes if not a.ids else render(index)

    if a.tamper_index:
        # The index alone says another version than the file does.
        i, version = a.tamper_index.split(":", 1)
        tampered = json.loads(index_out)
        tampered["ontologies"][i]["version"] = version
        index_out = render(tampered)

    members: list[tuple[tarfile.TarInfo, bytes | None]] = []

    def add_dir(name: str) -> None:
        t = tarfile.TarInfo(name)
        t.type = tarfile.DIRTYPE
        t.mode = 0o755
        members.append((t, None))

    def add_file(name: str, data: bytes) -> None:
        t = tarfile.TarInfo(name)
        t.size = len(data)
        t.mode = 0o644
        members.append((t, data))

    top = a.top
    add_dir(f"{top}/")
    add_dir(f"{top}/ontologies/")
    add_file(f"{top}/ontologies/index.json", index_out)
    for i, e in sorted(index["ontologies"].items()):
        add_file(f"{top}/ontologies/{e['file']}", files[i])
    add_file(f"{top}/README.md", b"# ontologies\n")
    if a.evil == "traversal":
        add_file(f"{top}/../escaped.txt", b"outside\n")
    elif a.evil == "absolute":
        add_file("/tmp/ontoref-absolute-escape.txt", b"outside\n")
    elif a.evil in ("symlink", "hardlink"):
        t = tarfile.TarInfo(f"{top}/ontologies/link.ontology.yaml")
        t.type = tarfile.SYMTYPE if a.evil == "symlink" else tarfile.LNKTYPE
        t.linkname = "/etc/passwd" if a.evil == "symlink" else f"{top}/README.md"
        members.append((t, None))
    elif a.evil == "two-tops":
        add_file("other-top/file.txt", b"second top\n")
    elif a.evil == "fifo":
        t = tarfile.TarInfo(f"{top}/fifo")
        t.type = tarfile.FIFOTYPE
        members.append((t, None))

    buf = io.BytesIO()
    # A fixed mtime, so the same tree gives the same bytes.
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            info.mtime = 1700000000
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    out = buf.getvalue()
    with open(a.out, "wb") as f:
        f.write(out)
    if a.tree_out:
        os.makedirs(a.tree_out, exist_ok=True)
        with open(os.path.join(a.tree_out, "index.json"), "wb") as f:
            f.write(index_out)
        for i, e in index["ontologies"].items():
            with open(os.path.join(a.tree_out, e["file"]), "wb") as f:
                f.write(files[i])
    print(json.dumps({"out": a.out, "index_sha256": sha256(index_out), "sha256": sha256(out)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
