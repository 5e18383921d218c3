"""`ontoref serve --http` driven by the official MCP Python SDK (mcp 2.3.0) over Streamable HTTP.

Runs in `mode="legacy"` (initialize, Mcp-Session-Id, 2025-11-25) and `mode="auto"`
(stateless 2026-07-28). Without a token file the server offers read-only tools only,
and never the vault toolset.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client

from conftest import READ_TIMEOUT_SECONDS
from test_mcp_sdk import EXPECTED_VERSION, QA_TOOLS, call_err, call_ok, catalog

pytestmark = pytest.mark.anyio

VAULT_TOOLS = {"ontoref_secrets_status", "ontoref_secrets_describe", "ontoref_secrets_audit", "ontoref_credential_fetch"}


@pytest.fixture(params=["legacy", "auto"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def http_url(ontoref_bin: Path, fixture_project: Path, cache_dir: Path) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONTOREF_")}
    env["ONTOREF_CACHE_DIR"] = str(cache_dir)
    proc = subprocess.Popen(
        [str(ontoref_bin), "serve", "--http", "127.0.0.1:0", "--project", str(fixture_project)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        assert proc.stderr is not None
        url = None
        for line in proc.stderr:
            if "serving MCP over HTTP at " in line:
                url = line.split("serving MCP over HTTP at ", 1)[1].strip()
                break
        assert url, "the server did not announce its address"
        yield url
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0


async def test_tools_list_and_calls_over_streamable_http(http_url: str, ontoref_bin: Path, mode: str) -> None:
    async with Client(http_url, mode=mode, read_timeout_seconds=READ_TIMEOUT_SECONDS) as client:
        assert client.protocol_version == EXPECTED_VERSION[mode]
        listing = await client.list_tools()
        names = {tool.name for tool in listing.tools}
        assert QA_TOOLS <= names
        assert names == catalog(ontoref_bin) - VAULT_TOOLS, names
        assert all(tool.annotations and tool.annotations.read_only_hint for tool in listing.tools)
        entry = await call_ok(client, "ontoref_qa_show", {"id": "deploy-staging"})
        assert entry["entry"]["id"] == "deploy-staging"
        hits = await call_ok(client, "ontoref_qa_search", {"query": "roll back"})
        assert hits["results"][0]["id"] == "rollback-policy"
        await call_err(client, "ontoref_qa_show", {"id": "deploy-stagin"}, "qa-not-found")
