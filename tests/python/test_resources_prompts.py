"""Resources, prompts and completions of `ontoref serve`, driven by the official MCP Python SDK.

The project is a copy of the agent-first template with part of the real MIF corpus vendored
(so every kind of resource exists, ontology extensions included) and 110 generated Q&A entries
added (so the listing takes more than one page of 100). Every test runs in both connection modes:
`mode="legacy"` (initialize, 2025-11-25) and `mode="auto"` (stateless 2026-07-28), over stdio; one
also runs over Streamable HTTP.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import PromptReference, ResourceTemplateReference, TextContent, TextResourceContents

from conftest import READ_TIMEOUT_SECONDS
from test_http import serve_http
from test_ontology_extensions import WIDEST, WIDEST_CLOSURE, vendor

pytestmark = pytest.mark.anyio

TEMPLATE = Path(__file__).resolve().parents[2] / "agent-first-template"
INVALID_PARAMS = -32602
RESOURCE_NOT_FOUND = -32002
GENERATED_QA = 110

# One known record of every kind, from the template (and the vendored corpus).
KNOWN = {
    "qa": "what-is-ontoref",
    "adr": "adr-001",
    "node": "reach-vs-exposure",
    "backlog": "bl-001",
    "mode": "release",
    "ontology": WIDEST,
}
ADR_001_TITLE = "Keep the project's self-knowledge as typed Nickel in the repository"
# The Tension nodes of the template's .ontology/core.ncl.
TENSIONS = [
    "Agent autonomy against human oversight",
    "Reach of the server against exposure of the project",
    "Complete answers against the context budget",
]
FIVE_CRITERIA = [
    "Alternative rejected",
    "Lasting constraint",
    "Multi-component reversal",
    "Not duplicating an existing ADR",
    "ondaod applied",
]
PROMPT_ARGUMENTS = {"adr-draft": ["title"], "explain-path": ["path"], "ondaod": ["question"], "run-mode": ["id"]}


@pytest.fixture(params=["legacy", "auto"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The template, copied, with extensions vendored and generated Q&A entries appended."""
    root = tmp_path / "project"
    shutil.copytree(TEMPLATE, root)
    vendor(root, WIDEST_CLOSURE)
    qa = root / "reflection" / "qa.ncl"
    text = qa.read_text()
    tail = "  ],\n}\n  | s.QaStore"
    assert text.rstrip().endswith(tail.rstrip()), text[-200:]
    generated = "".join(
        f'    {{ id = "generated-{i:03}", question = "Generated question {i}?", answer = "Answer {i}.",'
        f' actor = "agent", created_at = "2026-11-30" }},\n'
        for i in range(GENERATED_QA)
    )
    head = text.rstrip()[: -len(tail.rstrip())]
    qa.write_text(head + generated + tail + "\n")
    return root


def message_text(result) -> str:
    texts = [m.content.text for m in result.messages if isinstance(m.content, TextContent)]
    assert len(texts) == len(result.messages) == 1, result
    assert result.messages[0].role == "user"
    return texts[0]


async def every_resource(client: Client) -> dict:
    """Every listed resource by URI, through every page."""
    found = {}
    cursor = None
    while True:
        page = await client.list_resources(cursor=cursor)
        found.update((r.uri, r) for r in page.resources)
        cursor = page.next_cursor
        if cursor is None:
            return found


def not_found_code(mode: str) -> int:
    # -32002 (resource not found) before 2026-07-28, -32602 (invalid params) from it on.
    return RESOURCE_NOT_FOUND if mode == "legacy" else INVALID_PARAMS


async def test_templates_are_listed(connect, project: Path, mode: str) -> None:
    async with connect(mode, project=project) as client:
        templates = (await client.list_resource_templates()).resource_templates
        assert [t.uri_template for t in templates] == [f"ontoref://{kind}/{{id}}" for kind in KNOWN]
        for t in templates:
            assert t.name and t.title and t.description, t
            assert t.mime_type == "text/markdown", t


async def test_listing_pages_with_a_cursor_and_covers_every_kind(connect, project: Path, mode: str) -> None:
    async with connect(mode, project=project) as client:
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            page = await client.list_resources(cursor=cursor)
            assert 0 < len(page.resources) <= 100
            for r in page.resources:
                assert r.name and r.title and r.mime_type == "text/markdown", r
            seen += [r.uri for r in page.resources]
            pages += 1
            cursor = page.next_cursor
            if cursor is None:
                break
        assert pages >= 2, pages
        assert len(seen) == len(set(seen)), "a resource listed twice"
        for kind, record in KNOWN.items():
            assert f"ontoref://{kind}/{record}" in seen, (kind, record)
        generated = [uri for uri in seen if uri.startswith("ontoref://qa/generated-")]
        assert len(generated) == GENERATED_QA
        assert sum(uri.startswith("ontoref://ontology/") for uri in seen) == len(WIDEST_CLOSURE)
        with pytest.raises(MCPError) as bad:
            await client.list_resources(cursor="not-a-cursor")
        assert bad.value.code == INVALID_PARAMS, bad.value.error


async def test_read_an_adr_as_markdown_with_its_modification_time(connect, project: Path, mode: str) -> None:
    async with connect(mode, project=project) as client:
        result = await client.read_resource("ontoref://adr/adr-001")
        assert len(result.contents) == 1
        content = result.contents[0]
        assert isinstance(content, TextResourceContents), content
        assert content.uri == "ontoref://adr/adr-001"
        assert content.mime_type == "text/markdown"
        assert content.text.startswith(f"## adr-001: {ADR_001_TITLE}\n"), content.text
        assert "### Decision" in content.text and "### Constraints" in content.text
        modified = datetime.fromisoformat(content.meta["lastModified"])
        assert modified.tzinfo is not None
        if mode == "auto":
            assert result.ttl_ms == 0 and result.cache_scope == "public", result
        # The listing carries the same time as an annotation.
        listed = await every_resource(client)
        adr = listed["ontoref://adr/adr-001"]
        assert adr.title == ADR_001_TITLE
        assert adr.annotations is not None and adr.annotations.last_modified == content.meta["lastModified"]
        # Every kind reads.
        for kind, record in KNOWN.items():
            read = await client.read_resource(f"ontoref://{kind}/{record}")
            assert read.contents[0].text.startswith("## "), (kind, read.contents[0].text[:200])


async def test_unknown_ids_and_kinds_are_not_found_with_suggestions(connect, project: Path, mode: str) -> None:
    async with connect(mode, project=project) as client:
        with pytest.raises(MCPError) as missing:
            await client.read_resource("ontoref://adr/adr-01")
        assert missing.value.code == not_found_code(mode), missing.value.error
        data = missing.value.data
        assert data["uri"] == "ontoref://adr/adr-01"
        assert "adr-001" in data["closest"], data
        assert data["code"] == "resource-not-found"
        assert "adr-001" in missing.value.message
        with pytest.raises(MCPError) as unknown:
            await client.read_resource("ontoref://wiki/home")
        assert unknown.value.code == not_found_code(mode), unknown.value.error
        assert "ontoref://adr/{id}" in unknown.value.data["templates"], unknown.value.data


async def test_completion_of_ids_and_prompt_arguments(connect, project: Path, mode: str) -> None:
    async with connect(mode, project=project) as client:
        adrs = await client.complete(ResourceTemplateReference(uri="ontoref://adr/{id}"), {"name": "id", "value": "adr-00"})
        assert "adr-001" in adrs.completion.values
        assert all(v.startswith("adr-00") for v in adrs.completion.values), adrs.completion
        many = await client.complete(ResourceTemplateReference(uri="ontoref://qa/{id}"), {"name": "id", "value": "generated-"})
        assert len(many.completion.values) == 100
        assert many.completion.total == GENERATED_QA and many.completion.has_more is True
        modes = await client.complete(PromptReference(name="run-mode"), {"name": "id", "value": "rel"})
        assert modes.completion.values[0] == "release"
        paths = await client.complete(PromptReference(name="explain-path"), {"name": "path", "value": "adr"})
        assert paths.completion.values[0] == "adrs/"
        free = await client.complete(PromptReference(name="ondaod"), {"name": "question", "value": "why"})
        assert free.completion.values == []
        with pytest.raises(MCPError) as bad:
            await client.complete(PromptReference(name="run-mod"), {"name": "id", "value": ""})
        assert bad.value.code == INVALID_PARAMS


async def test_prompts_are_listed_with_their_arguments(connect, project: Path, mode: str) -> None:
    async with connect(mode, project=project) as client:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        assert set(prompts) == set(PROMPT_ARGUMENTS)
        for name, arguments in PROMPT_ARGUMENTS.items():
            p = prompts[name]
            assert p.title and p.description, p
            assert [a.name for a in p.arguments or []] == arguments
            assert all(a.required and a.description for a in p.arguments or [])


async def test_run_mode_is_a_numbered_runbook(connect, project: Path, mode: str) -> None:
    async with connect(mode, project=project) as client:
        text = message_text(await client.get_prompt("run-mode", {"id": "release"}))
        for line in [
            "1. **changelog**",
            "command: `git log --merges --oneline $PREV_TAG..HEAD`",
            "2. **tag**",
            "command: `git tag -s v$VERSION`",
            "3. **validate-knowledge**",
            "command: `ontoref adr check --severity Hard`",
            "verify: every file evaluates and no Hard constraint fails",
            "on error: Stop",
        ]:
            assert line in text, (line, text)
        with pytest.raises(MCPError) as missing:
            await client.get_prompt("run-mode", {"id": "relase"})
        assert missing.value.code == INVALID_PARAMS
        assert missing.value.data["closest"] == ["release"], missing.value.data


async def test_ondaod_reads_the_tensions_and_adr_draft_the_five_criteria(connect, project: Path, mode: str) -> None:
    async with connect(mode, project=project) as client:
        ondaod = message_text(await client.get_prompt("ondaod", {"question": "Should the server listen on a network port?"}))
        for name in TENSIONS:
            assert name in ondaod, (name, ondaod)
        assert "ontoref-dao-discipline" in ondaod
        draft = message_text(await client.get_prompt("adr-draft", {"title": "Serve MCP over HTTP with tokens"}))
        for criterion in FIVE_CRITERIA:
            assert criterion in draft, (criterion, draft)
        for name in TENSIONS:
            assert name in draft, name
        assert "| adr-004 |" in draft, draft
        explain = message_text(await client.get_prompt("explain-path", {"path": "adrs/"}))
        assert "ontoref_explain_path" in explain and "decisions-are-recorded" in explain
        assert "Hard qa-store-under-contract" in explain, explain


async def test_prompt_mistakes_are_invalid_params(connect, project: Path, mode: str) -> None:
    async with connect(mode, project=project) as client:
        with pytest.raises(MCPError) as missing:
            await client.get_prompt("adr-draft", {})
        assert missing.value.code == INVALID_PARAMS
        assert "`title`" in missing.value.message
        with pytest.raises(MCPError) as unknown:
            await client.get_prompt("adr-drafts", {"title": "x"})
        assert unknown.value.code == INVALID_PARAMS
        assert unknown.value.data["closest"] == ["adr-draft"]


async def test_resources_and_prompts_over_streamable_http(ontoref_bin: Path, project: Path, cache_dir: Path, mode: str) -> None:
    # Without a token file the HTTP server offers read-only tools: resources and prompts too.
    with serve_http(ontoref_bin, project, cache_dir) as url:
        async with Client(url, mode=mode, read_timeout_seconds=READ_TIMEOUT_SECONDS) as client:
            read = await client.read_resource("ontoref://adr/adr-001")
            assert ADR_001_TITLE in read.contents[0].text
            text = message_text(await client.get_prompt("run-mode", {"id": "release"}))
            assert "1. **changelog**" in text
            done = await client.complete(ResourceTemplateReference(uri="ontoref://mode/{id}"), {"name": "id", "value": "rel"})
            assert done.completion.values[0] == "release"
            with pytest.raises(MCPError) as missing:
                await client.read_resource("ontoref://adr/adr-01")
            assert missing.value.code == not_found_code(mode)
