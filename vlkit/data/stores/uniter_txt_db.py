"""Reader for UNITER's released text databases (`*.db` folders made by UNITER's prepro.py).

Layout of a txt_db folder:
    data.mdb       LMDB, one unnamed database; key = record id (UTF-8), value =
                   LZ4-frame-compressed MessagePack map (msgpack-numpy arrays allowed)
    meta.json      prepro options + special ids UNK, CLS, SEP, MASK; v_range=[id of "!", vocab size]
                   (released DBs also name the tokenizer under "bert" / "toker")
    id2len.json    {id: len(input_ids)}; UNITER's datasets iterate these ids, in this order
    txt2img.json   {id: image file name or [names]} (optional here)
    img2txts.json  {image file name: [ids]} (optional)

Values are returned exactly as UNITER's TxtLmdb decodes them, plus an "id" field (the LMDB key)
when the record has none, so that the record fits vlkit's text-record contract.
`vlkit.data.stores.uniter_records` turns those records into each vlkit task's record shape.

The token ids are those of the vocabulary prepro.py was given (meta.json "toker"/"bert";
UNITER's released databases: bert-base-cased, 28,996 tokens): `manifest` states its name, size
and special ids, so that datasets and models need no vocab.txt to read the stored ids.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vlkit.data.stores.lmdb_reader import LmdbReader, unpack_msgpack
from vlkit.utils.errors import DataError

# UNITER task names (meta.json "task" or the folder name prefix) -> vlkit task names.
_TASK_NAMES = {"nlvr": "nlvr2", "nlvr2": "nlvr2", "re": "refer", "refcoco": "refer",
               "refcocog": "refer", "refcoco+": "refer", "vqa": "vqa", "ve": "snli_ve",
               "snli": "snli_ve", "vcr": "vcr", "itm": "caption", "coco": "caption",
               "flickr": "caption", "flickr30k": "caption", "cc": "caption", "sbu": "caption",
               "pretrain": "caption", "vg": "caption"}


def is_uniter_txt_db(path: str | Path) -> bool:
    """True when `path` looks like a UNITER txt_db (meta.json next to data.mdb)."""
    path = Path(path)
    return (path / "meta.json").is_file() and (path / "data.mdb").is_file()


def vocab_name(meta: dict[str, Any]) -> str:
    """The tokenizer prepro.py used, as a vocabulary name: "bert-base-cased" for the released
    DBs; a path such as "./bert-base-uncased-vocab" becomes "bert-base-uncased"."""
    raw = str(meta.get("bert") or meta.get("toker") or meta.get("tokenizer") or "")
    name = raw.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    for suffix in (".txt", "-vocab", "_vocab"):
        name = name.removesuffix(suffix)
    return name or "unknown"


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise DataError(f"{path}: cannot read JSON: {err}") from err


class UniterTextStore:
    """Read-only view of a UNITER txt_db with NativeTextStore's API.

    `ids()` follows id2len.json (what UNITER's datasets iterate) and falls back to the LMDB
    key order when id2len.json is absent; `db_ids()` always lists the LMDB keys.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not is_uniter_txt_db(self.path):
            raise DataError(f"{self.path}: not a UNITER txt_db (expected meta.json and data.mdb)")
        self.meta: dict[str, Any] = _load_json(self.path / "meta.json")
        self._db = LmdbReader(self.path)
        id2len_path = self.path / "id2len.json"
        self.id2len: dict[str, int] | None = (
            _load_json(id2len_path) if id2len_path.is_file() else None)
        self._ids: list[str] | None = list(self.id2len) if self.id2len is not None else None
        self._id_set: set[str] | None = None
        self._txt2img: dict[str, Any] | None = None
        self._manifest: dict[str, Any] | None = None

    @property
    def task(self) -> str:
        """vlkit task name, best effort: meta.json "task", else the folder name's prefix."""
        name = str(self.meta.get("task") or "")
        if name in _TASK_NAMES:
            return _TASK_NAMES[name]
        stem = self.path.name.lower()
        prefix = re.split(r"[_.\-]", stem, maxsplit=1)[0]
        return _TASK_NAMES.get(prefix, name)

    @property
    def vocab_size(self) -> int | None:
        """Exclusive upper bound of token ids: meta v_range[1], else the named BERT vocab."""
        v_range = self.meta.get("v_range")
        if isinstance(v_range, list | tuple) and len(v_range) == 2:
            return int(v_range[1])
        name = str(self.meta.get("bert") or self.meta.get("toker") or "")
        if "uncased" in name:
            return 30522
        if "cased" in name:
            return 28996
        return None

    @property
    def manifest(self) -> dict[str, Any]:
        """What datasets read from any text store, derived from meta.json: task, vocabulary
        name, whether prepro.py lower-cased ("uncased" in the tokenizer name) and, when
        meta.json gives them, the vocabulary size, special ids and UNITER's random-token
        range (v_range); "meta" adds the answer vocabulary of a VQA txt_db (an
        ans2label.json in or beside the folder)."""
        if self._manifest is None:
            name = vocab_name(self.meta)
            manifest = {"format": "uniter-txt_db", "task": self.task, "vocab": name,
                        "lowercase": "uncased" in name, "meta": self._task_meta()}
            specials = {k.lower(): int(self.meta[k]) for k in ("CLS", "SEP", "MASK", "UNK")
                        if k in self.meta}
            size = self.vocab_size
            if size is not None and {"cls", "sep", "mask"} <= specials.keys():
                v_range = self.meta.get("v_range") or [999, size]
                manifest.update(vocab_size=size, special_ids=specials,
                                random_range=[int(v) for v in v_range])
            self._manifest = manifest
        return self._manifest

    @property
    def declared_task(self) -> str | None:
        """vlkit task name of meta.json's "task", when it has a known one (no guessing)."""
        return _TASK_NAMES.get(str(self.meta.get("task") or ""))

    def side_file(self, name: str) -> Any:
        """A JSON file beside data.mdb (images.json, refs.json, ...); DataError when absent."""
        return _load_json(self.path / name)

    def _task_meta(self) -> dict[str, Any]:
        meta = dict(self.meta)
        for path in (self.path / "ans2label.json", self.path.parent / "ans2label.json"):
            if path.is_file():
                ans2label = {str(a): int(k) for a, k in _load_json(path).items()}
                meta["ans2label"] = ans2label
                meta["label2ans"] = sorted(ans2label, key=ans2label.__getitem__)
                break
        return meta

    @property
    def txt2img(self) -> dict[str, Any]:
        """{id: image name or [names]} from txt2img.json, else from each record's img_fname."""
        if self._txt2img is None:
            path = self.path / "txt2img.json"
            if path.is_file():
                self._txt2img = _load_json(path)
            else:
                self._txt2img = {rid: rec["img_fname"] for rid, rec in self._items()
                                 if "img_fname" in rec}
        return self._txt2img

    @property
    def img2txts(self) -> dict[str, list[str]] | None:
        path = self.path / "img2txts.json"
        return _load_json(path) if path.is_file() else None

    def db_ids(self) -> list[str]:
        """Every key stored in data.mdb (LMDB order)."""
        return [k for k in self._db.keys() if k != "__keys__"]

    def ids(self) -> list[str]:
        if self._ids is None:
            self._ids = self.db_ids()
        return list(self._ids)

    def __len__(self) -> int:
        return len(self.ids())

    def __contains__(self, rid: str) -> bool:
        if self._id_set is None:
            self._id_set = set(self.ids())
        return rid in self._id_set

    def get(self, rid: str) -> dict[str, Any]:
        """The decoded record; raises DataError when the id is absent or undecodable."""
        raw = self._db.get(rid)
        if raw is None:
            raise DataError(f"{self.path}: no record with id '{rid}'")
        record = self._decode(raw, rid)
        if "id" not in record:
            record["id"] = rid
        return record

    def _decode(self, raw: bytes, rid: str) -> dict[str, Any]:
        import lz4.frame

        where = f"{self.path}/data.mdb: record '{rid}'"
        try:
            data = lz4.frame.decompress(raw)
        except RuntimeError as err:
            raise DataError(f"{where}: value is not LZ4-frame compressed: {err}") from err
        record = unpack_msgpack(data, where)
        if not isinstance(record, dict):
            raise DataError(f"{where}: expected a MessagePack map, got {type(record).__name__}")
        return record

    def _items(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for rid in self.ids():
            yield rid, self.get(rid)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for _, record in self._items():
            yield record

    def close(self) -> None:
        self._db.close()
