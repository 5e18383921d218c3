"""`ontoref_artifact_pull` called by the official MCP Python SDK over stdio, against a
private Debian `docker-registry` on loopback that wants the demo agent's registry
credential (htpasswd, bcrypt). Artifacts and cosign signatures are pushed by the
independent writer `tests/support/oci.py`.

The agent pulls a signed domain artifact in its scope and gets verified files on disk; a
target outside its scope is refused before any request reaches the registry (its access
log proves it); a badly signed one is refused; and the server, logging at trace level,
never writes the registry credential to any stream.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mcp import Client
from mcp.client.stdio import stdio_client

from conftest import READ_TIMEOUT_SECONDS
from test_mcp_sdk import call_err, call_ok
from test_vault import agent_credential, build_demo, env_for

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[2]
OCI = REPO / "tests" / "support" / "oci.py"
DOMAIN = "application/vnd.ontoref.domain.v1"


class Registry:
    """A private `docker-registry serve` with htpasswd auth; stopped by `stop()`."""

    def __init__(self, root: Path, user: str, password: str) -> None:
        root.mkdir()
        htpasswd = root / "htpasswd"
        subprocess.run(["htpasswd", "-B", "-b", "-c", str(htpasswd), user, password],
                       check=True, capture_output=True)
        config = root / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: info\n  formatter: text\n"
            f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n  delete:\n    enabled: true\n"
            "http:\n  addr: 127.0.0.1:0\n  secret: ontoref-test\n"
            f"auth:\n  htpasswd:\n    realm: test\n    path: {htpasswd}\n"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        self.proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)
        self.access: list[str] = []
        lines: queue.Queue[str] = queue.Queue()

        def pump(stream, sink) -> None:
            for line in stream:
                sink(line)

        threading.Thread(target=pump, args=(self.proc.stdout, self.access.append), daemon=True).start()
        threading.Thread(target=pump, args=(self.proc.stderr, lines.put), daemon=True).start()
        deadline = time.monotonic() + 10
        self.endpoint = ""
        while time.monotonic() < deadline and not self.endpoint:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if "listening on " in line:
                self.endpoint = line.split("listening on ", 1)[1].split('"')[0].strip()
        assert self.endpoint, "docker-registry did not start (is the Debian package installed? scripts/test.sh installs it)"
        self.user, self.password = user, password

    def requests(self) -> list[str]:
        """The access log's request lines, after a marker request has been logged."""
        marker = f"/v2/?marker={time.monotonic_ns()}"
        try:
            import urllib.request
            urllib.request.urlopen(f"http://{self.endpoint}{marker}", timeout=5)
        except Exception:
            pass  # 401 is expected; the line is logged either way
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(marker in a for a in self.access):
            time.sleep(0.02)
        return [a for a in self.access if "marker=" not in a]

    def oci(self, *args: str) -> dict:
        out = subprocess.run([sys.executable, str(OCI), args[0], "--registry", self.endpoint,
                              "--user", self.user, "--password", self.password, *args[1:]],
                             capture_output=True, text=True, check=False)
        assert out.returncode == 0, out.stdout + out.stderr
        text = out.stdout.strip()
        return json.loads(text) if text.startswith("{") else {"out": text}

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def world(ontoref_bin: Path, tmp_path: Path, cache_dir: Path):
    demo = build_demo(ontoref_bin, tmp_path, cache_dir)
    credential = agent_credential(ontoref_bin, demo)
    registry = Registry(tmp_path / "registry", credential["username"], credential["password"])
    try:
        manifest = demo["project"] / ".ontology" / "manifest.ncl"
        text = manifest.read_text()
        assert "registry.acme.internal:5000" in text
        manifest.write_text(text.replace("registry.acme.internal:5000", registry.endpoint))
        keys = tmp_path / "keys"
        subprocess.run([sys.executable, str(OCI), "keygen", "--out", str(keys)], check=True, capture_output=True)
        (demo["home"] / "config.ncl").write_text(
            f'{{ vault = {{ cosign = {{ pub_path = "{keys / "cosign.pub"}" }} }} }}\n')
        yield {**demo, "registry": registry, "keys": keys, "credential": credential, "tmp": tmp_path}
    finally:
        registry.stop()


def push_domain(world, tag: str, content: str) -> str:
    layer = world["tmp"] / f"contract-{tag}.ncl"
    layer.write_text(content)
    pushed = world["registry"].oci("push-artifact", "--repo", "domains/agent-first/access", "--tag", tag,
                                   "--artifact-type", DOMAIN, "--layer", f"{layer}:text/plain:contract.ncl")
    return pushed["digest"]


async def test_the_agent_pulls_verified_files_and_never_sees_the_credential(server_params, world) -> None:
    registry = world["registry"]
    good = push_domain(world, "1.0.0", "{ Access = { host | String } }\n")
    registry.oci("sign", "--repo", "domains/agent-first/access", "--digest", good,
                 "--key", str(world["keys"] / "cosign.key"))
    bad = push_domain(world, "1.0.1", "{ Access = { port | Number } }\n")
    registry.oci("sign", "--repo", "domains/agent-first/access", "--digest", bad,
                 "--key", str(world["keys"] / "cosign.key"), "--corrupt")

    params = server_params("--log-level", "trace", project=world["project"], env=env_for(world, "agent-bot"))
    log = world["tmp"] / "server.log"
    results = []
    with log.open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog), mode="auto",
                          read_timeout_seconds=READ_TIMEOUT_SECONDS) as client:
            got = await call_ok(client, "ontoref_artifact_pull", {"target": "domains/agent-first/access:1.0.0"})
            results.append(got)
            assert got["digest"] == good and got["media_type"] == DOMAIN, got
            assert got["signed_by"].startswith("sha256:")
            [file] = got["files"]
            path = world["project"] / file["path"]
            assert path.read_text() == "{ Access = { host | String } }\n"
            assert file["path"].startswith(f".ontoref/cache/oci/sha256-{good.removeprefix('sha256:')}/")

            before = registry.requests()
            err = await call_err(client, "ontoref_artifact_pull", {"target": "domains/other-team/x:1"},
                                 "target-not-in-scope")
            results.append(err)
            assert registry.requests() == before, "a refused target reached the registry"

            err = await call_err(client, "ontoref_artifact_pull", {"target": "domains/agent-first/access:1.0.1"},
                                 "signature-invalid")
            results.append(err)
            assert not (world["project"] / ".ontoref" / "cache" / "oci" / f"sha256-{bad.removeprefix('sha256:')}").exists()

    logs = log.read_text()
    assert "ontoref_artifact_pull" in logs, "the server logged at trace level"
    shown = logs + json.dumps(results)
    assert world["credential"]["password"] not in shown
    assert world["credential"]["username"] not in shown
