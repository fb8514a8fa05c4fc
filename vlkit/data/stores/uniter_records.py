"""A UNITER txt_db read as a vlkit text store of one task: the one place where UNITER's record
fields become the fields vlkit's task datasets read.

    store = UniterTaskView(UniterTextStore("txt_db/nlvr2_dev.db"), "nlvr2")
    store.get("dev-850-0-0")  # {"id", "input_ids", "img_ids": [img0.npz, img1.npz], "label"}

UNITER field (as its data/*.py read them) -> vlkit record field, per vlkit task:
    all      key -> "id"; input_ids (WordPieces, no [CLS]/[SEP]) -> "input_ids"
    nlvr2    img_fname [left, right] -> "img_ids"; target 1/0 (nil: unlabelled) -> "label"
    vqa      img_fname -> "img_id"; target {labels, scores} -> "target" (as is)
    snli_ve  img_fname -> "img_id"; target {labels: [k], scores: [1.0]} -> "label" k
    caption  img_fname -> "img_id" (itm / retrieval and pre-training)
    refer    img_fname -> "img_id"; ann_id's position in images.json's ann_ids of image_id
             -> "target_region"; bbox [x, y, w, h] pixels / images.json width, height
             -> "target_box" [x1, y1, x2, y2] normalised (the boxes of UNITER's img_db)
    vcr      img_fname [gt, det] -> "img_id" "gt+det": the gt img_db's regions (the
             annotation's objects, in order) then the det img_db's, as UNITER concatenates
             them (vlkit.data.datasets.pair.JoinedImage; both img_dbs in data.train_img);
             input_ids -> "question_ids"; input_ids_as / input_ids_rs
             -> "answer_ids" / "rationale_ids"; qa_target / qar_target -> "answer_label" /
             "rationale_label" (-1 when absent)
Image names are kept as they are (with ".npz"): UNITER's img_db keys carry the suffix too.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

from vlkit.data.records import JOIN
from vlkit.data.stores.uniter_txt_db import UniterTextStore
from vlkit.data.stores.view import StoreView
from vlkit.utils.errors import DataError


class UniterTaskView(StoreView):
    """The TextSource interface (`path`, `manifest`, `task`, `meta`, `ids`, `get`) over a
    UniterTextStore; `get` returns the record in the shape of vlkit's `task` datasets.

    task: vlkit task name; None takes the store's (meta.json "task", else the folder name).
    """

    def __init__(self, store: UniterTextStore, task: str | None = None):
        declared = store.declared_task
        task = task or store.task
        if task not in CONVERTERS:
            raise DataError(f"{store.path}: cannot tell which task this UNITER txt_db holds "
                            f"(meta.json task {store.meta.get('task')!r}, folder name "
                            f"'{store.path.name}'); vlkit reads UNITER txt_dbs for "
                            f"{', '.join(CONVERTERS)}: name the folder as UNITER's releases "
                            "(nlvr2_*, vqa_*, ve_*, itm_* / pretrain_*, re_*, vcr_*) or "
                            "set \"task\" in meta.json")
        if declared and declared != task:
            raise DataError(f"{store.path}: meta.json says task '{store.meta['task']}' "
                            f"({declared}), expected a {task} txt_db")
        self.store = store
        self.task = task
        self.path = store.path
        self.manifest = {**store.manifest, "task": task}
        self._convert: Callable[[UniterTaskView, dict, str], dict] = CONVERTERS[task]

    @property
    def meta(self) -> dict:
        return self.manifest["meta"]

    def get(self, rid: str) -> dict[str, Any]:
        raw = self.store.get(rid)
        where = f"{self.path}: record '{rid}'"
        return {"id": rid, "input_ids": _ids(raw, "input_ids", where),
                **self._convert(self, raw, where)}

    @cached_property
    def images(self) -> dict[Any, dict]:
        """images.json of a referring-expression txt_db: image_id -> {ann_ids, width, ...}."""
        if not (self.path / "images.json").is_file():
            raise DataError(f"{self.path}: a UNITER re txt_db needs images.json (prepro.py "
                            "--task re writes it beside data.mdb)")
        return {img["id"]: img for img in self.store.side_file("images.json")}


def _field(raw: dict, name: str, where: str) -> Any:
    if name not in raw:
        raise DataError(f"{where}: UNITER record has no field '{name}' (fields: "
                        f"{', '.join(sorted(raw))})")
    return raw[name]


def _ids(raw: dict, name: str, where: str) -> list[int]:
    ids = _field(raw, name, where)
    try:
        return [int(t) for t in ids]
    except (TypeError, ValueError):
        raise DataError(f"{where}: field '{name}' must be a list of token ids, "
                        f"got {ids!r:.80}") from None


def _image(raw: dict, where: str) -> str:
    fname = _field(raw, "img_fname", where)
    if isinstance(fname, list | tuple) and len(fname) == 1:
        fname = fname[0]
    if not isinstance(fname, str):
        raise DataError(f"{where}: field 'img_fname' must name one image file, got {fname!r}")
    return fname


def _label(value: Any) -> int:
    return -1 if value is None else int(value)


def _nlvr2(view: UniterTaskView, raw: dict, where: str) -> dict:
    pair = _field(raw, "img_fname", where)
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        raise DataError(f"{where}: field 'img_fname' must be [left, right], got {pair!r}")
    return {"img_ids": [str(p) for p in pair], "label": _label(raw.get("target"))}


def _vqa(view: UniterTaskView, raw: dict, where: str) -> dict:
    return {"img_id": _image(raw, where), "target": raw.get("target")}


def _snli_ve(view: UniterTaskView, raw: dict, where: str) -> dict:
    target = raw.get("target") or {}
    labels, scores = target.get("labels") or [], target.get("scores") or []
    if len(labels) != len(scores):
        raise DataError(f"{where}: field 'target' needs equal-length labels and scores, "
                        f"got {target!r}")
    best = max(range(len(labels)), key=scores.__getitem__) if labels else None
    return {"img_id": _image(raw, where), "label": -1 if best is None else int(labels[best])}


def _caption(view: UniterTaskView, raw: dict, where: str) -> dict:
    return {"img_id": _image(raw, where)}


def _refer(view: UniterTaskView, raw: dict, where: str) -> dict:
    image_id = _field(raw, "image_id", where)
    img = view.images.get(image_id)
    if img is None:
        raise DataError(f"{where}: image_id {image_id!r} is not in {view.path}/images.json")
    ann_ids = list(img["ann_ids"])
    ann_id = _field(raw, "ann_id", where)
    if ann_id not in ann_ids:
        raise DataError(f"{where}: ann_id {ann_id!r} is not among image {image_id}'s ann_ids "
                        "in images.json")
    x, y, w, h = (float(v) for v in _field(raw, "bbox", where))
    width, height = float(img["width"]), float(img["height"])
    box = [x / width, y / height, (x + w) / width, (y + h) / height]
    return {"img_id": _image(raw, where), "target_region": ann_ids.index(ann_id),
            "target_box": [min(max(v, 0.0), 1.0) for v in box],
            "ref_id": raw.get("ref_id"), "sent_id": raw.get("sent_id")}


def _vcr(view: UniterTaskView, raw: dict, where: str) -> dict:
    fnames = _field(raw, "img_fname", where)
    fnames = [fnames] if isinstance(fnames, str) else [f for f in fnames if f]
    return {"img_id": JOIN.join(fnames), "question_ids": _ids(raw, "input_ids", where),
            "answer_ids": [[int(t) for t in a] for a in _field(raw, "input_ids_as", where)],
            "rationale_ids": [[int(t) for t in r] for r in _field(raw, "input_ids_rs", where)],
            "answer_label": _label(raw.get("qa_target")),
            "rationale_label": _label(raw.get("qar_target"))}


# vlkit task -> converter of one UNITER record (the fields of the task's vlkit records)
CONVERTERS: dict[str, Callable[[UniterTaskView, dict, str], dict]] = {
    "nlvr2": _nlvr2, "vqa": _vqa, "snli_ve": _snli_ve, "caption": _caption,
    "refer": _refer, "vcr": _vcr,
}
