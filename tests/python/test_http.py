"""`ontoref serve --http` driven by the official MCP Python SDK (mcp 2.3.0).

Streamable HTTP at /mcp in `mode="legacy"` (initialize, Mcp-Session-Id, 2025-11-25) and
`mode="auto"` (stateless 2026-07-28), and the legacy HTTP+SSE transport at /sse
(`mcp.client.sse`). Without a token file the server offers read-only tools only, and never
the vault toolset; with one, every request carries a bearer token and acts as its actor.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from conftest import READ_TIMEOUT_SECONDS
from test_mcp_sdk import EXPECTED_VERSION, QA_TOOLS, call_err, call_ok, catalog
from test_vault import agent_credential, allow_reveal, build_demo

pytestmark = pytest.mark.anyio



def vault_tools(ontoref_bin: Path) -> set[str]:
    """The vault toolset's tools (served over HTTP only with a token file), from the catalog."""
    tools = catalog(ontoref_bin, "--toolsets", "vault")
    assert "ontoref_credential_fetch" in tools, tools
    return tools


@pytest.fixture(params=["legacy", "auto"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@contextmanager
def serve_http(ontoref_bin: Path, project: Path, cache_dir: Path, *flags: str, env: dict[str, str] | None = None,
               logs: list[str] | None = None) -> Iterator[str]:
    """Runs `ontoref serve --http 127.0.0.1:0` and yields its /mcp URL; its stderr goes on into `logs`."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ONTOREF_")}
    full_env["ONTOREF_CACHE_DIR"] = str(cache_dir)
    full_env.update(env or {})
    proc = subprocess.Popen(
        [str(ontoref_bin), "serve", "--http", "127.0.0.1:0", "--project", str(project), *flags],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=full_env,
    )
    drain: threading.Thread | None = None
    try:
        assert proc.stderr is not None
        url = None
        for line in proc.stderr:
            if "serving MCP over HTTP at " in line:
                url = line.split("serving MCP over HTTP at ", 1)[1].strip()
                break
        assert url, "the server did not announce its address"
        # Keep reading stderr, or a chatty server blocks on a full pipe.
        sink = logs if logs is not None else []
        drain = threading.Thread(target=lambda: sink.extend(proc.stderr or ()), daemon=True)
        drain.start()
        yield url
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0
        if drain is not None:
            drain.join(timeout=5)


@pytest.fixture
def http_url(ontoref_bin: Path, fixture_project: Path, cache_dir: Path) -> Iterator[str]:
    with serve_http(ontoref_bin, fixture_project, cache_dir) as url:
        yield url


def sse_url(mcp_url: str) -> str:
    return mcp_url.removesuffix("/mcp") + "/sse"


async def test_tools_list_and_calls_over_streamable_http(http_url: str, ontoref_bin: Path, mode: str) -> None:
    async with Client(http_url, mode=mode, read_timeout_seconds=READ_TIMEOUT_SECONDS) as client:
        assert client.protocol_version == EXPECTED_VERSION[mode]
        listing = await client.list_tools()
        names = {tool.name for tool in listing.tools}
        assert QA_TOOLS <= names
        # Without a token file: the read-only tools of toolsets that need no caller (no vault, no writes).
        assert names == catalog(ontoref_bin, "--read-only") - vault_tools(ontoref_bin), names
        assert all(tool.annotations and tool.annotations.read_only_hint for tool in listing.tools)
        entry = await call_ok(client, "ontoref_qa_show", {"id": "deploy-staging"})
        assert entry["entry"]["id"] == "deploy-staging"
        hits = await call_ok(client, "ontoref_qa_search", {"query": "roll back"})
        assert hits["results"][0]["id"] == "rollback-policy"
        await call_err(client, "ontoref_qa_show", {"id": "deploy-stagin"}, "qa-not-found")


async def test_tools_list_and_calls_over_legacy_sse(http_url: str, ontoref_bin: Path, mode: str) -> None:
    async with Client(sse_client(sse_url(http_url)), mode=mode, read_timeout_seconds=READ_TIMEOUT_SECONDS) as client:
        assert client.protocol_version == EXPECTED_VERSION[mode]
        listing = await client.list_tools()
        names = {tool.name for tool in listing.tools}
        # Without a token file: the read-only tools of toolsets that need no caller (no vault, no writes).
        assert names == catalog(ontoref_bin, "--read-only") - vault_tools(ontoref_bin), names
        entry = await call_ok(client, "ontoref_qa_show", {"id": "deploy-staging"})
        assert entry["entry"]["id"] == "deploy-staging"
        hits = await call_ok(client, "ontoref_qa_search", {"query": "roll back"})
        assert hits["results"][0]["id"] == "rollback-policy"
        page = await call_ok(client, "ontoref_qa_list", {"limit": 1})
        assert len(page["entries"]) == 1 and page["next_cursor"]
        await call_err(client, "ontoref_qa_show", {"id": "deploy-stagin"}, "qa-not-found")


TOKENS = {"agent-bot": "tok-agent-py-1c9e", "mallory": "tok-mallory-py-77a0"}
TARGET = "domains/agent-first/contracts:1.0"


@pytest.fixture
def vault_http(ontoref_bin: Path, tmp_path: Path, cache_dir: Path) -> Iterator[str]:
    """The demo vault served over HTTP with a token file; the server's own actor is admin-root."""
    demo = build_demo(ontoref_bin, tmp_path, cache_dir)
    tokens = tmp_path / "tokens"
    tokens.write_text("".join(f"{actor} {hashlib.sha256(tok.encode()).hexdigest()}\n" for actor, tok in TOKENS.items()))
    env = {"ONTOREF_ACTOR": "admin-root", "ONTOREF_CONFIG_HOME": str(demo["home"]), "ONTOREF_RUNTIME_DIR": str(demo["run"])}
    with serve_http(ontoref_bin, demo["project"], cache_dir, "--token-file", str(tokens), env=env) as url:
        yield url


def bearer(actor: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[actor]}"}


async def test_token_actor_reaches_the_gate_over_streamable_http(vault_http: str, mode: str, ontoref_bin: Path) -> None:
    for actor, allowed in (("agent-bot", True), ("mallory", False)):
        async with httpx2.AsyncClient(headers=bearer(actor), timeout=READ_TIMEOUT_SECONDS) as http:
            async with Client(streamable_http_client(vault_http, http_client=http), mode=mode,
                              read_timeout_seconds=READ_TIMEOUT_SECONDS) as client:
                names = {tool.name for tool in (await client.list_tools()).tools}
                assert vault_tools(ontoref_bin) <= names, names
                if allowed:
                    got = await call_ok(client, "ontoref_credential_fetch", {"target": TARGET})
                    assert got["role"] == "agent" and Path(got["docker_config_dir"]).is_dir()
                else:
                    await call_err(client, "ontoref_credential_fetch", {"target": TARGET}, "actor-not-bound")


async def test_token_actor_reaches_the_gate_over_sse(vault_http: str) -> None:
    async with Client(sse_client(sse_url(vault_http), headers=bearer("agent-bot")),
                      read_timeout_seconds=READ_TIMEOUT_SECONDS) as client:
        got = await call_ok(client, "ontoref_credential_fetch", {"target": TARGET})
        assert got["role"] == "agent"
        status = await call_ok(client, "ontoref_secrets_status", {})
        assert status["actor"] == "agent-bot", status
    async with Client(sse_client(sse_url(vault_http), headers=bearer("mallory")),
                      read_timeout_seconds=READ_TIMEOUT_SECONDS) as client:
        await call_err(client, "ontoref_credential_fetch", {"target": TARGET}, "actor-not-bound")


async def test_no_token_no_session(vault_http: str) -> None:
    async with httpx2.AsyncClient() as http:
        response = await http.get(sse_url(vault_http))
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
    # The SDK reports the 401 as a failed connection (its error text does not carry the status).
    with pytest.raises(Exception):  # noqa: B017, PT011
        async with Client(vault_http, mode="legacy", read_timeout_seconds=READ_TIMEOUT_SECONDS) as client:
            await client.list_tools()


@pytest.mark.parametrize("level", ["debug", "trace"])
async def test_an_allowed_reveal_reaches_the_sdk_and_no_log_over_http(
    ontoref_bin: Path, tmp_path: Path, cache_dir: Path, mode: str, level: str
) -> None:
    demo = build_demo(ontoref_bin, tmp_path, cache_dir)
    allow_reveal(demo)
    credential = agent_credential(ontoref_bin, demo)
    tokens = tmp_path / "tokens"
    tokens.write_text("".join(f"{actor} {hashlib.sha256(tok.encode()).hexdigest()}\n" for actor, tok in TOKENS.items()))
    env = {"ONTOREF_CONFIG_HOME": str(demo["home"]), "ONTOREF_RUNTIME_DIR": str(demo["run"])}
    logs: list[str] = []
    reveal = {"target": TARGET, "reveal": True}
    with serve_http(ontoref_bin, demo["project"], cache_dir, "--token-file", str(tokens), "--log-level", level,
                    env=env, logs=logs) as url:
        async with httpx2.AsyncClient(headers=bearer("agent-bot"), timeout=READ_TIMEOUT_SECONDS) as http:
            async with Client(streamable_http_client(url, http_client=http), mode=mode,
                              read_timeout_seconds=READ_TIMEOUT_SECONDS) as client:
                got = await call_ok(client, "ontoref_credential_fetch", reveal)
                assert (got["username"], got["password"]) == (credential["username"], credential["password"])
        async with Client(sse_client(sse_url(url), headers=bearer("agent-bot")),
                          read_timeout_seconds=READ_TIMEOUT_SECONDS) as client:
            got = await call_ok(client, "ontoref_credential_fetch", reveal)
            assert (got["username"], got["password"]) == (credential["username"], credential["password"])
    text = "".join(logs)
    assert "ontoref_credential_fetch" in text and "ontoref-secret:" in text, "the results were logged, as placeholders"
    assert credential["password"] not in text
    assert credential["username"] not in text
