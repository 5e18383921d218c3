"""Skills of `ontoref serve` (the MCP Skills extension, SEP-2640), driven by the official MCP Python SDK.

Every mode, as it resolves in the project, is served as `skill://ontoref/modes/<id>/SKILL.md`, plus
`skill://ontoref/using-ontoref/SKILL.md`. The SDK (`mcp` 2.3.0) has no skills API, so `skills/list`
and `skills/get` go through the session's `send_request` with request types declared here (the
session adds the 2026-07-28 `_meta` itself); `SKILL.md` files are read with `resources/read`. Every
test runs in both connection modes: `mode="legacy"` (initialize, 2025-11-25) and `mode="auto"`
(stateless 2026-07-28).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any, Literal

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import Request
from pydantic import TypeAdapter

pytestmark = pytest.mark.anyio

SKILLS_EXTENSION = "io.modelcontextprotocol/skills"
GUIDE_URI = "skill://ontoref/using-ontoref/SKILL.md"
INVALID_PARAMS = -32602
RESOURCE_NOT_FOUND = -32002
RESULT = TypeAdapter(dict[str, Any])


class ListSkills(Request[dict[str, Any], Literal["skills/list"]]):
    method: Literal["skills/list"] = "skills/list"
    params: dict[str, Any]


class GetSkill(Request[dict[str, Any], Literal["skills/get"]]):
    method: Literal["skills/get"] = "skills/get"
    params: dict[str, Any]


def mode_uri(mode_id: str) -> str:
    return f"skill://ontoref/modes/{mode_id}/SKILL.md"


@pytest.fixture(params=["legacy", "auto"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


async def list_page(client: Client, cursor: str | None = None) -> dict[str, Any]:
    params = {} if cursor is None else {"cursor": cursor}
    return await client.session.send_request(ListSkills(params=params), RESULT)


async def every_skill(client: Client) -> dict[str, dict[str, Any]]:
    """Every listed skill by URI, through every page."""
    found: dict[str, dict[str, Any]] = {}
    cursor = None
    while True:
        page = await list_page(client, cursor)
        for skill in page["skills"]:
            assert skill["uri"] not in found, skill["uri"]
            found[skill["uri"]] = skill
        cursor = page.get("nextCursor")
        if cursor is None:
            return found


async def get_skill(client: Client, uri: str) -> dict[str, Any]:
    return (await client.session.send_request(GetSkill(params={"uri": uri}), RESULT))["skill"]


async def read_text(client: Client, uri: str) -> str:
    read = await client.read_resource(uri)
    assert len(read.contents) == 1, read
    contents = read.contents[0]
    assert contents.uri == uri
    assert contents.mime_type == "text/markdown"
    return contents.text


def front_matter(markdown: str) -> dict[str, str]:
    """The `name` and `description` of a SKILL.md's front matter (a plain name, a double-quoted description)."""
    assert markdown.startswith("---\n"), markdown[:80]
    head, _, _ = markdown[4:].partition("\n---\n")
    fields = dict(line.split(": ", 1) for line in head.splitlines())
    assert set(fields) == {"name", "description"}, head
    assert fields["description"].startswith('"'), head
    return {"name": fields["name"], "description": json.loads(fields["description"])}


def verify(skill: dict[str, Any], text: str) -> None:
    """The read bytes are the ones the entry lists: one file, its digest and size."""
    files = skill["resources"]
    assert [f["uri"] for f in files] == [skill["uri"]], skill
    data = text.encode("utf-8")
    assert files[0]["size"] == len(data)
    assert files[0]["digest"] == "sha256:" + hashlib.sha256(data).hexdigest()
    assert front_matter(text) == {
        "name": skill["frontmatter"]["name"],
        "description": skill["frontmatter"]["description"],
    }
    assert skill["uri"].split("/")[-2] == skill["frontmatter"]["name"]


async def mode_ids(client: Client) -> list[str]:
    listed = await client.call_tool("ontoref_mode_list", {})
    return [m["id"] for m in listed.structured_content["modes"]]


async def test_every_mode_is_listed_as_a_skill(connect, mode: str) -> None:
    async with connect(mode) as client:
        extensions = client.server_capabilities.extensions or {}
        assert SKILLS_EXTENSION in extensions, client.server_capabilities
        ids = await mode_ids(client)
        assert "release" in ids, ids
        skills = await every_skill(client)
        assert set(skills) == {mode_uri(i) for i in ids} | {GUIDE_URI}
        for mode_id in ids:
            entry = skills[mode_uri(mode_id)]
            assert entry["frontmatter"]["name"] == mode_id
            assert "\n" not in entry["frontmatter"]["description"]
            assert f"`{mode_id}`" in entry["frontmatter"]["description"]
        page = await list_page(client)
        if mode == "auto":
            assert (page["ttlMs"], page["cacheScope"]) == (0, "public"), page
        else:
            assert "ttlMs" not in page, page


async def test_skill_md_matches_its_digest_front_matter_and_steps(connect, mode: str) -> None:
    async with connect(mode) as client:
        skills = await every_skill(client)
        for uri, skill in skills.items():
            verify(skill, await read_text(client, uri))
            assert await get_skill(client, uri) == skill
        for mode_id in await mode_ids(client):
            text = await read_text(client, mode_uri(mode_id))
            resolved = (await client.call_tool("ontoref_mode_resolve", {"id": mode_id})).structured_content
            # Every step, in order, with its command, verification and on-error.
            at = [text.index(f"{n}. **{step['id']}**") for n, step in enumerate(resolved["steps"], 1)]
            assert at == sorted(at), mode_id
            for step in resolved["steps"]:
                for key, label in (("cmd", "command: `"), ("verify", "verify: "), ("on_error", "on error: ")):
                    if key in step:
                        assert label + step[key] in text, (mode_id, step)
            # The level chain it was looked up through, and why.
            assert f"Resolves at **{resolved['resolved_level']['name']}**" in text
            for link in resolved["chain"]:
                assert f"{link['outcome']}: {link['reason']}" in text, (mode_id, link)


async def test_the_using_ontoref_skill_points_at_the_served_tools(connect, mode: str) -> None:
    async with connect(mode) as client:
        skill = await get_skill(client, GUIDE_URI)
        assert skill["frontmatter"]["name"] == "using-ontoref"
        text = await read_text(client, GUIDE_URI)
        verify(skill, text)
        for tool in ("ontoref_search", "ontoref_qa_search", "ontoref_explain_path", "ontoref_mode_resolve", "ontoref_qa_add"):
            assert f"`{tool}`" in text, tool
    async with connect(mode, "--read-only", "--toolsets", "modes,qa") as client:
        text = await read_text(client, GUIDE_URI)
        assert "`ontoref_qa_search`" in text
        assert "ontoref_qa_add" not in text and "ontoref_explain_path" not in text, text


async def test_skills_are_served_with_the_modes_toolset_only(connect, mode: str) -> None:
    async with connect(mode, "--toolsets", "qa") as client:
        assert SKILLS_EXTENSION not in (client.server_capabilities.extensions or {})
        with pytest.raises(MCPError) as refused:
            await list_page(client)
        assert refused.value.code == -32601


async def test_an_edit_to_a_mode_file_changes_the_skill_and_its_digest(connect, fixture_project: Path, tmp_path: Path, mode: str) -> None:
    root = tmp_path / "project"
    shutil.copytree(fixture_project, root)
    modes = root / "reflection" / "modes"
    modes.mkdir(parents=True)
    ship = modes / "ship.ncl"

    def write(cmd: str) -> None:
        ship.write_text(
            'let m = import "schemas/mode.ncl" in\n'
            "m.make_mode {\n"
            '  id = "ship",\n'
            "  strategy = 'Override,\n"
            '  trigger = "a build is ready to ship",\n'
            "  steps = [\n"
            f'    {{ id = "push", action = "Push the build", actor = \'Agent, cmd = "{cmd}", verify = "the registry has it", on_error = \'Stop }},\n'
            "  ],\n"
            "}\n"
        )

    write("make push")
    async with connect(mode, project=root) as client:
        before = (await every_skill(client))[mode_uri("ship")]
        text = await read_text(client, mode_uri("ship"))
        verify(before, text)
        assert "command: `make push`" in text
        write("make push REGISTRY=staging")
        after = await get_skill(client, mode_uri("ship"))
        assert after["resources"][0]["digest"] != before["resources"][0]["digest"]
        assert (await every_skill(client))[mode_uri("ship")] == after
        text = await read_text(client, mode_uri("ship"))
        verify(after, text)
        assert "command: `make push REGISTRY=staging`" in text


async def test_an_unknown_skill_is_invalid_params_with_the_closest(connect, mode: str) -> None:
    async with connect(mode) as client:
        with pytest.raises(MCPError) as missing:
            await get_skill(client, mode_uri("relase"))
        assert missing.value.code == INVALID_PARAMS, missing.value.error
        assert missing.value.data["code"] == "skill-not-found"
        assert missing.value.data["closest"][0] == mode_uri("release")
        assert "relase" in missing.value.message
        with pytest.raises(MCPError) as unread:
            await client.read_resource(mode_uri("relase"))
        # Like any unknown resource: -32002 before 2026-07-28, -32602 from it on.
        assert unread.value.code == (RESOURCE_NOT_FOUND if mode == "legacy" else INVALID_PARAMS)
        assert unread.value.data["closest"][0] == mode_uri("release")
