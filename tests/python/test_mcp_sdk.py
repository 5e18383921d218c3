"""`ontoref serve` driven by the official MCP Python SDK (mcp 2.3.0) over stdio.

Every test runs twice: `mode="legacy"` (initialize handshake, 2025-11-25) and
`mode="auto"` (server/discover first, stateless 2026-07-28 with per-request _meta).
Expected values come from tests/fixtures/project/reflection/qa.ncl.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, TextContent

pytestmark = pytest.mark.anyio

INVALID_PARAMS = -32602

EXPECTED_VERSION = {"legacy": "2025-11-25", "auto": "2026-07-28"}

QA_TOOLS = {"ontoref_qa_list", "ontoref_qa_search", "ontoref_qa_show"}
# The Q&A writes (tests/python/test_writes.py drives them).
QA_WRITES = {"ontoref_qa_add", "ontoref_qa_update", "ontoref_qa_delete"}


def catalog(ontoref_bin: Path, *args: str) -> set[str]:
    """Every tool the binary's catalog holds (or the ones `args` select), as `ontoref tools` prints it."""
    out = subprocess.run([str(ontoref_bin), "tools", "--fmt", "json", *args], capture_output=True, check=True,
                         text=True)
    return {tool["name"] for tool in json.loads(out.stdout)["tools"]}

# File order of reflection/qa.ncl.
ALL_IDS = ["deploy-staging", "rollback-policy", "local-dev-setup", "database-migrations", "stdio-transport"]
OPS_IDS = ["deploy-staging", "rollback-policy", "database-migrations"]
VERIFIED_IDS = ["deploy-staging", "rollback-policy"]
UNVERIFIED_IDS = ["local-dev-setup", "database-migrations", "stdio-transport"]

DEPLOY_STAGING = {
    "id": "deploy-staging",
    "question": "How do we deploy to staging?",
    "answer": (
        "Run `just deploy staging` from the repository root.\n"
        "The pipeline builds the image, pushes it to the registry and\n"
        "rolls the staging cluster one pod at a time.\n"
        "Rollback: `just rollback staging`."
    ),
    "actor": "human",
    "created_at": "2026-06-01",
    "tags": ["deploy", "staging", "ops"],
    "related": ["rollback-policy"],
    "verified": True,
}


@pytest.fixture(params=["legacy", "auto"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


# --- helpers -------------------------------------------------------------------------------


def text_json(result: CallToolResult) -> Any:
    """The JSON of the result's single text content block."""
    texts = [block for block in result.content if isinstance(block, TextContent)]
    assert len(texts) == 1, f"expected exactly one text content block, got {result.content!r}"
    return json.loads(texts[0].text)


async def call_ok(client: Client, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Call a tool that must succeed; return its structured content (checked against the text block).

    The SDK itself validates structured content against the tool's outputSchema on success
    (RuntimeError on a mismatch), so a schema violation fails here too.
    """
    result = await client.call_tool(name, arguments)
    assert not result.is_error, f"{name}({arguments}) failed: {result.structured_content or result.content}"
    assert isinstance(result.structured_content, dict), result
    assert text_json(result) == result.structured_content
    return result.structured_content


async def call_err(client: Client, name: str, arguments: dict[str, Any], code: str) -> dict[str, Any]:
    """Call a tool that must fail as a tool result with `code`; return the `error` object."""
    result = await client.call_tool(name, arguments)
    assert result.is_error is True, f"{name}({arguments}) did not fail: {result.structured_content}"
    assert isinstance(result.structured_content, dict), result
    assert text_json(result) == result.structured_content
    assert set(result.structured_content) == {"error"}, result.structured_content
    error = result.structured_content["error"]
    assert error["code"] == code, f"{name}({arguments}): {error}"
    for key in ("message", "hint"):
        assert isinstance(error.get(key), str) and error[key], f"error.{key} missing or empty: {error}"
    return error


# --- connection and catalog ----------------------------------------------------------------


async def test_negotiated_protocol_version(connect, mode: str) -> None:
    async with connect(mode) as client:
        assert client.protocol_version == EXPECTED_VERSION[mode]
        if mode == "legacy":
            assert client.session.initialize_result is not None
            assert client.session.discover_result is None
        else:
            assert client.session.discover_result is not None
            assert client.session.initialize_result is None
            assert "2026-07-28" in client.session.discover_result.supported_versions
        assert client.server_info is not None and client.server_info.name == "ontoref"
        caps = client.server_capabilities
        assert caps.tools is not None
        assert caps.prompts is not None and caps.resources is not None
        assert caps.completions is not None


async def test_tools_list(connect, ontoref_bin: Path, mode: str) -> None:
    async with connect(mode) as client:
        assert client.protocol_version == EXPECTED_VERSION[mode]
        listing = await client.list_tools()
        assert listing.next_cursor is None
        names = [tool.name for tool in listing.tools]
        assert sorted(names) == sorted(catalog(ontoref_bin)), names
        assert QA_TOOLS <= set(names)
        assert len(names) > len(QA_TOOLS)
        read_only = catalog(ontoref_bin, "--read-only")
        for tool in listing.tools:
            assert tool.title, tool.name
            assert tool.description, tool.name
            assert tool.input_schema.get("type") == "object", tool.name
            assert tool.output_schema is not None and tool.output_schema.get("type") == "object", tool.name
            ann = tool.annotations
            assert ann is not None, tool.name
            # The credential fetch writes an expiring credential directory, the artifact pull the
            # project's cache (idempotently); the artifact tools reach the registry (open world).
            # Knowledge updates and deletes change what exists (destructive, idempotent); adds do not.
            reads_only = tool.name in read_only
            artifact = tool.name.startswith("ontoref_artifact_")
            changes = tool.name.endswith(("_update", "_delete"))
            assert ann.read_only_hint is reads_only, tool.name
            assert ann.destructive_hint is changes, tool.name
            assert ann.idempotent_hint is (reads_only or artifact or changes), tool.name
            assert ann.open_world_hint is artifact, tool.name
        by_name = {tool.name: tool for tool in listing.tools}
        assert by_name["ontoref_qa_search"].input_schema.get("required") == ["query"]
        assert by_name["ontoref_qa_show"].input_schema.get("required") == ["id"]


async def test_prompts_and_resources_are_served(connect, mode: str) -> None:
    # The fixture project's Q&A entries are resources (tests/python/test_resources_prompts.py
    # covers resources, prompts and completions in depth, on the template).
    async with connect(mode) as client:
        assert {p.name for p in (await client.list_prompts()).prompts} == {
            "adr-draft", "explain-path", "ondaod", "run-mode"}
        uris = {r.uri for r in (await client.list_resources()).resources}
        assert {f"ontoref://qa/{qa_id}" for qa_id in ALL_IDS} <= uris
        assert "ontoref://qa/{id}" in {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        with pytest.raises(MCPError) as missing:
            await client.read_resource("ontoref://nothing")
        # -32002 (resource not found) before 2026-07-28, -32602 (invalid params) from it on.
        assert missing.value.code == (-32002 if mode == "legacy" else -32602), missing.value.error
        assert missing.value.data["uri"] == "ontoref://nothing"
        assert "ontoref://nothing" in str(missing.value.error)


async def test_toolsets_select(connect, mode: str) -> None:
    async with connect(mode, "--toolsets", "qa") as client:
        listing = await client.list_tools()
        assert {tool.name for tool in listing.tools} == QA_TOOLS | QA_WRITES


async def test_exclude_tools(connect, mode: str) -> None:
    async with connect(mode, "--toolsets", "qa", "--exclude-tools", "ontoref_qa_show") as client:
        listing = await client.list_tools()
        assert sorted(tool.name for tool in listing.tools) == sorted(QA_TOOLS - {"ontoref_qa_show"} | QA_WRITES)
        # Excluded means not callable either, not just hidden.
        with pytest.raises(MCPError) as excinfo:
            await client.call_tool("ontoref_qa_show", {"id": "deploy-staging"})
        assert excinfo.value.code == INVALID_PARAMS, excinfo.value.error


async def test_read_only_keeps_read_only_tools(connect, ontoref_bin: Path, mode: str) -> None:
    async with connect(mode, "--read-only") as client:
        listing = await client.list_tools()
        writing = catalog(ontoref_bin) - catalog(ontoref_bin, "--read-only")
        assert {"ontoref_credential_fetch", "ontoref_artifact_pull"} | QA_WRITES <= writing, writing
        assert sorted(tool.name for tool in listing.tools) == sorted(catalog(ontoref_bin) - writing)


async def test_cache_goes_to_ontoref_cache_dir(connect, mode: str, cache_dir: Path) -> None:
    async with connect(mode) as client:
        await call_ok(client, "ontoref_qa_list", {})
    assert any(path.is_file() for path in cache_dir.rglob("*")), "nothing written to ONTOREF_CACHE_DIR"


# --- ontoref_qa_list -----------------------------------------------------------------------


async def test_qa_list_all(connect, mode: str) -> None:
    async with connect(mode) as client:
        page = await call_ok(client, "ontoref_qa_list", {})
        assert page["total"] == 5
        assert "next_cursor" not in page
        assert [entry["id"] for entry in page["entries"]] == ALL_IDS
        for entry in page["entries"]:
            assert "answer" not in entry, entry
            assert set(entry) == {"id", "question", "tags", "verified", "created_at"}, entry
        first = page["entries"][0]
        assert first == {
            "id": "deploy-staging",
            "question": "How do we deploy to staging?",
            "tags": ["deploy", "staging", "ops"],
            "verified": True,
            "created_at": "2026-06-01",
        }


async def test_qa_list_filters(connect, mode: str) -> None:
    async with connect(mode) as client:
        ops = await call_ok(client, "ontoref_qa_list", {"tags": ["ops"]})
        assert [entry["id"] for entry in ops["entries"]] == OPS_IDS
        assert ops["total"] == 3

        both = await call_ok(client, "ontoref_qa_list", {"tags": ["ops", "policy"]})
        assert [entry["id"] for entry in both["entries"]] == ["rollback-policy"]
        assert both["total"] == 1

        verified = await call_ok(client, "ontoref_qa_list", {"verified": True})
        assert [entry["id"] for entry in verified["entries"]] == VERIFIED_IDS
        assert verified["total"] == 2

        unverified = await call_ok(client, "ontoref_qa_list", {"verified": False})
        assert [entry["id"] for entry in unverified["entries"]] == UNVERIFIED_IDS

        none = await call_ok(client, "ontoref_qa_list", {"tags": ["no-such-tag"]})
        assert none["entries"] == [] and none["total"] == 0


async def test_qa_list_paging(connect, mode: str) -> None:
    async with connect(mode) as client:
        seen: list[str] = []
        sizes: list[int] = []
        args: dict[str, Any] = {"limit": 2}
        for _ in range(10):  # bound: a cursor that never ends must fail, not hang
            page = await call_ok(client, "ontoref_qa_list", args)
            assert page["total"] == 5
            sizes.append(len(page["entries"]))
            seen.extend(entry["id"] for entry in page["entries"])
            cursor = page.get("next_cursor")
            if cursor is None:
                break
            assert isinstance(cursor, str) and cursor
            args = {"limit": 2, "cursor": cursor}
        else:
            pytest.fail(f"paging did not end after 10 pages: {seen}")
        assert seen == ALL_IDS, seen
        assert sizes == [2, 2, 1]


async def test_qa_list_filtered_paging(connect, mode: str) -> None:
    async with connect(mode) as client:
        first = await call_ok(client, "ontoref_qa_list", {"tags": ["ops"], "limit": 2})
        assert [entry["id"] for entry in first["entries"]] == OPS_IDS[:2]
        second = await call_ok(
            client, "ontoref_qa_list", {"tags": ["ops"], "limit": 2, "cursor": first["next_cursor"]}
        )
        assert [entry["id"] for entry in second["entries"]] == OPS_IDS[2:]
        assert "next_cursor" not in second


async def test_qa_list_cursor_from_other_filter(connect, mode: str) -> None:
    async with connect(mode) as client:
        page = await call_ok(client, "ontoref_qa_list", {"tags": ["ops"], "limit": 1})
        cursor = page["next_cursor"]
        await call_err(client, "ontoref_qa_list", {"limit": 1, "cursor": cursor}, "invalid-cursor")


# --- ontoref_qa_search ---------------------------------------------------------------------


async def test_qa_search_ranks(connect, mode: str) -> None:
    async with connect(mode) as client:
        found = await call_ok(client, "ontoref_qa_search", {"query": "rollback"})
        results = found["results"]
        assert results, found
        assert results[0]["id"] == "rollback-policy", [r["id"] for r in results]
        assert found["total_matches"] >= len(results)
        scores = [r["score"] for r in results]
        assert scores == sorted(scores, reverse=True), scores
        for result in results:
            assert set(result) == {"id", "question", "score", "snippet", "tags"}, result
            assert result["snippet"].strip(), result
            assert len(result["snippet"]) <= 300, result


async def test_qa_search_tag_filter(connect, mode: str) -> None:
    async with connect(mode) as client:
        unfiltered = await call_ok(client, "ontoref_qa_search", {"query": "rollback"})
        assert "deploy-staging" in {r["id"] for r in unfiltered["results"]}
        filtered = await call_ok(client, "ontoref_qa_search", {"query": "rollback", "tags": ["deploy"]})
        assert [r["id"] for r in filtered["results"]] == ["deploy-staging"]
        assert filtered["total_matches"] == 1


async def test_qa_search_limit(connect, mode: str) -> None:
    async with connect(mode) as client:
        found = await call_ok(client, "ontoref_qa_search", {"query": "rollback", "limit": 1})
        assert len(found["results"]) == 1
        assert found["results"][0]["id"] == "rollback-policy"
        assert found["total_matches"] >= 2  # counts every match, not just the page


async def test_qa_search_no_match(connect, mode: str) -> None:
    async with connect(mode) as client:
        found = await call_ok(client, "ontoref_qa_search", {"query": "xyzzyplugh quuxfrobnicate"})
        assert found == {"results": [], "total_matches": 0}


# --- ontoref_qa_show -----------------------------------------------------------------------


async def test_qa_show(connect, mode: str) -> None:
    async with connect(mode) as client:
        shown = await call_ok(client, "ontoref_qa_show", {"id": "deploy-staging"})
        assert shown == {"entry": DEPLOY_STAGING}
        assert shown["entry"]["answer"].count("\n") == 3


async def test_qa_show_defaults(connect, mode: str) -> None:
    async with connect(mode) as client:
        shown = await call_ok(client, "ontoref_qa_show", {"id": "stdio-transport"})
        entry = shown["entry"]
        assert entry["related"] == []
        assert entry["verified"] is False
        assert entry["actor"] == "agent"
        assert entry["answer"] == "stdio, like every local MCP server started by its client."


# --- errors --------------------------------------------------------------------------------


async def test_qa_show_unknown_id(connect, mode: str) -> None:
    async with connect(mode) as client:
        error = await call_err(client, "ontoref_qa_show", {"id": "deploy-stagin"}, "qa-not-found")
        assert "deploy-staging" in error["hint"], error
        assert "deploy-stagin" in error["message"], error


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("ontoref_qa_list", {"limit": 0}),
        ("ontoref_qa_list", {"limit": 501}),
        ("ontoref_qa_list", {"limit": "2"}),
        ("ontoref_qa_list", {"bogus": 1}),
        ("ontoref_qa_search", {"query": "rollback", "limit": 0}),
        ("ontoref_qa_search", {}),
        ("ontoref_qa_show", {"id": 42}),
        ("ontoref_qa_show", {"id": "deploy-staging", "extra": True}),
    ],
    ids=[
        "list-limit-0",
        "list-limit-501",
        "list-limit-string",
        "list-unknown-arg",
        "search-limit-0",
        "search-missing-query",
        "show-id-number",
        "show-unknown-arg",
    ],
)
async def test_invalid_params(connect, mode: str, tool: str, arguments: dict[str, Any]) -> None:
    async with connect(mode) as client:
        await call_err(client, tool, arguments, "invalid-params")


async def test_unknown_tool_is_protocol_error(connect, mode: str) -> None:
    async with connect(mode) as client:
        with pytest.raises(MCPError) as excinfo:
            await client.call_tool("ontoref_no_such_tool", {})
        # MCP spec (tools, error handling): unknown tool -> JSON-RPC -32602 Invalid params.
        assert excinfo.value.code == INVALID_PARAMS, excinfo.value.error
        # The session survives the error.
        page = await call_ok(client, "ontoref_qa_list", {"limit": 1})
        assert page["total"] == 5


TEMPLATE = Path(__file__).resolve().parents[2] / "agent-first-template"


async def test_mode_resolve_explains_the_hierarchy(connect, mode: str) -> None:
    async with connect(mode, project=TEMPLATE) as client:
        release = await call_ok(client, "ontoref_mode_resolve", {"id": "release"})
        assert release["resolved_level"] == {"index": "Instance", "name": "agent-first"}
        chain = [(link["name"], link["outcome"]) for link in release["chain"]]
        assert chain == [("agent-first", "composed"), ("acme-platform", "resolved")]
        assert all(link["reason"] for link in release["chain"])
        steps = [(step["id"], step["from_level"]) for step in release["steps"]]
        assert steps[:2] == [("changelog", "acme-platform"), ("tag", "acme-platform")]

        onboard = await call_ok(client, "ontoref_mode_resolve", {"id": "onboard"})
        assert onboard["resolved_level"]["name"] == "ontoref-base"

        missing = await client.call_tool("ontoref_mode_resolve", {"id": "relase"})
        assert missing.is_error
        assert missing.structured_content["error"]["code"] == "mode-not-found"
        assert "release" in missing.structured_content["error"]["hint"]


async def test_search_across_kinds(connect, mode: str) -> None:
    async with connect(mode, project=TEMPLATE) as client:
        found = await call_ok(client, "ontoref_search", {"query": "secrets vault", "limit": 10})
        kinds = {hit["kind"] for hit in found["results"]}
        assert len(kinds) >= 3, found
        scores = [hit["score"] for hit in found["results"]]
        assert scores == sorted(scores, reverse=True)
        modes_only = await call_ok(client, "ontoref_search", {"query": "release", "kinds": ["mode"]})
        assert modes_only["results"][0] == {**modes_only["results"][0], "kind": "mode", "id": "release"}
        bad = await client.call_tool("ontoref_search", {"query": "x", "kinds": ["wiki"]})
        assert bad.is_error
        assert bad.structured_content["error"]["code"] == "invalid-params"
