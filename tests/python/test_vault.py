"""`ontoref_credential_fetch` called by the official MCP Python SDK over stdio.

Each test builds the demo vault (`ontoref setup vault-demo`: generated age keys,
sops files encrypted to the template's recipient groups) in a private config home,
then serves the demo project as an allowed actor (agent-bot, role agent) or a
refused one. Runs in `mode="legacy"` and `mode="auto"`.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

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
    return {"home": home, "run": run, "project": project}


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
