#!/usr/bin/env bash
# Runs every test ontoref has, installing what the tests need first (idempotently), so it passes on
# a fresh machine. This is the README's test command and exactly what CI runs (.ci/run).
#
#   scripts/test.sh            everything: fmt, clippy, build, benchmark smoke runs, Rust and Python
#                              tests, the MCP conformance suite and the Inspector's --strict lint,
#                              then a bounded fuzzing run (scripts/fuzz.sh, FUZZ_SECONDS per target)
#
# Python test dependencies go to a venv under target/ (pinned in tests/python/requirements.txt);
# the Node tools (Node 22, conformance suite, Inspector) to target/node-tools (pinned in
# tests/conformance/package*.json; see scripts/conformance.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
step() { printf '\n== %s\n' "$*"; }

# --- system packages (Debian); only when something is missing ----------------------------------
need_apt=()
command -v script >/dev/null || need_apt+=(bsdutils)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
command -v age-keygen >/dev/null || need_apt+=(age)
command -v strace >/dev/null || need_apt+=(strace)
command -v npm >/dev/null || need_apt+=(nodejs npm)
# The OCI tests: a private registry per test, skopeo as an independent reader, htpasswd -B (bcrypt).
command -v docker-registry >/dev/null || need_apt+=(docker-registry)
command -v skopeo >/dev/null || need_apt+=(skopeo)
command -v htpasswd >/dev/null || need_apt+=(apache2-utils)
if ((${#need_apt[@]})); then
    step "apt-get install ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need_apt[@]}"
fi

# --- Python venv for the MCP SDK tests ----------------------------------------------------------
venv=$root/target/pyenv
req=$root/tests/python/requirements.txt
stamp=$venv/.requirements
if [[ ! -x $venv/bin/python ]] || ! cmp -s "$req" "$stamp"; then
    step "python venv ($venv)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
    cp "$req" "$stamp"
fi

command -v cargo-nextest >/dev/null || { step "cargo install cargo-nextest"; cargo install --locked cargo-nextest; }

export ONTOREF_CACHE_DIR=$root/target/ontoref-test-cache
rm -rf "$ONTOREF_CACHE_DIR"

step "cargo fmt --check"
cargo fmt --all -- --check
(cd fuzz && cargo fmt -- --check)

step "cargo clippy"
cargo clippy --workspace --all-targets --release -- -D warnings

step "cargo build --release"
cargo build --workspace --release --all-targets

step "benchmark smoke run (figures in BENCHMARKS.md come from a full run)"
# In the release profile and over the workspace (the same features as the build above), so the
# benches link the artifacts just built instead of compiling the tree again (cargo keeps the bench
# profile's artifacts apart even with the same settings, and one package alone unifies features
# differently).
cargo bench --workspace --profile release --bench ontoref --bench transport --bench registry --bench ontologies --bench live --bench explain_path --bench peers --bench scaling -- --quick

step "cargo nextest (unit, integration, compile-fail)"
cargo nextest run --workspace --release --no-fail-fast

step "Python MCP SDK tests"
ONTOREF_BIN=$root/target/release/ontoref "$venv/bin/python" -m pytest "$root/tests/python" -q

step "MCP conformance suite and Inspector --strict (scripts/conformance.sh)"
ONTOREF_BIN=$root/target/release/ontoref scripts/conformance.sh

step "fuzzing, a bounded run of every target (scripts/fuzz.sh)"
scripts/fuzz.sh
