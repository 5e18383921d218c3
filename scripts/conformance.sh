#!/usr/bin/env bash
# Checks ontoref's MCP server with the protocol's own tools:
#
#   1. the official MCP conformance suite (npm @modelcontextprotocol/conformance) over Streamable
#      HTTP, for every scenario that needs none of the suite's fixture tools, prompts or resources,
#      at both spec versions ontoref serves (2025-11-25 with sessions, 2026-07-28 stateless).
#      Expected failures are listed in tests/conformance/baseline.yml (each with its reason); any
#      other failure, or a baselined check that now passes, fails the script;
#   2. the MCP Inspector CLI (npm @modelcontextprotocol/inspector) `--method tools/list --strict`
#      over stdio and over HTTP, in the legacy (initialize) and modern (2026-07-28) protocol eras.
#      Any warning (schema-portability finding or otherwise) fails the script.
#
# Usage:
#   scripts/conformance.sh                       uses target/release/ontoref
#   ONTOREF_BIN=/path/to/ontoref scripts/conformance.sh
#
# Needs only node + npm (any version; Node 20 is fine) and the npm registry. The pinned tools,
# including a Node 22 runtime from the `node` npm package (the suite needs Node 22), are in
# tests/conformance/package.json + package-lock.json. They are installed with `npm ci` into
# target/node-tools, and only again when those two files change (stamp file). The server runs with
# the embedded default project and its cache, config and runtime directories under
# target/conformance/, where all output goes too: <spec>/<scenario>/ (the suite's checks.json and
# log per scenario), inspector/ (each Inspector run's stdout and stderr) and server.log.
#
# To bump a tool: edit the pins in tests/conformance/package.json, then in that directory run
# `npm install --package-lock-only`, and classify any new server scenario below.
set -euo pipefail
bin=${ONTOREF_BIN:-}
[[ -z $bin || $bin == /* ]] || bin=$PWD/$bin # relative to where the script was started
cd "$(dirname "$0")/.."
root=$PWD
bin=${bin:-$root/target/release/ontoref}
pins=$root/tests/conformance
baseline=$pins/baseline.yml
tools=$root/target/node-tools
out=$root/target/conformance
spec_versions=(2025-11-25 2026-07-28)

# Server scenarios run: none of them needs a fixture for its main checks. Those of their checks
# that do need a fixture are in the baseline. Each runs at every spec version in spec_versions the
# suite says it applies to (`conformance list --server --spec-version V`).
run_scenarios=(
    server-initialize                         # 2025-11-25: initialize, visible-ASCII session id
    server-session-lifecycle                  # 2025-11-25: Mcp-Session-Id, DELETE, 404 after
    ping                                      # 2025-11-25
    tools-list                                # tool-name format, deterministic order
    server-sse-polling                        # 2025-11-25: SSE priming event and retry field (the
                                              #   resume check wants fixture test_reconnection and
                                              #   is only a WARNING without it)
    server-sse-multiple-streams               # concurrent POST streams
    dns-rebinding-protection                  # 4xx for a foreign Host/Origin
    server-stateless                          # 2026-07-28: _meta, discover, headers, 404s
    caching                                   # 2026-07-28: ttlMs/cacheScope
    http-header-validation                    # 2026-07-28: Mcp-Method/Mcp-Name/version headers
    sep-2164-resource-not-found               # 2026-07-28: -32602 with data.uri, no empty contents
    input-required-result-unsupported-methods # 2026-07-28: no input_required on tools/list
    resources-list                            # every resource has a uri and a name
    prompts-list                              # every prompt has a name and a description
)
# Server scenarios not run, with the reason. A scenario the suite lists that is in neither list
# fails the script, so a new suite version cannot add scenarios silently.
skip_scenarios=(
    # fixture tools (test_simple_text, test_image_content, test_tool_with_progress, ...):
    tools-call-simple-text tools-call-image tools-call-audio tools-call-embedded-resource
    tools-call-mixed-content tools-call-with-logging tools-call-error tools-call-with-progress
    tools-call-sampling tools-call-elicitation
    elicitation-sep1034-defaults elicitation-sep1330-enums
    json-schema-2020-12                       # fixture tool json_schema_2020_12_tool
    http-custom-header-server-validation      # needs a tool with x-mcp-header parameters
    # fixture tools/prompts test_input_required_result_* (MRTR):
    input-required-result-basic-elicitation input-required-result-basic-sampling
    input-required-result-basic-list-roots input-required-result-request-state
    input-required-result-multiple-input-requests input-required-result-multi-round
    input-required-result-missing-input-response input-required-result-non-tool-request
    input-required-result-result-type input-required-result-tampered-state
    input-required-result-capability-check input-required-result-ignore-extra-params
    input-required-result-validate-input
    # fixture resources (test://static-text, ...) and prompts (test_simple_prompt, ...): ontoref
    # serves its own (ontoref://<kind>/{id}; ondaod, adr-draft, run-mode, explain-path), so these
    # would only find the fixtures missing; subscriptions are not offered:
    resources-read-text resources-read-binary resources-templates-read
    resources-subscribe resources-unsubscribe
    prompts-get-simple prompts-get-with-args prompts-get-embedded-resource
    prompts-get-with-image
    completion-complete                       # fixture prompt test_prompt_with_arguments (ontoref
                                              #   completes its own prompts and templates)
    logging-set-level                         # logging capability not declared (deprecated in
                                              #   2026-07-28)
    # extensions ontoref does not implement (skills SEP-2640, tasks):
    sep-2640-skills-directory sep-2640-skills-enumeration sep-2640-skills-manifest
    tasks-lifecycle tasks-capability-negotiation tasks-wire-fields tasks-request-state-removal
    tasks-mrtr-input tasks-request-headers tasks-dispatch-and-envelope tasks-status-notifications
    tasks-required-task-error tasks-mrtr-composition
)

step() { printf '\n== %s\n' "$*"; }
die() {
    printf 'conformance.sh: %s\n' "$*" >&2
    exit 1
}
started=$SECONDS
export NO_COLOR=1

[[ -x $bin ]] || die "no ontoref binary at $bin (build it, or set ONTOREF_BIN)"
command -v npm >/dev/null || die "npm is needed to install the pinned tools"

# --- pinned Node tools (idempotent) -------------------------------------------------------------
stamp=$tools/.installed
want=$(cat "$pins/package.json" "$pins/package-lock.json" | sha256sum | cut -d' ' -f1)
if [[ ! -x $tools/node_modules/.bin/node || ! -f $stamp || $(<"$stamp") != "$want" ]]; then
    step "npm ci into ${tools#"$root"/} (pins: tests/conformance/package.json)"
    rm -rf "$tools"
    mkdir -p "$tools"
    cp "$pins/package.json" "$pins/package-lock.json" "$tools/"
    # npm itself runs on whatever Node is installed; engine warnings about it are expected.
    # node@22's preinstall script fetches the platform's Node binary (allowScripts in package.json).
    (cd "$tools" && npm ci --no-audit --no-fund --engine-strict=false --ignore-scripts=false \
        --loglevel=error)
    echo "$want" >"$stamp"
fi
export PATH=$tools/node_modules/.bin:$PATH
want_node=v$(node -p 'require(process.argv[1]).dependencies.node' "$pins/package.json")
[[ $(node --version) == "$want_node" ]] ||
    die "node on PATH is $(node --version), want $want_node from $tools (delete it and re-run)"
conformance_version=$(conformance --version)
inspector_version=$(node -p 'require(process.argv[1]).version' \
    "$tools/node_modules/@modelcontextprotocol/inspector/package.json")
echo "node $(node --version), conformance $conformance_version, inspector $inspector_version"

# --- scenario lists ------------------------------------------------------------------------------
listed() { conformance list --server "$@" | sed -n 's/^ *- \([^ ]*\).*/\1/p'; }
mapfile -t all_scenarios < <(listed)
((${#all_scenarios[@]})) || die "conformance list --server printed no scenarios"
unclassified=()
for s in "${all_scenarios[@]}"; do
    [[ " ${run_scenarios[*]} ${skip_scenarios[*]} " == *" $s "* ]] || unclassified+=("$s")
done
for s in "${run_scenarios[@]}"; do
    [[ " ${all_scenarios[*]} " == *" $s "* ]] || die "scenario $s is no longer in the suite"
done
((${#unclassified[@]} == 0)) ||
    die "unclassified server scenarios (add each to run_scenarios or skip_scenarios): ${unclassified[*]}"

# --- the server ----------------------------------------------------------------------------------
rm -rf "$out"
mkdir -p "$out"/{cache,config,run,work,home,inspector}
chmod 700 "$out/run"
server_env=(ONTOREF_CACHE_DIR="$out/cache" ONTOREF_CONFIG_HOME="$out/config"
    ONTOREF_RUNTIME_DIR="$out/run")
server_pid=
stop_server() {
    if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=
}
trap stop_server EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "start $bin serve --http 127.0.0.1:0"
: >"$out/server.log"
# From an empty directory without ONTOREF_PROJECT_ROOT, the server serves its embedded project.
(cd "$out/work" &&
    exec env -u ONTOREF_PROJECT_ROOT -u ONTOREF_ACTOR "${server_env[@]}" \
        "$bin" serve --http 127.0.0.1:0 </dev/null 2>"$out/server.log") &
server_pid=$!
url=
for _ in $(seq 300); do
    url=$(sed -n 's|^ontoref: serving MCP over HTTP at \(http://[^ ]*/mcp\).*|\1|p' "$out/server.log" | head -n1)
    [[ -n $url ]] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$out/server.log" >&2; die "the server exited"; }
    sleep 0.1
done
[[ -n $url ]] || { cat "$out/server.log" >&2; die "no 'serving MCP over HTTP' line within 30 s"; }
echo "$url"

# --- conformance suite ---------------------------------------------------------------------------
step "conformance suite (baseline: ${baseline#"$root"/})"
failed=()
for v in "${spec_versions[@]}"; do
    mapfile -t applicable < <(listed --spec-version "$v")
    for s in "${run_scenarios[@]}"; do
        [[ " ${applicable[*]} " == *" $s "* ]] || continue
        dir=$out/$v/$s
        mkdir -p "$dir"
        rc=0
        conformance server --url "$url" --scenario "$s" --spec-version "$v" \
            --expected-failures "$baseline" -o "$dir" >"$dir/run.log" 2>&1 || rc=$?
        # The suite's verdict against the baseline: its last lines, without colour codes.
        verdict=$(sed -e 's/\x1b\[[0-9;]*m//g' "$dir/run.log" |
            sed -n '/^\(Test Results:\|Expected failures\|Stale baseline\|Unexpected failures\)/,$p' |
            grep -v '^$' || true)
        if ((rc == 0)); then
            printf '%-10s %-42s ok\n' "$v" "$s"
        else
            printf '%-10s %-42s FAILED (exit %d)\n%s\n' "$v" "$s" "$rc" "$verdict"
            failed+=("conformance $s @ $v (log: ${dir#"$root"/}/run.log)")
        fi
    done
done

# Summary from every checks.json: counts per scenario, and each failing check, marked "expected"
# when the baseline lists it (or its whole scenario).
step "conformance summary"
node - "$out" "$baseline" "${spec_versions[@]}" <<'EOF'
const fs = require('fs'), path = require('path');
const [out, baselineFile, ...versions] = process.argv.slice(2);
const baseline = new Set(fs.readFileSync(baselineFile, 'utf8').split('\n')
  .map(l => l.replace(/#.*/, '').match(/^\s*-\s*(\S+)\s*$/)).filter(Boolean).map(m => m[1]));
const total = { SUCCESS: 0, FAILURE: 0, WARNING: 0, SKIPPED: 0 };
const failures = [];
let scenarios = 0;
console.log('spec        scenario                                   pass fail warn skip');
for (const v of versions) {
  const vdir = path.join(out, v);
  if (!fs.existsSync(vdir)) continue;
  for (const s of fs.readdirSync(vdir).sort()) {
    const runs = fs.readdirSync(path.join(vdir, s)).filter(d => d.startsWith('server-'));
    const n = { SUCCESS: 0, FAILURE: 0, WARNING: 0, SKIPPED: 0 };
    for (const r of runs) {
      const file = path.join(vdir, s, r, 'checks.json');
      if (!fs.existsSync(file)) continue;
      for (const c of JSON.parse(fs.readFileSync(file, 'utf8'))) {
        if (!(c.status in n)) continue;
        n[c.status]++;
        if (c.status === 'FAILURE' || c.status === 'WARNING') {
          // The suite's baseline logic treats a WARNING like a FAILURE.
          const expected = baseline.has(s) || baseline.has(`${s}:${c.id}`);
          failures.push(`${expected ? 'expected  ' : 'UNEXPECTED'} ${c.status.padEnd(7)} ${v} ` +
            `${s}:${c.id}: ` + (c.errorMessage || c.description || '').split('\n')[0].slice(0, 150));
        }
      }
    }
    scenarios++;
    for (const k in n) total[k] += n[k];
    console.log(`${v}  ${s.padEnd(42)} ${[n.SUCCESS, n.FAILURE, n.WARNING, n.SKIPPED]
      .map(x => String(x).padStart(4)).join(' ')}`);
  }
}
const expected = failures.filter(f => f.startsWith('expected')).length;
console.log(`${scenarios} scenario runs: ${total.SUCCESS} checks passed, ${total.FAILURE} failed, ` +
  `${total.WARNING} warnings, ${total.SKIPPED} skipped; of the failures and warnings, ` +
  `${expected} expected by the baseline, ${failures.length - expected} unexpected`);
for (const f of failures) console.log('  ' + f);
EOF

# --- Inspector CLI: tools/list --strict over stdio and HTTP --------------------------------------
# HOME points into target/ so the Inspector's catalog, storage and OAuth state stay there.
inspect() { # name, then the target arguments
    local name=$1
    shift
    step "inspector tools/list --strict: $name"
    local o=$out/inspector/$name
    local rc=0
    HOME=$out/home MCP_CATALOG_PATH=$out/home/catalog.json \
        inspector --cli --method tools/list --strict --connect-timeout 30000 "$@" \
        >"$o.out" 2>"$o.err" || rc=$?
    local tools
    tools=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).tools.length' \
        "$o.out" 2>/dev/null || echo '?')
    if ((rc != 0)); then
        cat "$o.err"
        failed+=("inspector $name: exit $rc (${o#"$root"/}.err)")
    elif grep -qi 'warn' "$o.err"; then
        # The finding and its schema path; the whole report is in the .err file.
        grep -iE -A1 'warn' "$o.err" | grep -v '^--$'
        failed+=("inspector $name: $(grep -ci 'warn' "$o.err") line(s) with a warning (${o#"$root"/}.err)")
    elif [[ $tools == '?' || $tools == 0 ]]; then
        failed+=("inspector $name: no tools in ${o#"$root"/}.out")
    else
        echo "ok: $tools tools, no warnings"
    fi
}
stdio_target=(--cwd "$out/work" -e "ONTOREF_CACHE_DIR=$out/cache" -e "ONTOREF_CONFIG_HOME=$out/config"
    -e "ONTOREF_RUNTIME_DIR=$out/run" -- "$bin" serve --stdio)
for era in legacy modern; do
    inspect "stdio-$era" --protocol-era "$era" "${stdio_target[@]}"
    inspect "http-$era" --protocol-era "$era" --stored-auth-only "$url" --transport http
done

stop_server

# --- result --------------------------------------------------------------------------------------
step "result ($((SECONDS - started)) s; output in ${out#"$root"/}/)"
if ((${#failed[@]})); then
    printf 'FAILED: %s\n' "${failed[@]}"
    exit 1
fi
echo "all conformance scenarios as expected; Inspector --strict clean over stdio and HTTP"
