"""Live updates through the official MCP Python SDK (mcp 2.3.0), in both protocol eras.

A 2025-11-25 client subscribes (`resources/subscribe`) and receives
`notifications/resources/updated` through its message handler; a 2026-07-28 client opens
`subscriptions/listen` and receives typed events. Either way a subscribed client hears, within
one second, of an external edit of the file and of an `ontoref_qa_add` made by another server
process (another client's), and of the resource list changing when an id appears. Over stdio and
over Streamable HTTP.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.subscriptions import ResourcesListChanged, ResourceUpdated

from conftest import FIXTURE_PROJECT, READ_TIMEOUT_SECONDS
from test_http import serve_http

pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore:resources/(un)?subscribe is removed")]

# The bound: a subscribed client hears of a change within a second.
WITHIN = 1.0
NEW_ID = "learned-later"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE_PROJECT, root)
    return root


def first_entry(project: Path) -> tuple[str, str]:
    """The first Q&A entry's id and the first word of its question."""
    text = (project / "reflection" / "qa.ncl").read_text()
    id_ = re.search(r'id = "([^"]+)"', text)
    question = re.search(r'question = "(\w+)', text)
    assert id_ and question, text[:400]
    return id_.group(1), question.group(1)


def edit_question(project: Path, word: str, new: str) -> None:
    """Rewrites the first question starting with `word`, as an editor saving the file would."""
    path = project / "reflection" / "qa.ncl"
    text = path.read_text()
    assert f'question = "{word}' in text
    path.write_text(text.replace(f'question = "{word}', f'question = "{new}', 1))


Events = anyio.abc.ObjectReceiveStream


@asynccontextmanager
async def legacy_client(open_client: Callable[..., Client]) -> AsyncIterator[tuple[Client, Events]]:
    """A 2025-11-25 client whose resource notifications arrive on a stream, as events."""
    send, receive = anyio.create_memory_object_stream[Any](100)

    async def handler(message: Any) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            await send.send(ResourceUpdated(uri=str(message.params.uri)))
        elif isinstance(message, types.ResourceListChangedNotification):
            await send.send(ResourcesListChanged())

    async with open_client("legacy", handler) as client:
        yield client, receive


async def expect(events: Events, wanted: set[Any], started: float) -> None:
    """Waits until every event of `wanted` arrived (others are ignored), within a second of
    `started` (when the change was made)."""
    with anyio.fail_after(max(0.0, started + WITHIN - time.monotonic())):
        while wanted:
            event = await events.receive()
            wanted.discard(event)


async def add_from_another_process(open_client: Callable[..., Client]) -> None:
    async with open_client("legacy", None) as other:
        result = await other.call_tool(
            "ontoref_qa_add", {"id": NEW_ID, "question": "Learned later?", "answer": "Yes, by another agent."}
        )
        assert not result.is_error, result.structured_content
        assert result.structured_content["id"] == NEW_ID


Opener = Callable[..., AbstractAsyncContextManager[Client]]


@pytest.fixture(params=["stdio", "http"])
def open_client(request: pytest.FixtureRequest, ontoref_bin: Path, project: Path, cache_dir: Path,
                tmp_path: Path) -> AsyncIterator[Opener]:
    """`open_client(mode, message_handler)`: a client of a server on `project`, over stdio (each
    client its own server process) or HTTP (one server, each client its own MCP session)."""
    if request.param == "stdio":
        @asynccontextmanager
        async def over_stdio(mode: str, handler: Any) -> AsyncIterator[Client]:
            params = StdioServerParameters(
                command=str(ontoref_bin), args=["serve", "--project", str(project)],
                env={"ONTOREF_CACHE_DIR": str(cache_dir)}, cwd=str(tmp_path),
            )
            async with Client(params, mode=mode, read_timeout_seconds=READ_TIMEOUT_SECONDS,
                              message_handler=handler) as client:
                yield client
        yield over_stdio
        return
    # Over HTTP writes need a token file; the actor is the token's.
    token = "t" * 40
    tokens = tmp_path / "tokens"
    tokens.write_text(f"agent-http {hashlib.sha256(token.encode()).hexdigest()}\n")
    tokens.chmod(0o600)
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    with serve_http(ontoref_bin, project, cache_dir, "--token-file", str(tokens)) as url:
        @asynccontextmanager
        async def over_http(mode: str, handler: Any) -> AsyncIterator[Client]:
            async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
                async with Client(streamable_http_client(url, http_client=http), mode=mode,
                                  read_timeout_seconds=READ_TIMEOUT_SECONDS, message_handler=handler) as client:
                    yield client
        yield over_http


async def test_the_server_declares_subscriptions(open_client: Opener) -> None:
    async with open_client("legacy", None) as client:
        caps = client.session.get_server_capabilities() if hasattr(client.session, "get_server_capabilities") \
            else client.server_capabilities
        assert caps is not None and caps.resources is not None
        assert caps.resources.subscribe is True
        assert caps.resources.list_changed is True


async def test_a_legacy_subscriber_hears_of_an_edit_and_of_another_process_s_write(
        open_client: Opener, project: Path) -> None:
    id_, word = first_entry(project)
    uri = f"ontoref://qa/{id_}"
    async with legacy_client(open_client) as (client, events):
        await client.list_resources()
        await client.subscribe_resource(uri)
        await client.subscribe_resource(f"ontoref://qa/{NEW_ID}")

        started = time.monotonic()
        edit_question(project, word, "Edited: ")
        await expect(events, {ResourceUpdated(uri=uri)}, started)
        read = await client.read_resource(uri)
        assert "Edited: " in read.contents[0].text

        await add_from_another_process(open_client)
        started = time.monotonic()
        await expect(events, {ResourceUpdated(uri=f"ontoref://qa/{NEW_ID}"), ResourcesListChanged()}, started)
        read = await client.read_resource(f"ontoref://qa/{NEW_ID}")
        assert "Yes, by another agent." in read.contents[0].text


async def test_a_2026_listener_hears_of_an_edit_and_of_another_process_s_write(
        open_client: Opener, project: Path) -> None:
    id_, word = first_entry(project)
    uri = f"ontoref://qa/{id_}"
    async with open_client("2026-07-28", None) as client:
        async with client.listen(resources_list_changed=True,
                                 resource_subscriptions=[uri, f"ontoref://qa/{NEW_ID}", "ontoref://nope/x"]) as sub:
            # The URI no template serves is left out of what the server honours.
            assert sub.honored.resources_list_changed is True
            assert sorted(sub.honored.resource_subscriptions or []) == sorted([uri, f"ontoref://qa/{NEW_ID}"])

            events = aiter(sub)

            async def next_events(wanted: set[Any], started: float) -> None:
                with anyio.fail_after(WITHIN):
                    while wanted:
                        wanted.discard(await anext(events))
                assert time.monotonic() - started < WITHIN

            started = time.monotonic()
            edit_question(project, word, "Edited: ")
            await next_events({ResourceUpdated(uri=uri)}, started)
            read = await client.read_resource(uri)
            assert "Edited: " in read.contents[0].text

            await add_from_another_process(open_client)
            started = time.monotonic()
            await next_events({ResourceUpdated(uri=f"ontoref://qa/{NEW_ID}"), ResourcesListChanged()}, started)


async def test_an_edit_that_leaves_a_record_s_text_alone_notifies_no_one(open_client: Opener, project: Path) -> None:
    id_, _ = first_entry(project)
    async with legacy_client(open_client) as (client, events):
        await client.subscribe_resource(f"ontoref://qa/{id_}")
        # A comment added at the end of the file changes no record.
        path = project / "reflection" / "qa.ncl"
        path.write_text(path.read_text() + "\n# a comment\n")
        with pytest.raises(TimeoutError):
            with anyio.fail_after(0.6):
                await events.receive()


def write_ship_mode(project: Path, cmd: str) -> None:
    """A mode of the project's own (`reflection/modes/ship.ncl`) whose one step runs `cmd`."""
    modes = project / "reflection" / "modes"
    modes.mkdir(parents=True, exist_ok=True)
    (modes / "ship.ncl").write_text(
        'let m = import "schemas/mode.ncl" in\n'
        "m.make_mode {\n"
        '  id = "ship",\n'
        "  strategy = 'Override,\n"
        '  trigger = "a build is ready to ship",\n'
        "  steps = [\n"
        f'    {{ id = "push", action = "Push the build", actor = \'Agent, cmd = "{cmd}", '
        "verify = \"the registry has it\", on_error = 'Stop },\n"
        "  ],\n"
        "}\n"
    )


SHIP_SKILL = "skill://ontoref/modes/ship/SKILL.md"


async def test_a_subscribed_skill_follows_its_mode_file_in_both_eras(open_client: Opener, project: Path) -> None:
    write_ship_mode(project, "make push")
    # 2025-11-25: resources/subscribe on the skill's SKILL.md.
    async with legacy_client(open_client) as (client, events):
        await client.subscribe_resource(SHIP_SKILL)
        started = time.monotonic()
        write_ship_mode(project, "make push REGISTRY=staging")
        await expect(events, {ResourceUpdated(uri=SHIP_SKILL)}, started)
        read = await client.read_resource(SHIP_SKILL)
        assert "make push REGISTRY=staging" in read.contents[0].text
    # 2026-07-28: the skill's URI in a listen's filter.
    async with open_client("2026-07-28", None) as client:
        async with client.listen(resource_subscriptions=[SHIP_SKILL]) as sub:
            assert sub.honored.resource_subscriptions == [SHIP_SKILL]
            started = time.monotonic()
            write_ship_mode(project, "make push REGISTRY=prod")
            with anyio.fail_after(WITHIN):
                assert await anext(aiter(sub)) == ResourceUpdated(uri=SHIP_SKILL)
            assert time.monotonic() - started < WITHIN
