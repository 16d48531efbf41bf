"""`DEST/alphalift-manifest.jsonl`: one JSON row per input, what a re-run trusts and a user reads.

A row: ``input``, ``output``, ``status`` (ok / failed / skipped), ``reason`` (a failure's one
line), ``options`` (what decides the output's pixels), ``seconds``, ``input_mtime``,
``input_size``, ``output_size``, ``worker``, ``finished``. While a job runs, each row is appended
as it arrives (a crash loses at most the line being written, which a reader ignores); at the
end the file is rewritten atomically with the latest row of each input.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from .storage import Store

FLUSH_SECONDS = 30.0  # how often object storage, which cannot append, gets the whole file


@dataclass
class Row:
    input: str
    output: str
    status: str  # "ok", "failed" or "skipped"
    reason: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    input_mtime: float | None = None
    input_size: int | None = None
    output_size: int | None = None
    worker: str = ""
    finished: str = ""

    def to_json(self) -> str:
        if not self.finished:
            self.finished = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> Row | None:
        try:
            data = json.loads(line)
            return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})
        except (ValueError, TypeError, KeyError):
            return None


class Manifest:
    """The rows of earlier runs (latest per input) plus this run's, written as they come."""

    def __init__(self, store: Store, path: str) -> None:
        self.store, self.path = store, path
        self.rows: dict[str, Row] = {}
        self._handle = None
        self._dirty_since: float | None = None
        self._load()

    def _load(self) -> None:
        if self.store.stat(self.path) is None:
            return
        for line in self.store.read_bytes(self.path).decode("utf-8", "replace").splitlines():
            row = Row.from_json(line)
            if row is not None:
                self.rows[row.input] = row

    def earlier(self, source: str) -> Row | None:
        return self.rows.get(source)

    def record(self, row: Row) -> None:
        self.rows[row.input] = row
        line = row.to_json() + "\n"
        if self.store.kind == "local":
            if self._handle is None:
                self._handle = open(self.path, "a", encoding="utf-8")
            self._handle.write(line)
            self._handle.flush()
            return
        now = time.monotonic()
        self._dirty_since = self._dirty_since or now
        if now - self._dirty_since >= FLUSH_SECONDS:
            self._write_all()

    def _write_all(self) -> None:
        text = "".join(row.to_json() + "\n" for row in self.rows.values())
        self.store.write_bytes(self.path, text.encode("utf-8"))
        self._dirty_since = None

    def close(self) -> None:
        """Rewrite the file with one row per input (atomically), dropping the journal's history."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        self._write_all()
