#!/usr/bin/env python3
"""CLI start-up: the median wall time of one-shot commands, for each binary given.

usage: scripts/cli_startup.py [--runs N] BIN [BIN ...]
  e.g. scripts/cli_startup.py /tmp/ontoref-old target/release/ontoref

Each command runs N times (default 60) per binary, interleaved by round so
both binaries see the same machine; each binary has its own evaluation
cache (builds key their entries apart), warmed by one unmeasured run. Run from the repository root.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

COMMANDS = [
    ["--version"],
    ["--project", "agent-first-template", "qa", "show", "what-is-ontoref"],
    ["tools", "-f", "json"],
]


def main() -> None:
    args = sys.argv[1:]
    runs = 60
    if args[:1] == ["--runs"]:
        runs, args = int(args[1]), args[2:]
    if not args:
        sys.exit(__doc__)
    with tempfile.TemporaryDirectory() as tmp:
        envs = {
            b: dict(os.environ, ONTOREF_CACHE_DIR=os.path.join(tmp, f"cache-{n}"))
            for n, b in enumerate(args)
        }
        samples = {(b, i): [] for b in args for i in range(len(COMMANDS))}
        for b in args:
            for cmd in COMMANDS:
                subprocess.run([b] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=envs[b])
        for _ in range(runs):
            for b in args:
                for i, cmd in enumerate(COMMANDS):
                    t = time.perf_counter()
                    subprocess.run([b] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=envs[b])
                    samples[(b, i)].append(time.perf_counter() - t)
    for i, cmd in enumerate(COMMANDS):
        shown = " ".join(cmd)
        cells = "  ".join(f"{statistics.median(samples[(b, i)]) * 1000:7.2f} ms" for b in args)
        print(f"ontoref {shown:<60} {cells}")
    print("binaries: " + ", ".join(args))


if __name__ == "__main__":
    main()
