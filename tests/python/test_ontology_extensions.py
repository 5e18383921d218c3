"""The ontology extension tools driven by the official MCP Python SDK over stdio.

Each test makes a project whose snapshot (`.ontoref/ontologies/`) holds part of the real MIF
corpus (v0.4.0, `../shared/fixtures/mif/corpus-v0.4.0` beside the repository): the attested
index byte for byte, the files, and a lock and `snapshot.json` written here from hashes computed
here. Every test runs in both connection modes; the SDK checks each structured result against the
tool's outputSchema.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

pytestmark = pytest.mark.anyio

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "mif" / "corpus-v0.4.0"

WIDEST = "regenerative-agriculture-research"
# Its extends closure, bases first, as the resolver orders it.
WIDEST_CLOSURE = ["mif-base", "shared-traits", "research", "agriculture", "engineering-base", "mif-generic", WIDEST]
# Its own entity types, in file order (read from the YAML with PyYAML when this test was written).
WIDEST_ENTITY_TYPES = [
    "husbandry-practice", "agronomic-practice", "farm-infrastructure", "grant-program", "equipment-or-input",
    "parturition-protocol", "neonatal-care", "periparturient-nutrition", "livestock-health-condition",
    "breed-characteristic", "fencing-system", "irrigation-system", "connectivity-link", "sensor-or-edge-node",
    "power-system", "network-segment", "iot-device", "fencing-component", "conservation-cost-share",
    "adoption-trend", "compliance-regulation",
]
SOURCE = "https://mif-spec.dev/ontologies/"


@pytest.fixture(params=["legacy", "auto"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def vendor(root: Path, ids: list[str], verified_by: str | None = None) -> Path:
    """Write the snapshot of `ids` into the project at `root`; return the snapshot directory."""
    assert (CORPUS / "index.json").is_file(), CORPUS
    snapshot = root / ".ontoref" / "ontologies"
    snapshot.mkdir(parents=True)
    index_bytes = (CORPUS / "index.json").read_bytes()
    (snapshot / "index.json").write_bytes(index_bytes)
    index = json.loads(index_bytes)
    pins = {}
    for ontology_id in ids:
        entry = index["ontologies"][ontology_id]
        shutil.copyfile(CORPUS / entry["file"], snapshot / entry["file"])
        pins[ontology_id] = {"sha256": sha256((snapshot / entry["file"]).read_bytes()), "version": entry["version"]}
    lock = {"index_sha256": sha256(index_bytes), "ontologies": pins, "schema": "mif-ontology-lock/v1", "source": SOURCE}
    (snapshot / "ontologies.lock.json").write_text(json.dumps(lock, sort_keys=True, indent=2) + "\n")
    meta = {"source": SOURCE, "verified_by": verified_by, "vendored_at": "2026-07-24T10:00:00Z"}
    (snapshot / "snapshot.json").write_text(json.dumps(meta, sort_keys=True, indent=2) + "\n")
    return snapshot


async def call_ok(client: Client, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(name, arguments)
    assert not result.is_error, f"{name}({arguments}) failed: {result.structured_content or result.content}"
    assert isinstance(result.structured_content, dict), result
    return result.structured_content


async def call_err(client: Client, name: str, arguments: dict[str, Any], code: str) -> dict[str, Any]:
    result = await client.call_tool(name, arguments)
    assert result.is_error is True, f"{name}({arguments}) did not fail: {result.structured_content}"
    error = result.structured_content["error"]
    assert error["code"] == code, error
    assert error["message"] and error["hint"], error
    return error


async def test_ontology_extensions_list_and_get_resolved_sections(connect, tmp_path: Path, mode: str) -> None:
    root = tmp_path / "project"
    vendor(root, WIDEST_CLOSURE)
    async with connect(mode, project=root) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"ontoref_list_ontology_extensions", "ontoref_get_ontology_extension"} <= names

        listing = await call_ok(client, "ontoref_list_ontology_extensions", {})
        assert listing["total"] == 7
        assert [e["id"] for e in listing["extensions"]] == sorted(WIDEST_CLOSURE)
        widest = next(e for e in listing["extensions"] if e["id"] == WIDEST)
        assert widest["version"] == "0.6.0"
        assert widest["entity_types"] == len(WIDEST_ENTITY_TYPES)
        assert widest["extends"] == ["research", "agriculture", "engineering-base", "mif-generic"]
        assert widest["verified"] is False
        assert widest["sha256"] == sha256((CORPUS / f"{WIDEST}.ontology.yaml").read_bytes())
        assert listing["snapshot"] == {"source": SOURCE, "verified": False, "vendored_at": "2026-07-24T10:00:00Z"}
        assert "hash-pinned only" in listing["hint"]

        # The resolved view (the default), entity types a page at a time.
        seen: list[str] = []
        cursor = None
        while True:
            args: dict[str, Any] = {"id": WIDEST, "section": "entity_types", "limit": 6}
            if cursor:
                args["cursor"] = cursor
            page = await call_ok(client, "ontoref_get_ontology_extension", args)
            assert page["view"] == "resolved" and page["section"] == "entity_types"
            assert page["content"]["closure"] == WIDEST_CLOSURE
            assert page["page"]["offset"] == len(seen) and page["page"]["total"] == len(WIDEST_ENTITY_TYPES)
            seen += [t["name"] for t in page["content"]["entity_types"]]
            cursor = page.get("next_cursor")
            if cursor is None:
                break
        assert seen == WIDEST_ENTITY_TYPES

        # Resolved traits: the closure's, each with the ontology it came from.
        traits = await call_ok(client, "ontoref_get_ontology_extension",
                               {"id": WIDEST, "view": "resolved", "section": "traits", "limit": 200})
        assert "lifecycle" in traits["content"]["traits"]
        assert traits["content"]["provenance"]["traits"]["lifecycle"] == "shared-traits"
        assert traits["content"]["provenance"]["traits"]["cited"] == WIDEST
        raw = await call_ok(client, "ontoref_get_ontology_extension", {"id": WIDEST, "view": "raw", "section": "traits"})
        assert list(raw["content"]["traits"]) == ["cited"]

        await call_err(client, "ontoref_get_ontology_extension", {"id": "regenerative-agriculture-reserch"},
                       "ontology-not-found")
        await call_err(client, "ontoref_get_ontology_extension", {"id": "cosmology"}, "ontology-not-enabled")


async def test_ontology_extension_tampered_parent_is_refused(connect, tmp_path: Path, mode: str) -> None:
    root = tmp_path / "project"
    snapshot = vendor(root, WIDEST_CLOSURE, verified_by="gh attestation verify")
    async with connect(mode, project=root) as client:
        before = await call_ok(client, "ontoref_get_ontology_extension", {"id": WIDEST, "section": "relationships"})
        assert before["verified"] is True
        parent = snapshot / "engineering-base.ontology.yaml"
        original = parent.read_bytes()
        parent.write_bytes(original + b"# edited after vendoring\n")
        error = await call_err(client, "ontoref_get_ontology_extension", {"id": WIDEST, "section": "relationships"},
                               "ontology-tampered")
        assert "engineering-base.ontology.yaml" in error["message"]
        assert sha256(original) in error["message"]
        assert "ontoref ontology check" in error["hint"]
        # The raw view reads the id's own file only, which is intact.
        raw = await call_ok(client, "ontoref_get_ontology_extension", {"id": WIDEST, "view": "raw", "section": "traits"})
        assert raw["sha256"] == sha256((snapshot / f"{WIDEST}.ontology.yaml").read_bytes())


async def test_ontology_extensions_without_a_snapshot(connect, mode: str) -> None:
    async with connect(mode) as client:
        error = await call_err(client, "ontoref_list_ontology_extensions", {}, "ontology-not-vendored")
        assert "ontoref ontology vendor" in error["hint"]
