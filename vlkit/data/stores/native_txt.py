"""vlkit's native text store: one JSON object per line, plus a manifest.

Layout of a folder (format "vlkit-txt", version 1):
    manifest.json   format, version, num_records, task, vocab, meta (written last)
    records.jsonl   {"id": str, ...task fields} per line; see docs/formats.md

Text records are small; the whole store is read into memory on open. Readable with any
JSON tool, which is the point: no opaque formats.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vlkit.data.stores.manifest import read_manifest
from vlkit.utils.atomic import atomic_dir
from vlkit.utils.errors import DataError

FORMAT = "vlkit-txt"
VERSION = 1


class NativeTextStoreWriter:
    """Append dict records with a unique string "id"; `close()` finalises atomically."""

    def __init__(self, path: str | Path, task: str, vocab: str = "bert-base-uncased",
                 meta: dict[str, Any] | None = None, overwrite: bool = False):
        self.path = Path(path)
        self.header = {"task": task, "vocab": vocab, "meta": meta or {}}
        self._ctx = atomic_dir(self.path, overwrite=overwrite)
        self._tmp = self._ctx.__enter__()
        self._out = open(self._tmp / "records.jsonl", "w", encoding="utf-8")
        self._ids: set[str] = set()

    def add(self, record: dict[str, Any]) -> None:
        rid = record.get("id")
        if not isinstance(rid, str) or not rid:
            raise DataError(f"{self.path}: record {record!r:.200} needs a non-empty string 'id'")
        if rid in self._ids:
            raise DataError(f"{self.path}: duplicate record id '{rid}'")
        self._ids.add(rid)
        try:
            line = json.dumps(record, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as err:
            raise DataError(f"{self.path}: record '{rid}' is not JSON-serialisable: {err}") from err
        self._out.write(line + "\n")

    def close(self) -> None:
        self._out.close()
        manifest = {"format": FORMAT, "version": VERSION, "num_records": len(self._ids),
                    **self.header}
        (self._tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
        self._ctx.__exit__(None, None, None)

    def __enter__(self) -> NativeTextStoreWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is None:
            self.close()
        else:
            self._out.close()
            self._ctx.__exit__(exc_type, exc, tb)


class NativeTextStore:
    """All records of a native text store, in file order, addressable by id."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.manifest = read_manifest(self.path, "text", FORMAT, VERSION)
        self.records: dict[str, dict] = {}
        path = self.path / "records.jsonl"
        try:
            with open(path, "rb") as handle:
                for lineno, raw in enumerate(handle, 1):
                    self._add(raw, f"{path} line {lineno}")
        except OSError as err:
            raise DataError(f"{path}: cannot read: {err.strerror or err}") from err

    def _add(self, raw: bytes, where: str) -> None:
        try:
            rec = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as err:
            raise DataError(f"{where}: not UTF-8 text ({err.reason}); the file is damaged") from err
        except json.JSONDecodeError as err:
            raise DataError(f"{where}: bad JSON: {err}") from err
        if not isinstance(rec, dict) or not isinstance(rec.get("id"), str):
            raise DataError(f"{where}: expected an object with a string 'id'")
        if rec["id"] in self.records:  # silently keeping one would hide the other
            raise DataError(f"{where}: duplicate record id '{rec['id']}'")
        self.records[rec["id"]] = rec

    @property
    def task(self) -> str:
        return self.manifest.get("task", "")

    @property
    def meta(self) -> dict:
        return self.manifest.get("meta", {})

    def ids(self) -> list[str]:
        return list(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def __contains__(self, rid: str) -> bool:
        return rid in self.records

    def __iter__(self):
        return iter(self.records.values())

    def get(self, rid: str) -> dict:
        try:
            return self.records[rid]
        except KeyError:
            raise DataError(f"{self.path}: no record with id '{rid}'") from None
