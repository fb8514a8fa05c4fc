"""RefCOCO / RefCOCO+ / RefCOCOg (refer toolkit files) -> `refer` text stores + gt_boxes.json.

Official files (github.com/lichengunc/refer):
    refs(unc).p / refs(umd).p / refs(google).p   a pickled list of refs
        {"ref_id", "ann_id", "image_id", "split": train|val|test|testA|testB, "category_id",
         "file_name", "sent_ids", "sentences": [{"sent", "raw", "tokens", "sent_id"}]}
    instances.json   COCO instances: "images" [{id, width, height, file_name}],
        "annotations" [{id, image_id, bbox [x, y, w, h] pixels, category_id}],
        "categories" [{id, name, supercategory}]

One record per sentence (id = str(sent_id), text = the cleaned "sent", else "raw").
`gt_boxes.json` maps each referred image id to ALL its annotated boxes (sorted by ann id) as
{"ann_id", "box" (normalised xyxy), "category_id", "category"}; a record's `target_region` is the
index of its ann in that list, so region features extracted for those boxes line up.

Pickle executes code on load, so refs are read with an Unpickler whose find_class refuses every
global except set/frozenset: only plain containers and scalars can come out of the file.
Python 2 byte strings are decoded as UTF-8 (undecodable bytes become U+FFFD).
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

from vlkit.data.importers.common import (
    Encoder,
    check_out,
    get_field,
    load_json,
    validate,
    write_text_stores,
)
from vlkit.utils.errors import DataError
from vlkit.utils.paths import safe_name

DATASETS = {"refcoco": "unc", "refcoco+": "unc", "refcocog": "umd"}
_ALLOWED_GLOBALS = {("builtins", "set"), ("builtins", "frozenset"),
                    ("__builtin__", "set"), ("__builtin__", "frozenset")}


class _ContainersOnlyUnpickler(pickle.Unpickler):
    """Unpickler that can build only builtin scalars and containers."""

    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED_GLOBALS:
            return set if name == "set" else frozenset
        raise pickle.UnpicklingError(f"refusing to load global '{module}.{name}' "
                                     "(refs files hold only lists, dicts, strings and numbers)")


def load_refs(path: str | Path) -> list[dict]:
    """The list of refs in a refer-toolkit pickle, loaded without executing code."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    with open(path, "rb") as handle:
        try:
            refs = _ContainersOnlyUnpickler(handle, encoding="utf-8", errors="replace").load()
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
            raise DataError(f"{path}: not a refs pickle: {err}") from err
    if not isinstance(refs, list):
        raise DataError(f"{path}: expected a pickled list of refs, got {type(refs).__name__}")
    return refs


def normalised_xyxy(bbox: list, width: float, height: float) -> list[float]:
    """COCO [x, y, w, h] pixels -> [x1, y1, x2, y2] in [0, 1]."""
    x, y, w, h = (float(v) for v in bbox)
    clip = lambda v: min(1.0, max(0.0, v))
    return [clip(x / width), clip(y / height), clip((x + w) / width), clip((y + h) / height)]


def _index_instances(path: Path) -> tuple[dict, dict, dict]:
    data = load_json(path)
    images = {}
    for i, img in enumerate(get_field(data, "images", "list", path, "top level")):
        where = f"images[{i}]"
        iid = get_field(img, "id", "int", path, where)
        images[iid] = (get_field(img, "width", "int", path, where),
                       get_field(img, "height", "int", path, where))
    cats = {get_field(c, "id", "int", path, f"categories[{i}]"):
            get_field(c, "name", "str", path, f"categories[{i}]")
            for i, c in enumerate(get_field(data, "categories", "list", path, "top level"))}
    anns = {}
    for i, ann in enumerate(get_field(data, "annotations", "list", path, "top level")):
        where = f"annotations[{i}]"
        bbox = get_field(ann, "bbox", "list", path, where)
        if len(bbox) != 4 or not all(isinstance(v, (int, float)) for v in bbox):
            raise DataError(f"{path}: {where}: field 'bbox' must be [x, y, w, h], got {bbox}")
        anns[get_field(ann, "id", "int", path, where)] = {
            "image_id": get_field(ann, "image_id", "int", path, where), "bbox": bbox,
            "category_id": get_field(ann, "category_id", "int", path, where)}
    return images, anns, cats


def _gt_boxes(image_id: int, images: dict, anns_by_image: dict, cats: dict,
              path: Path) -> list[dict]:
    if image_id not in images:
        raise DataError(f"{path}: no image with id {image_id} (referred to by the refs file)")
    width, height = images[image_id]
    return [{"ann_id": aid, "box": normalised_xyxy(a["bbox"], width, height),
             "category_id": a["category_id"], "category": cats.get(a["category_id"], "")}
            for aid, a in sorted(anns_by_image.get(image_id, {}).items())]


def _ref_records(ref: dict, ctx: dict, where: str) -> tuple[str, list[dict]]:
    path, inst_path = ctx["refs_path"], ctx["instances_path"]
    ref_id = get_field(ref, "ref_id", "int", path, where)
    ann_id = get_field(ref, "ann_id", "int", path, where)
    image_id = get_field(ref, "image_id", "int", path, where)
    split = safe_name(get_field(ref, "split", "str", path, where),
                      f"{path}: {where}: field 'split'")
    if image_id not in ctx["gt"]:
        ctx["gt"][image_id] = _gt_boxes(image_id, ctx["images"], ctx["anns_by_image"],
                                        ctx["cats"], inst_path)
    regions = [b["ann_id"] for b in ctx["gt"][image_id]]
    if ann_id not in regions:
        raise DataError(f"{path}: {where}: ann_id {ann_id} is not an annotation of image "
                        f"{image_id} in {inst_path}")
    region = regions.index(ann_id)
    records = []
    for j, sent in enumerate(get_field(ref, "sentences", "list", path, where)):
        swhere = f"{where}, sentence {j}"
        sent_id = get_field(sent, "sent_id", "int", path, swhere)
        text = sent.get("sent") if isinstance(sent.get("sent"), str) else \
            get_field(sent, "raw", "str", path, swhere)
        rec = {"id": str(sent_id), "text": text, "input_ids": ctx["encode"](text),
               "img_id": str(image_id), "ref_id": ref_id, "ann_id": ann_id,
               "target_box": ctx["gt"][image_id][region]["box"], "split": split,
               "target_region": region,
               "category_id": ctx["gt"][image_id][region]["category_id"]}
        validate("refer", rec, path, swhere)
        records.append(rec)
    return split, records


def import_refer(refs: str | Path, instances: str | Path, out: str | Path,
                 dataset: str = "refcoco", vocab: str = "bert-base-uncased",
                 overwrite: bool = False) -> Path:
    """Write `out/<split>/` refer stores and `out/gt_boxes.json`; returns `out`.

    Image ids are str(image_id) (the COCO image id), in the stores and in gt_boxes.json.
    """
    check_out(out, overwrite)
    if dataset not in DATASETS:
        raise DataError(f"unknown referring dataset '{dataset}'; expected one of "
                        f"{sorted(DATASETS)}")
    refs_path, instances_path = Path(refs), Path(instances)
    ref_list = load_refs(refs_path)
    images, anns, cats = _index_instances(instances_path)
    anns_by_image: dict[int, dict] = {}
    for aid, ann in anns.items():
        anns_by_image.setdefault(ann["image_id"], {})[aid] = ann
    ctx = {"refs_path": refs_path, "instances_path": instances_path, "encode": Encoder(vocab),
           "images": images, "anns_by_image": anns_by_image, "cats": cats, "gt": {}}
    stores: dict[str, list[dict]] = {}
    for i, ref in enumerate(ref_list):
        split, records = _ref_records(ref, ctx, f"ref {i}")
        stores.setdefault(split, []).extend(records)
    if not stores:
        raise DataError(f"{refs_path}: no refs")
    gt_boxes = {str(iid): boxes for iid, boxes in sorted(ctx["gt"].items())}
    named = re.fullmatch(r"refs\((\w+)\)\.p", refs_path.name)
    meta = {"source": {"refs": refs_path.name, "instances": instances_path.name},
            "dataset": dataset, "split_by": named.group(1) if named else DATASETS[dataset],
            "gt_boxes": "../gt_boxes.json"}
    return write_text_stores(out, "refer", stores, vocab, meta, {"gt_boxes.json": gt_boxes},
                             overwrite)
