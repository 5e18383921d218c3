"""The Python peer of `benches/peers.rs`: the Q&A server a Python developer
would write with the official MCP SDK's high-level API (`MCPServer`), over
stdio, serving the same store ontoref serves.

Usage: python peer_python.py STORE.json   (STORE.json: {"entries": [...]})

At start it indexes every entry in memory. `qa_search` ranks with BM25 over
id, question, tags and answer (a weighted term frequency per document, as
BM25F does) and answers in ontoref's shape: {results: [{id, question, score,
snippet, tags}], total_matches}. `qa_show` answers {entry}; an unknown id is
a tool error.
"""

from __future__ import annotations

import heapq
import json
import math
import re
import sys

from typing_extensions import TypedDict  # pydantic wants this one before Python 3.12

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

WORD = re.compile(r"[a-z0-9]+")
K1 = 1.2
B = 0.75
WEIGHTS = {"id": 3.0, "question": 2.5, "tags": 2.0, "answer": 1.0}


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


class Store:
    def __init__(self, entries: list[dict]) -> None:
        self.entries = entries
        self.by_id = {e["id"]: e for e in entries}
        self.postings: dict[str, list[tuple[int, float]]] = {}
        lengths: list[float] = []
        for doc, entry in enumerate(entries):
            freq: dict[str, float] = {}
            length = 0.0
            for field, weight in WEIGHTS.items():
                text = " ".join(entry[field]) if field == "tags" else entry[field]
                for w in words(text):
                    freq[w] = freq.get(w, 0.0) + weight
                    length += weight
            lengths.append(length)
            for w, f in freq.items():
                self.postings.setdefault(w, []).append((doc, f))
        n = len(entries) or 1
        average = (sum(lengths) / n) or 1.0
        self.norm = [K1 * (1 - B + B * length / average) for length in lengths]
        self.idf = {
            w: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for w, p in self.postings.items()
        }

    def search(self, query: str, limit: int) -> tuple[list[tuple[int, float]], int]:
        scores: dict[int, float] = {}
        for w in set(words(query)):
            for doc, f in self.postings.get(w, ()):
                scores[doc] = scores.get(doc, 0.0) + self.idf[w] * f * (K1 + 1) / (f + self.norm[doc])
        return heapq.nlargest(limit, scores.items(), key=lambda kv: kv[1]), len(scores)


def snippet(answer: str, query: str, width: int = 300) -> str:
    lower = answer.lower()
    at = next((p for p in (lower.find(w) for w in words(query)) if p >= 0), -1)
    start = max(0, at - width // 6) if at >= 0 else 0
    passage = " ".join(answer[start : start + width].split())
    return ("…" if start else "") + passage


class Hit(TypedDict):
    id: str
    question: str
    score: float
    snippet: str
    tags: list[str]


class Found(TypedDict):
    results: list[Hit]
    total_matches: int


class Entry(TypedDict):
    id: str
    question: str
    answer: str
    actor: str
    created_at: str
    tags: list[str]
    related: list[str]
    verified: bool


class Shown(TypedDict):
    entry: Entry


with open(sys.argv[1], encoding="utf-8") as f:
    STORE = Store(json.load(f)["entries"])

server = MCPServer("ontoref-bench-python-peer")


@server.tool()
def qa_search(query: str, limit: int = 10) -> Found:
    """Ranked search of the Q&A store (BM25 over id, question, tags and answer)."""
    top, total = STORE.search(query, max(1, min(limit, 50)))
    hits: list[Hit] = []
    for doc, score in top:
        e = STORE.entries[doc]
        hits.append(
            {
                "id": e["id"],
                "question": e["question"],
                "score": round(score, 3),
                "snippet": snippet(e["answer"], query),
                "tags": e["tags"],
            }
        )
    return {"results": hits, "total_matches": total}


@server.tool()
def qa_show(id: str) -> Shown:
    """One whole Q&A entry by id."""
    entry = STORE.by_id.get(id)
    if entry is None:
        raise ToolError(f"no entry with id {id!r}")
    return {"entry": entry}


if __name__ == "__main__":
    server.run("stdio")
