#!/usr/bin/env bash
# Fuzzes ontoref's handlers of untrusted input (fuzz/fuzz_targets/, see DEVELOPERS.md) for a
# bounded time each and fails on any crash. Run by scripts/test.sh, hence by CI.
#
#   scripts/fuzz.sh                         every target, FUZZ_SECONDS (default 30) each
#   scripts/fuzz.sh import_scanner          the targets named
#   FUZZ_SECONDS=600 scripts/fuzz.sh sops_parse_decrypt
#
# Installs cargo-fuzz (pinned) when missing and uses the nightly toolchain. Builds every target
# once (`-O --sanitizer none`: no AddressSanitizer, which the safe Rust under test hardly needs
# and which slows the build and every execution; debug assertions and overflow checks come from
# fuzz/Cargo.toml's release profile, so a failed assertion still aborts), then runs each target
# on a scratch corpus, target/fuzz-corpus/<target>, seeded from the committed
# fuzz/corpus/<target> (which never grows), with fuzz/dicts/<target>.dict when there is one.
# Crash inputs go to target/fuzz-artifacts/<target>/. Prints each target's executions
# (libFuzzer's "Done N runs in S second(s)") and a summary table.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

cargo_fuzz_version=0.13.2
seconds=${FUZZ_SECONDS:-30}
# One libFuzzer process at a time, each allowed this much resident memory.
rss_limit_mb=2048

# Longest input libFuzzer generates, per target: large enough for the structure each parser
# sees (a SOPS file with a few values, a session of JSON-RPC lines, a Nickel file), small
# enough to keep executions fast.
max_len() {
    case $1 in
    sops_parse_decrypt) echo 16384 ;;
    stdio_framing) echo 16384 ;;
    cursor_decode) echo 512 ;;
    target_glob) echo 2048 ;;
    token_file) echo 4096 ;;
    import_scanner) echo 8192 ;;
    loader_prechecks) echo 4096 ;;
    *) echo 4096 ;;
    esac
}

step() { printf '\n== %s\n' "$*"; }

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    step "rustup toolchain install nightly"
    rustup toolchain install nightly --profile minimal
fi
if [[ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $cargo_fuzz_version" ]]; then
    step "cargo install cargo-fuzz $cargo_fuzz_version"
    cargo install cargo-fuzz --locked --version "$cargo_fuzz_version"
fi

build_flags=(-O --sanitizer none)
host=$(rustc +nightly -vV | sed -n 's/^host: //p')
bin_dir=$root/fuzz/target/$host/release

if (($#)); then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

step "cargo fuzz build ${build_flags[*]} (${targets[*]})"
build_start=$(date +%s)
if (($#)); then
    for t in "${targets[@]}"; do cargo +nightly fuzz build "${build_flags[@]}" "$t"; done
else
    cargo +nightly fuzz build "${build_flags[@]}"
fi
build_seconds=$(($(date +%s) - build_start))
echo "built in ${build_seconds} s"

scratch=$root/target/fuzz-corpus
artifacts=$root/target/fuzz-artifacts
logs=$root/target/fuzz-logs
# The loader target's temporary project goes here, removed at the end.
export TMPDIR=$root/target/fuzz-tmp
mkdir -p "$scratch" "$artifacts" "$logs" "$TMPDIR"

declare -A runs status
failed=()
for t in "${targets[@]}"; do
    step "fuzz $t for ${seconds} s"
    rm -rf "${scratch:?}/$t" "${artifacts:?}/$t"
    mkdir -p "$scratch/$t" "$artifacts/$t"
    log=$logs/$t.log
    dict=()
    [[ -f fuzz/dicts/$t.dict ]] && dict=(-dict="$root/fuzz/dicts/$t.dict")
    # Real data from public repositories stays in ../shared/fixtures; it seeds from there.
    shared=()
    [[ $t == sops_parse_decrypt ]] && shared=("$root/../shared/fixtures/sops")
    set +e
    "$bin_dir/$t" "${dict[@]}" \
        -max_total_time="$seconds" \
        -rss_limit_mb="$rss_limit_mb" \
        -max_len="$(max_len "$t")" \
        -timeout=10 \
        -print_final_stats=1 \
        -artifact_prefix="$artifacts/$t/" \
        "$scratch/$t" "$root/fuzz/corpus/$t" "${shared[@]}" >"$log" 2>&1
    code=$?
    set -e
    done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -n 1 || true)
    n=$(sed -nE 's/^Done ([0-9]+) runs.*/\1/p' <<<"$done_line")
    if [[ -z $n ]]; then
        n=$(sed -nE 's/^stat::number_of_executed_units: ([0-9]+)$/\1/p' "$log" | tail -n 1)
    fi
    runs[$t]=${n:-?}
    if ((code == 0)); then
        status[$t]=ok
        echo "${done_line:-no final line}"
        grep -E '^#[0-9]+.*(DONE|pulse)' "$log" | tail -n 1 || true
    else
        status[$t]="FAILED (exit $code)"
        failed+=("$t")
        echo "$t failed (exit $code); the end of $log:"
        tail -n 60 "$log"
        for a in "$artifacts/$t"/*; do
            [[ -e $a ]] || continue
            echo "crash input: $a"
            echo "reproduce:   $bin_dir/$t $a"
        done
    fi
done
rm -rf "$TMPDIR"

step "fuzz summary (${seconds} s per target, build ${build_seconds} s)"
printf '%-20s %14s  %s\n' target executions result
for t in "${targets[@]}"; do
    printf '%-20s %14s  %s\n' "$t" "${runs[$t]}" "${status[$t]}"
done
if ((${#failed[@]})); then
    echo "fuzzing found crashes in: ${failed[*]} (inputs under $artifacts)"
    exit 1
fi
