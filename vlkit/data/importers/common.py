"""Shared plumbing of the importers: reading official files, field checks, atomic store writes.

Every importer reads an official annotation file, turns each entry into a text record of the
schema in vlkit.data.schemas, and writes the result with `write_text_stores`, which validates
every record first and builds the whole output folder under a temporary name: on any error
nothing is left at the output path.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vlkit.data.schemas import check_record
from vlkit.data.stores.native_txt import NativeTextStoreWriter
from vlkit.text.tokenizer import get_tokenizer
from vlkit.utils.atomic import atomic_dir
from vlkit.utils.errors import DataError
from vlkit.utils.paths import safe_name

_KINDS = {"str": str, "int": int, "float": (int, float), "list": list, "dict": dict,
          "bool": bool}


def load_json(path: str | Path) -> Any:
    """Parse a JSON file; a missing or malformed file is a DataError naming it."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: not valid JSON: {err}") from err


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line of a JSON-lines file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    with open(path, encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(f"{path} line {lineno}: not valid JSON: {err}") from err
            if not isinstance(obj, dict):
                raise DataError(f"{path} line {lineno}: expected a JSON object, "
                                f"got {type(obj).__name__}")
            yield lineno, obj


def get_field(obj: Any, name: str, kind: str, path: str | Path, where: str) -> Any:
    """obj[name], checked to be of `kind` ("str", "int", "float", "list", "dict", "bool").

    `where` names the record in the source file ("question 17", "line 3").
    """
    if not isinstance(obj, dict):
        raise DataError(f"{path}: {where}: expected a JSON object, got {type(obj).__name__}")
    if name not in obj:
        raise DataError(f"{path}: {where}: missing field '{name}'")
    value = obj[name]
    bad_bool = isinstance(value, bool) and kind in ("int", "float")
    if bad_bool or not isinstance(value, _KINDS[kind]):
        raise DataError(f"{path}: {where}: field '{name}' must be {kind}, "
                        f"got {type(value).__name__} {value!r:.80}")
    return value


class Encoder:
    """Text -> WordPiece ids (no special tokens) with the store's vocabulary."""

    def __init__(self, vocab: str = "bert-base-uncased"):
        self.vocab = vocab
        self.tokenizer = get_tokenizer(vocab)

    def __call__(self, text: str) -> list[int]:
        return self.tokenizer.encode(text)


def validate(task: str, record: dict, path: str | Path, where: str) -> None:
    """Raise a DataError naming the source file and record if `record` breaks the schema."""
    problems = check_record(task, record)
    if problems:
        raise DataError(f"{path}: {where}: record '{record.get('id')}' does not fit the "
                        f"'{task}' schema: {'; '.join(problems)}")


def write_text_store(out: str | Path, task: str, records: list[dict], vocab: str,
                     meta: dict | None = None, overwrite: bool = False) -> Path:
    """Write one native text store atomically (records are already validated)."""
    with NativeTextStoreWriter(out, task=task, vocab=vocab, meta=meta, overwrite=overwrite) as w:
        for rec in records:
            w.add(rec)
    return Path(out)


def write_text_stores(out: str | Path, task: str, stores: dict[str, list[dict]], vocab: str,
                      meta: dict | None = None, extra_json: dict[str, Any] | None = None,
                      overwrite: bool = False) -> Path:
    """A folder `out/` with one text store per key of `stores` (e.g. per split) and optional
    extra JSON files, built under a temporary name and renamed when complete."""
    out = Path(out)
    for name in [*stores, *(extra_json or {})]:
        safe_name(name, f"{out}: output name")
    with atomic_dir(out, overwrite=overwrite) as tmp:
        for name, records in stores.items():
            write_text_store(tmp / name, task, records, vocab, meta)
        for name, obj in (extra_json or {}).items():
            (tmp / name).write_text(json.dumps(obj, ensure_ascii=False) + "\n", encoding="utf-8")
    return out


def check_out(out: str | Path, overwrite: bool) -> None:
    """Fail early (before parsing big files) if the output exists and may not be replaced."""
    if Path(out).exists() and not overwrite:
        raise DataError(f"{out} already exists; remove it or pass --overwrite")
