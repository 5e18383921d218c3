"""Fixtures for the MCP SDK integration tests of `ontoref serve`.

The server is the release binary (override with ONTOREF_BIN), started over stdio
by the official Python SDK (`mcp` 2.3.0) against tests/fixtures/project, with its
evaluation cache in a per-test temporary directory.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_BIN = REPO / "target" / "release" / "ontoref"
FIXTURE_PROJECT = REPO / "tests" / "fixtures" / "project"

# Seconds any one request may take before the SDK gives up (a hung server must fail, not hang).
READ_TIMEOUT_SECONDS = 30.0


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    # Only asyncio: trio is not a test dependency.
    return "asyncio"


@pytest.fixture(scope="session")
def ontoref_bin() -> Path:
    path = Path(os.environ.get("ONTOREF_BIN", str(DEFAULT_BIN))).resolve()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"ontoref binary not found or not executable: {path} (build it, or set ONTOREF_BIN)")
    return path


@pytest.fixture(scope="session")
def fixture_project() -> Path:
    assert (FIXTURE_PROJECT / "reflection" / "qa.ncl").is_file(), FIXTURE_PROJECT
    return FIXTURE_PROJECT


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    path = tmp_path / "ontoref-cache"
    path.mkdir()
    return path


ClientFactory = Callable[..., AbstractAsyncContextManager[Client]]


@pytest.fixture
def server_params(ontoref_bin: Path, fixture_project: Path, cache_dir: Path) -> Callable[..., StdioServerParameters]:
    """Build the stdio launch parameters; extra CLI flags go after `serve --project DIR`."""

    def build(*extra_args: str, project: Path | None = None, env: dict[str, str] | None = None) -> StdioServerParameters:
        # stdio_client passes the child only HOME/LOGNAME/PATH/SHELL/TERM/USER plus `env`,
        # so ONTOREF_PROJECT_ROOT / ONTOREF_ACTOR / RUST_LOG from the caller cannot leak in.
        return StdioServerParameters(
            command=str(ontoref_bin),
            args=["serve", "--project", str(project or fixture_project), *extra_args],
            env={"ONTOREF_CACHE_DIR": str(cache_dir), **(env or {})},
            # A directory with no reflection/ above it: the project must come from --project.
            cwd=str(cache_dir.parent),
        )

    return build


@pytest.fixture
def connect(server_params: Callable[..., StdioServerParameters]) -> ClientFactory:
    """`async with connect(mode, *extra_args, project=, env=) as client:` a connected SDK client."""

    @asynccontextmanager
    async def open_client(
        mode: str, *extra_args: str, project: Path | None = None, env: dict[str, str] | None = None
    ) -> AsyncIterator[Client]:
        params = server_params(*extra_args, project=project, env=env)
        client = Client(params, mode=mode, read_timeout_seconds=READ_TIMEOUT_SECONDS)
        async with client:
            yield client

    return open_client
