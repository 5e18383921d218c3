"""`ontoref_credential_fetch` called by the official MCP Python SDK over stdio.

Each test builds the demo vault (`ontoref setup vault-demo`: generated age keys,
sops files encrypted to the template's recipient groups) in a private config home,
then serves the demo project as an allowed actor (agent-bot, role agent) or a
refused one. Runs in `mode="legacy"` and `mode="auto"`. An allowed reveal (the
demo's 'RO agent scope, with `sops.allow_reveal = true`) must hand the SDK the real
credential while the server's debug and trace logs never hold it.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from mcp import Client
from mcp.client.stdio import stdio_client

from conftest import READ_TIMEOUT_SECONDS
from test_mcp_sdk import call_err, call_ok

pytestmark = pytest.mark.anyio

TARGET = "domains/agent-first/contracts:1.0"


@pytest.fixture(params=["legacy", "auto"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def demo(ontoref_bin: Path, tmp_path: Path, cache_dir: Path) -> dict[str, Path]:
    return build_demo(ontoref_bin, tmp_path, cache_dir)


def build_demo(ontoref_bin: Path, tmp_path: Path, cache_dir: Path) -> dict[str, Path]:
    """`ontoref setup vault-demo` in `tmp_path`: the project, its config home and runtime dir."""
    home, run, project = tmp_path / "home", tmp_path / "run", tmp_path / "demo"
    run.mkdir()
    env = {**os.environ, "ONTOREF_CONFIG_HOME": str(home), "ONTOREF_CACHE_DIR": str(cache_dir)}
    out = subprocess.run(
        [str(ontoref_bin), "setup", "vault-demo", "--dir", str(project)],
        capture_output=True, text=True, env=env, check=False,
    )
    assert out.returncode == 0, out.stderr + out.stdout
    report = json.loads(out.stdout)
    assert Path(report["vault_dir"]).is_dir()
    return {"home": home, "run": run, "project": project, "vault": Path(report["vault_dir"])}


def allow_reveal(demo: dict[str, Path]) -> None:
    """Sets `sops.allow_reveal = true` in the demo project (its agent scope is 'RO)."""
    path = demo["project"] / ".ontoref" / "project.ncl"
    text = path.read_text()
    assert "allow_reveal = false" in text, text
    path.write_text(text.replace("allow_reveal = false", "allow_reveal = true"))


def agent_credential(ontoref_bin: Path, demo: dict[str, Path]) -> dict[str, str]:
    """The agent's registry credential, as `ontoref secrets decrypt` prints it."""
    file = demo["vault"] / "src-vault" / "registry" / "agent-readonly.sops.yaml"
    env = {**os.environ, "ONTOREF_CONFIG_HOME": str(demo["home"])}
    out = subprocess.run(
        [str(ontoref_bin), "--project", str(demo["project"]), "secrets", "decrypt", str(file)],
        capture_output=True, text=True, env=env, check=True,
    )
    fields = dict(line.split(": ", 1) for line in out.stdout.splitlines() if ": " in line)
    assert fields.get("username") and fields.get("password"), out.stdout
    return {"username": fields["username"].strip("'\""), "password": fields["password"].strip("'\"")}


def env_for(demo: dict[str, Path], actor: str) -> dict[str, str]:
    return {
        "ONTOREF_ACTOR": actor,
        "ONTOREF_CONFIG_HOME": str(demo["home"]),
        "ONTOREF_RUNTIME_DIR": str(demo["run"]),
    }


async def test_allowed_actor_gets_an_isolated_docker_config(connect, mode: str, demo) -> None:
    async with connect(mode, project=demo["project"], env=env_for(demo, "agent-bot")) as client:
        got = await call_ok(client, "ontoref_credential_fetch", {"target": TARGET})
        assert got["role"] == "agent"
        assert got["registry"] == "registry.acme.internal:5000"
        assert "username" not in got and "password" not in got, got
        config_dir = Path(got["docker_config_dir"])
        assert config_dir.parent == demo["run"]
        assert stat.S_IMODE(config_dir.stat().st_mode) == 0o700
        config = config_dir / "config.json"
        assert stat.S_IMODE(config.stat().st_mode) == 0o600
        auths = json.loads(config.read_text())["auths"]
        assert list(auths) == ["registry.acme.internal:5000"]
        assert auths["registry.acme.internal:5000"]["auth"]
        status = await call_ok(client, "ontoref_secrets_status", {})
        assert status["actor"] == "agent-bot" and status["role"] == "agent", status
    # The server removed its directory when it exited.
    assert not config_dir.exists()


async def test_unbound_actor_is_refused(connect, mode: str, demo) -> None:
    async with connect(mode, project=demo["project"], env=env_for(demo, "mallory")) as client:
        error = await call_err(client, "ontoref_credential_fetch", {"target": TARGET}, "actor-not-bound")
        assert "mallory" in error["message"], error
        assert "agent-bot" in error["hint"], error
    assert list(demo["run"].iterdir()) == []


async def test_bound_actor_is_refused_outside_its_scope(connect, mode: str, demo) -> None:
    async with connect(mode, project=demo["project"], env=env_for(demo, "agent-bot")) as client:
        await call_err(client, "ontoref_credential_fetch", {"target": "modes/other/x:1"}, "target-not-in-scope")
        await call_err(client, "ontoref_credential_fetch", {"target": TARGET, "op": "push"}, "op-not-in-scope")
        await call_err(client, "ontoref_credential_fetch", {"target": TARGET, "reveal": True}, "reveal-not-allowed")
    assert list(demo["run"].iterdir()) == []


@pytest.mark.parametrize("level", ["debug", "trace"])
async def test_an_allowed_reveal_reaches_the_sdk_and_no_log(
    server_params, mode: str, demo, ontoref_bin: Path, tmp_path: Path, level: str
) -> None:
    allow_reveal(demo)
    credential = agent_credential(ontoref_bin, demo)
    params = server_params("--log-level", level, project=demo["project"], env=env_for(demo, "agent-bot"))
    log = tmp_path / "server.log"
    with log.open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog), mode=mode,
                          read_timeout_seconds=READ_TIMEOUT_SECONDS) as client:
            got = await call_ok(client, "ontoref_credential_fetch", {"target": TARGET, "reveal": True})
            assert got["username"] == credential["username"], got
            assert got["password"] == credential["password"], got
    logs = log.read_text()
    assert "ontoref_credential_fetch" in logs and "ontoref-secret:" in logs, "the results were logged, as placeholders"
    assert credential["password"] not in logs
    assert credential["username"] not in logs
