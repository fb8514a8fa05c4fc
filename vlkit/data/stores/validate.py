"""Check every record of a store and report each problem by record id and field.

Image records: finite values; feat (N, D) with one D for the whole store; boxes (N, 7) inside
[0, 1] with x2 >= x1 and y2 >= y1; N >= 1; soft_labels and extras with N rows.
Text records: an "id"; token ids (input_ids, or question/answer/rationale ids for VCR) that are
integers in [0, vocab size); finite numbers; image ids (img_id, img_ids, UNITER's img_fname or
txt2img.json) present in at least one of the given image stores.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vlkit.data.records import ImageRecord
from vlkit.data.stores.manifest import read_json
from vlkit.data.stores.native_img import FORMAT as IMG_FORMAT
from vlkit.data.stores.native_img import NativeImageStore
from vlkit.data.stores.native_txt import FORMAT as TXT_FORMAT
from vlkit.data.stores.open import open_store, store_kind
from vlkit.data.stores.uniter_txt_db import UniterTextStore
from vlkit.utils.errors import DataError, VlkitError

BOX_TOL = 1e-3  # float16 storage rounds box coordinates by up to ~5e-4
TOKEN_FIELDS = ("input_ids", "question_ids", "answer_ids", "rationale_ids")
IMAGE_REF_FIELDS = ("img_id", "img_ids", "img_fname")


@dataclass(frozen=True)
class Problem:
    """One defect: which record, which field, what is wrong."""

    record: str
    field: str
    what: str

    def __str__(self) -> str:
        return f"record {self.record}: {self.field}: {self.what}"


def validate_store(path: str | Path, *, img_stores: Sequence[str | Path | Any] = (),
                   vocab_size: int | None = None) -> list[Problem]:
    """Every problem in the store at `path` (image or text store of any supported format).

    img_stores: image stores (paths or opened stores) that text records' image ids must be in;
    empty = do not check image references. vocab_size: overrides the store's own vocabulary.
    """
    path = Path(path)
    if _is_native_text(path):
        store: Any = _NativeTextFile(path)
    elif _manifest_format(path) == IMG_FORMAT:  # list every bad index row, don't stop
        return validate_image_store(NativeImageStore(path, refuse_bad_rows=False))
    else:
        store = open_store(path)
        if store_kind(store) == "image":
            return validate_image_store(store)
    images = [s if not isinstance(s, str | Path) else open_store(s) for s in img_stores]
    for s, given in zip(images, img_stores, strict=True):
        if store_kind(s) != "image":
            raise DataError(f"{given}: expected an image store, found a text store")
    return validate_text_store(store, images, store_vocab_size(store, vocab_size))


class _NativeTextFile:
    """A native text store's manifest and path, without loading (and rejecting) its records."""

    def __init__(self, path: Path):
        self.path = path
        self.manifest = read_json(path / "manifest.json", dict)
        self.task = self.manifest.get("task", "")


def _is_native_text(path: Path) -> bool:
    return _manifest_format(path) == TXT_FORMAT


def _manifest_format(path: Path) -> str | None:
    try:
        return json.loads((path / "manifest.json").read_text()).get("format")
    except (OSError, ValueError, AttributeError):
        return None


# ---------------------------------------------------------------------- image stores
def validate_image_store(store: Any) -> list[Problem]:
    """Problems of every record of an image store (anything with ids() and get())."""
    problems: list[Problem] = []
    dims: dict[int, str] = {}
    read = getattr(store, "get_unchecked", store.get)  # report bad values, don't refuse them
    bad_rows = getattr(store, "bad_rows", {})
    for rid in store.ids():
        if rid in bad_rows:
            problems.append(Problem(rid, "index.json", bad_rows[rid]))
            continue
        try:
            rec = read(rid)
        except VlkitError as err:
            problems.append(Problem(rid, "record", f"unreadable: {err}"))
            continue
        problems.extend(check_image_record(rec, dims))
    return problems


def check_image_record(rec: ImageRecord, dims: dict[int, str] | None = None) -> list[Problem]:
    """Problems of one record; `dims` collects feature sizes seen so far (dim -> first id)."""
    out: list[Problem] = []
    feat = np.asarray(rec.feat)
    if feat.ndim != 2:
        return [Problem(rec.id, "feat", f"must be 2-D (num_boxes, dim), got shape {feat.shape}")]
    n, dim = feat.shape
    if n == 0:
        out.append(Problem(rec.id, "feat", "no regions (num_boxes = 0)"))
    if dims is not None:
        dims.setdefault(dim, rec.id)
        first_dim = next(iter(dims))
        if dim != first_dim:
            out.append(Problem(rec.id, "feat", f"dim {dim} differs from dim {first_dim} "
                                               f"of record {dims[first_dim]}"))
    out += _nonfinite(rec.id, "feat", feat)
    out += _check_boxes(rec.id, np.asarray(rec.boxes), n)
    arrays = dict(rec.extras)
    if rec.soft_labels is not None:
        arrays = {"soft_labels": rec.soft_labels, **arrays}
    for name, arr in arrays.items():
        arr = np.asarray(arr)
        if name == "soft_labels" and arr.ndim != 2:
            out.append(Problem(rec.id, name, f"must be 2-D ({n}, classes), got {arr.shape}"))
        elif arr.ndim == 0 or arr.shape[0] != n:
            out.append(Problem(rec.id, name, f"has shape {arr.shape}, expected {n} rows"))
        out += _nonfinite(rec.id, name, arr)
    return out


def _check_boxes(rid: str, boxes: np.ndarray, n: int) -> list[Problem]:
    if boxes.shape != (n, 7):
        return [Problem(rid, "boxes", f"must be ({n}, 7), got {boxes.shape}")]
    bad = _nonfinite(rid, "boxes", boxes)
    if bad:
        return bad
    out = []
    outside = np.flatnonzero(((boxes < -BOX_TOL) | (boxes > 1 + BOX_TOL)).any(axis=1))
    if outside.size:
        out.append(Problem(rid, "boxes", f"{outside.size} box(es) outside [0, 1], "
                                         f"first row {outside[0]}: {boxes[outside[0]].tolist()}"))
    flipped = np.flatnonzero((boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1]))
    if flipped.size:
        out.append(Problem(rid, "boxes", f"{flipped.size} box(es) with x2 < x1 or y2 < y1, "
                                         f"first row {flipped[0]}: {boxes[flipped[0]].tolist()}"))
    return out


def _nonfinite(rid: str, name: str, arr: np.ndarray) -> list[Problem]:
    if arr.dtype.kind != "f":
        return []
    count = int(arr.size - np.count_nonzero(np.isfinite(arr)))
    return [Problem(rid, name, f"{count} non-finite value(s)")] if count else []


# ---------------------------------------------------------------------- text stores
def store_vocab_size(store: Any, explicit: int | None = None) -> int | None:
    """Token ids must be below this: `explicit`, else the store's own vocabulary size."""
    if explicit is not None:
        return explicit
    if isinstance(store, UniterTextStore):
        return store.vocab_size
    if store.manifest.get("vocab_size"):  # a UNITER txt_db seen as a task's records
        return int(store.manifest["vocab_size"])
    vocab = store.manifest.get("vocab")
    if not vocab:
        return None
    from vlkit.text.tokenizer import get_tokenizer

    try:
        return len(get_tokenizer(vocab))
    except VlkitError as err:
        raise DataError(f"{store.path}: cannot load the store's vocab {vocab!r} ({err}); "
                        "pass --vocab-size") from err


def validate_text_store(store: Any, img_stores: Sequence[Any] = (),
                        vocab_size: int | None = None) -> list[Problem]:
    """Problems of every record of a text store (UniterTextStore, or a native store whose
    records.jsonl is read line by line), optionally checking image ids against `img_stores`."""
    problems: list[Problem] = []
    num_answers = store_num_answers(store)
    txt2img = store.txt2img if isinstance(store, UniterTextStore) else {}
    id2len = store.id2len if isinstance(store, UniterTextStore) else None
    task = getattr(store, "task", "")
    seen: set[str] = set()
    for label, rec in _text_records(store):
        if isinstance(rec, VlkitError):
            problems.append(Problem(label, "record", f"unreadable: {rec}"))
            continue
        problems += check_text_record(rec, task, vocab_size, label, num_answers)
        if rec.get("id") in seen:
            problems.append(Problem(label, "id", "duplicate record id"))
        seen.add(rec.get("id"))
        if id2len is not None:
            problems += _check_id2len(label, rec, id2len)
        if img_stores:
            refs = list(_image_refs(rec))
            if not refs and label in txt2img:
                refs.append(("txt2img.json", txt2img[label]))
            problems += _missing_images(label, refs, img_stores)
    return problems


def _text_records(store: Any) -> Iterable[tuple[str, dict | VlkitError]]:
    """(label, record or the error reading it) for every stored record, raw where possible.

    A native store's records.jsonl is read line by line so that lines the loader would
    reject (bad JSON, no id) are reported instead of stopping the check.
    """
    if isinstance(store, UniterTextStore):
        for rid in store.db_ids():
            try:
                yield rid, store.get(rid)
            except VlkitError as err:
                yield rid, err
        return
    path = Path(store.path) / "records.jsonl"
    with open(path, "rb") as handle:
        for lineno, line in enumerate(handle, 1):
            try:
                rec = json.loads(line.decode("utf-8"))
            except UnicodeDecodeError as err:
                yield f"line {lineno}", DataError(f"{path} line {lineno}: not UTF-8 text "
                                                  f"({err.reason})")
                continue
            except json.JSONDecodeError as err:
                yield f"line {lineno}", DataError(f"{path} line {lineno}: bad JSON: {err}")
                continue
            if not isinstance(rec, dict):
                yield f"line {lineno}", DataError(f"{path} line {lineno}: not a JSON object")
                continue
            rid = rec.get("id")
            yield (rid if isinstance(rid, str) and rid else f"line {lineno}"), rec


def check_text_record(rec: dict, task: str = "", vocab_size: int | None = None,
                      label: str | None = None, num_answers: int | None = None) -> list[Problem]:
    """Problems of one text record (id, token ids, answer labels, non-finite numbers).

    The one set of record checks: `vlkit data validate` reports them, and the stores that
    training and evaluation open (vlkit.data.stores.checked) refuse them.
    label: how to name the record in problems (default: its id).
    num_answers: VQA answer vocabulary size; target labels must be below it.
    """
    rid = label if label is not None else str(rec.get("id"))
    out = []
    if not isinstance(rec.get("id"), str) or not rec.get("id"):
        out.append(Problem(rid, "id", "missing or not a non-empty string"))
    required = "question_ids" if task == "vcr" else "input_ids"
    if required not in rec:
        out.append(Problem(rid, required, "missing"))
    for name in TOKEN_FIELDS:
        if name in rec:
            out += _check_token_ids(rid, name, rec[name], vocab_size)
    if num_answers is not None and isinstance(rec.get("target"), dict):
        out += _check_answer_labels(rid, rec["target"], num_answers)
    for where in _nonfinite_paths(rec, ""):
        out.append(Problem(rid, where, "non-finite number"))
    return out


def store_num_answers(store: Any) -> int | None:
    """A VQA store's answer vocabulary size (from its meta's label2ans / ans2label), or None."""
    meta = (getattr(store, "manifest", None) or {}).get("meta") or {}
    if getattr(store, "task", "") != "vqa" or not isinstance(meta, dict):
        return None
    if isinstance(meta.get("label2ans"), list):
        return len(meta["label2ans"])
    if isinstance(meta.get("ans2label"), dict) and meta["ans2label"]:
        return max(int(v) for v in meta["ans2label"].values()) + 1
    return None


def _check_answer_labels(rid: str, target: dict, num_answers: int) -> list[Problem]:
    labels, scores = target.get("labels", []), target.get("scores", [])
    if not isinstance(labels, list) or not isinstance(scores, list) or len(labels) != len(scores):
        return [Problem(rid, "target", "labels and scores must be lists of equal length")]
    bad = [k for k in labels if isinstance(k, bool) or not isinstance(k, int)
           or not 0 <= k < num_answers]
    if bad:
        return [Problem(rid, "target.labels", f"{len(bad)} label(s) outside the answer "
                                              f"vocabulary [0, {num_answers}), e.g. {bad[0]!r}")]
    return []


def _check_token_ids(rid: str, name: str, ids: Any, vocab_size: int | None) -> list[Problem]:
    flat = list(_flatten(ids))
    bad_type = [x for x in flat if isinstance(x, bool) or not isinstance(x, int | np.integer)]
    if bad_type:
        return [Problem(rid, name, f"{len(bad_type)} non-integer token id(s), "
                                   f"e.g. {bad_type[0]!r}")]
    high = vocab_size if vocab_size is not None else math.inf
    bad = [int(x) for x in flat if x < 0 or x >= high]
    if not bad:
        return []
    limit = f"[0, {vocab_size})" if vocab_size is not None else "[0, inf)"
    return [Problem(rid, name, f"{len(bad)} token id(s) outside the vocabulary {limit}, "
                               f"e.g. {bad[0]}")]


def _check_id2len(rid: str, rec: dict, id2len: dict[str, int]) -> list[Problem]:
    if rid not in id2len:
        return [Problem(rid, "id2len.json", "record is in data.mdb but not in id2len.json")]
    ids = rec.get("input_ids")
    if isinstance(ids, list | np.ndarray) and id2len[rid] != len(ids):
        return [Problem(rid, "id2len.json", f"says {id2len[rid]} tokens, input_ids has {len(ids)}")]
    return []


def _flatten(value: Any) -> Iterable[Any]:
    if isinstance(value, list | tuple | np.ndarray):
        for item in value:
            yield from _flatten(item)
    else:
        yield value


def _nonfinite_paths(value: Any, where: str) -> Iterable[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _nonfinite_paths(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _nonfinite_paths(item, f"{where}[{i}]")
    elif isinstance(value, np.ndarray) and value.dtype.kind == "f":
        if not np.isfinite(value).all():
            yield where
    elif isinstance(value, float) and not math.isfinite(value):
        yield where


def _image_refs(rec: dict) -> Iterable[tuple[str, Any]]:
    for name in IMAGE_REF_FIELDS:
        if name in rec:
            yield name, rec[name]


def _missing_images(rid: str, refs: list[tuple[str, Any]],
                    img_stores: Sequence[Any]) -> list[Problem]:
    out = []
    for field, value in refs:
        names = [value] if isinstance(value, str) else list(_flatten(value))
        for name in names:
            if not isinstance(name, str):
                out.append(Problem(rid, field, f"image id {name!r} is not a string"))
            elif not any(name in s for s in img_stores):
                out.append(Problem(rid, field, f"image '{name}' is not in the image store(s)"))
    return out
