"""Knowledge writes (`ontoref_qa_add`, `_update`, `_delete`, `ontoref_backlog_add`, `_update`)
driven by the official MCP Python SDK over stdio in both eras, and by the CLI.

Each test works on its own copy of tests/fixtures/project (whose qa.ncl has comments, its own
`let` bindings and computed fields), so the bytes outside the touched entries can be compared
with the original file.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from conftest import FIXTURE_PROJECT

pytestmark = pytest.mark.anyio

AWKWARD = 'ends "%, opens %{ x } and %%{ y }, \\ backslash \\n, unicode ñ ✓ 😀\n  indented\n\ttab\n\nlast "%%%'


@pytest.fixture(params=["legacy", "auto"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE_PROJECT, root)
    return root


def qa_file(project: Path) -> Path:
    return project / "reflection" / "qa.ncl"


async def call(client: Client, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(name, arguments)
    assert result.structured_content is not None, result
    return {"is_error": bool(result.is_error), **result.structured_content}


async def ok(client: Client, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    out = await call(client, name, arguments)
    assert not out.pop("is_error"), f"{name}({arguments}): {out}"
    return out


def without_appended(final: str, original: str) -> str:
    """`final` with what was appended to the entries array removed: the original's text up to
    the array's closing line, and from it on."""
    close = original.rindex("\n  ],")
    head, tail = original[:close], original[close:]
    assert final.startswith(head), "the text before the new entries changed"
    assert final.endswith(tail), "the text after the new entries changed"
    return head + tail


async def test_add_update_delete_round_trip_and_restore_the_file(connect, project: Path, mode: str) -> None:
    original = qa_file(project).read_bytes()
    async with connect(mode, project=project, env={"ONTOREF_ACTOR": "sdk-agent"}) as client:
        added = await ok(client, "ontoref_qa_add", {
            "question": 'What does "%{}" do?', "answer": AWKWARD, "tags": ["writes"], "related": ["deploy-staging"],
        })
        assert added == {"id": "qa-001", "file": "reflection/qa.ncl"}
        shown = (await ok(client, "ontoref_qa_show", {"id": "qa-001"}))["entry"]
        assert shown["answer"] == AWKWARD
        assert shown["question"] == 'What does "%{}" do?'
        assert shown["actor"] == "sdk-agent"
        assert shown["verified"] is False
        assert shown["related"] == ["deploy-staging"]

        await ok(client, "ontoref_qa_update", {"id": "qa-001", "verified": True, "tags": ["writes", "checked"]})
        shown = (await ok(client, "ontoref_qa_show", {"id": "qa-001"}))["entry"]
        assert shown["verified"] is True and shown["tags"] == ["writes", "checked"]
        assert shown["answer"] == AWKWARD

        # Another entry is untouched by an update: its computed fields stay computed.
        await ok(client, "ontoref_qa_update", {"id": "deploy-staging", "tags": ["deploy"]})
        text = qa_file(project).read_text()
        assert "actor = c.team," in text and "created_at = c.since," in text

        await ok(client, "ontoref_qa_delete", {"id": "qa-001"})
        missing = await call(client, "ontoref_qa_show", {"id": "qa-001"})
        assert missing["is_error"] and missing["error"]["code"] == "qa-not-found"
    restored = qa_file(project).read_bytes()
    assert restored == original.replace(
        b'tags = ["deploy", "staging", "ops"]', b'tags = ["deploy"]', 1
    )


async def test_a_write_the_contract_refuses_changes_nothing(connect, project: Path, mode: str) -> None:
    original = qa_file(project).read_bytes()
    async with connect(mode, project=project) as client:
        refused = await call(client, "ontoref_qa_add", {"question": "  ", "answer": "a"})
        assert refused["is_error"] and refused["error"]["code"] == "qa-invalid-entry", refused
        assert "non-empty" in refused["error"]["message"]
        refused = await call(client, "ontoref_qa_add", {"id": "Bad Id", "question": "Q?", "answer": "A."})
        assert refused["is_error"] and refused["error"]["code"] == "qa-invalid-entry", refused
        taken = await call(client, "ontoref_qa_add", {"id": "deploy-staging", "question": "Q?", "answer": "A."})
        assert taken["is_error"] and taken["error"]["code"] == "qa-duplicate-id", taken
        nothing = await call(client, "ontoref_qa_update", {"id": "deploy-staging"})
        assert nothing["is_error"] and nothing["error"]["code"] == "invalid-params", nothing
    assert qa_file(project).read_bytes() == original
    assert not [p for p in qa_file(project).parent.iterdir() if p.name.startswith(".ontoref-write-")]


async def test_two_processes_adding_25_entries_each_at_once_lose_nothing(connect, project: Path) -> None:
    original = qa_file(project).read_text()
    async with connect("auto", project=project) as first, connect("legacy", project=project) as second:
        before = (await ok(first, "ontoref_qa_list", {"limit": 500}))["total"]

        async def add(client: Client, who: str, i: int) -> str:
            out = await ok(client, "ontoref_qa_add", {
                "question": f"Question {i} from {who}?", "answer": f"Answer {i}\nfrom {who}.", "tags": [who],
            })
            return out["id"]

        ids = await asyncio.gather(
            *(add(first, "first", i) for i in range(25)), *(add(second, "second", i) for i in range(25)),
        )
        assert len(set(ids)) == 50
        listed = await ok(second, "ontoref_qa_list", {"limit": 500})
        assert listed["total"] == before + 50
        for who in ("first", "second"):
            page = await ok(first, "ontoref_qa_list", {"tags": [who], "limit": 500})
            assert page["total"] == 25
        shown = (await ok(first, "ontoref_qa_show", {"id": ids[0]}))["entry"]
        assert shown["answer"] == "Answer 0\nfrom first."
    final = qa_file(project).read_text()
    assert without_appended(final, original) == original
    assert final.count("\n    {\n      id = \"qa-") == 50


def run_cli(ontoref_bin: Path, project: Path, cache_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ontoref_bin), "--project", str(project), *args, "--fmt", "json"],
        capture_output=True, text=True, env={"ONTOREF_CACHE_DIR": str(cache_dir), "PATH": "/usr/bin:/bin"},
    )


def test_the_cli_twins_add_update_and_delete(ontoref_bin: Path, project: Path, cache_dir: Path) -> None:
    original = qa_file(project).read_bytes()
    added = run_cli(ontoref_bin, project, cache_dir, "qa", "add", "--question", "From the CLI?",
                    "--answer", "Yes.\nTwo lines.", "--tag", "cli", "--tag", "writes")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout) == {"id": "qa-001", "file": "reflection/qa.ncl"}
    updated = run_cli(ontoref_bin, project, cache_dir, "qa", "update", "qa-001", "--verified", "true")
    assert updated.returncode == 0, updated.stderr
    shown = run_cli(ontoref_bin, project, cache_dir, "qa", "show", "qa-001")
    entry = json.loads(shown.stdout)["entry"]
    assert entry["tags"] == ["cli", "writes"] and entry["verified"] is True
    assert entry["answer"] == "Yes.\nTwo lines."
    deleted = run_cli(ontoref_bin, project, cache_dir, "qa", "delete", "qa-001")
    assert deleted.returncode == 0, deleted.stderr
    assert qa_file(project).read_bytes() == original
    refused = run_cli(ontoref_bin, project, cache_dir, "qa", "delete", "qa-001")
    assert refused.returncode != 0
    assert json.loads(refused.stdout)["error"]["code"] == "qa-not-found"


async def test_backlog_items_are_added_and_updated(connect, project: Path, mode: str) -> None:
    async with connect(mode, project=project) as client:
        added = await ok(client, "ontoref_backlog_add", {
            "title": "Document the writes", "kind": "Todo", "priority": "High",
            "detail": "Show each write tool from Claude Code's side.", "related_adrs": ["adr-001"],
        })
        assert added == {"id": "bl-001", "file": "reflection/backlog.ncl"}
        await ok(client, "ontoref_backlog_update", {"id": "bl-001", "status": "InProgress"})
        item = (await ok(client, "ontoref_backlog_get", {"id": "bl-001"}))
        assert json.dumps(item).count("InProgress") >= 1, item
        missing = await call(client, "ontoref_backlog_update", {"id": "bl-404", "status": "Done"})
        assert missing["is_error"] and missing["error"]["code"] == "backlog-item-not-found"
    text = (project / "reflection" / "backlog.ncl").read_text()
    assert "status = 'InProgress," in text and "| b.Backlog" in text


async def test_read_only_serves_no_writes(connect, project: Path, mode: str) -> None:
    async with connect(mode, "--read-only", project=project) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "ontoref_qa_list" in names
        assert not {n for n in names if n.endswith(("_add", "_update", "_delete"))}, names
