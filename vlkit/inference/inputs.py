"""One prediction input, checked: its images (raw pixels or stored ids) and its text fields.

An input is a dict (a JSONL line, an HTTP form, a Python call):
    image / images      a path, a PIL image or an (H, W, 3) uint8 array; a list for NLVR2
    img_id / img_ids    an image id in the model's image stores (instead of image/images)
    boxes               pixel [x1, y1, x2, y2] boxes for extractors that pool given boxes
    filenames           names of in-memory images (an upload's file name), one per image
    <text field>        question (vqa, vcr), statement (nlvr2), hypothesis (ve),
                        caption (itm), expression (re); "text" works for any of them
    answers, rationales, objects   vcr only: 4 answers, 4 rationales, the objects' names
A bad input raises `InputError` naming the field, so a batch can report it by position and a
server can answer 4xx naming it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vlkit.utils.errors import ConfigError

TEXT_FIELDS = {"vqa": "question", "nlvr2": "statement", "ve": "hypothesis", "itm": "caption",
               "re": "expression", "vcr": "question", "caption": None}
NUM_IMAGES = {"nlvr2": 2}
MAX_TEXT_CHARS = 2000
VCR_CHOICES = 4


class InputError(ConfigError):
    """A prediction input that cannot be used; `field` names the offending field."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


@dataclass
class RawImage:
    """An image given as pixels (or a file holding them), to be run through the extractor."""

    source: Any  # str | Path | PIL.Image.Image | np.ndarray
    boxes: list | None = None
    filename: str = ""  # e.g. an upload's file name, when the source is not a path

    @property
    def name(self) -> str:
        """The image's id-like name: its file name without the extension."""
        if isinstance(self.source, (str, Path)):
            return Path(self.source).stem
        return Path(self.filename).stem or "image"


@dataclass
class Example:
    """A checked input: one image (two for NLVR2) and the task's text."""

    images: list[RawImage | str]  # str: a stored image id
    text: str = ""
    vcr: dict = field(default_factory=dict)  # answers, rationales, objects


def parse_example(task: str, item: Any) -> Example:
    """The Example for task `task` from one input dict; InputError naming the field."""
    if not isinstance(item, dict):
        raise InputError("input", f"expected an object with the task's fields, got "
                         f"{type(item).__name__}")
    images = _images(task, item)
    text = _text(task, item)
    vcr = _vcr_fields(item) if task == "vcr" else {}
    return Example(images, text, vcr)


def _images(task: str, item: dict) -> list[RawImage | str]:
    need = NUM_IMAGES.get(task, 1)
    raw_key, id_key = ("images", "img_ids") if need > 1 else ("image", "img_id")
    raw, ids = item.get(raw_key), item.get(id_key)
    if (raw is None) == (ids is None):
        raise InputError(f"{raw_key} / {id_key}", f"give the image{'s' if need > 1 else ''} "
                         f"either as {raw_key} or as {id_key} (exactly one)")
    given = (raw if need > 1 else [raw]) if raw is not None else (ids if need > 1 else [ids])
    key = raw_key if raw is not None else id_key
    if not isinstance(given, (list, tuple)) or len(given) != need:
        raise InputError(key, f"expected {need} images, got {given!r:.80}")
    if ids is not None:
        if not all(isinstance(i, str) and i for i in given):
            raise InputError(key, "image ids must be non-empty strings")
        return list(given)
    boxes = item.get("boxes")
    if boxes is not None and not _is_box_list(boxes):
        raise InputError("boxes", "expected a list of [x1, y1, x2, y2] pixel boxes")
    names = item.get("filenames") or [""] * need
    return [RawImage(_check_image(key, g), boxes, str(n))
            for g, n in zip(given, names, strict=False)]


def _check_image(key: str, image: Any) -> Any:
    if isinstance(image, (str, Path)):
        return image
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise InputError(key, f"an array image must be (H, W, 3) uint8, got "
                             f"{image.shape} {image.dtype}")
        return image
    if type(image).__module__.startswith("PIL."):
        return image
    raise InputError(key, f"expected a file path, a PIL image or an (H, W, 3) uint8 array, "
                     f"got {type(image).__name__}")


def _is_box_list(boxes: Any) -> bool:
    return isinstance(boxes, list) and all(
        isinstance(b, (list, tuple)) and len(b) == 4
        and all(isinstance(v, (int, float)) for v in b) for b in boxes)


def _text(task: str, item: dict) -> str:
    name = TEXT_FIELDS[task]
    if name is None:
        return ""
    key = name if name in item else "text"
    text = item.get(key)
    if not isinstance(text, str):
        raise InputError(name, "missing" if text is None else
                         f"expected a string, got {type(text).__name__}")
    if not text.strip():
        raise InputError(key, "is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(key, f"is {len(text)} characters long; at most {MAX_TEXT_CHARS}")
    return text


def _vcr_fields(item: dict) -> dict:
    out = {}
    for key in ("answers", "rationales"):
        value = item.get(key)
        if not (isinstance(value, list) and len(value) == VCR_CHOICES
                and all(isinstance(v, str) and v.strip() for v in value)):
            raise InputError(key, f"expected {VCR_CHOICES} non-empty strings")
        out[key] = value
    objects = item.get("objects", [])
    if isinstance(objects, str):
        objects = [o.strip() for o in objects.split(",") if o.strip()]
    if not isinstance(objects, list) or not all(isinstance(o, str) for o in objects):
        raise InputError("objects", "expected a list of class names (or a comma-separated "
                         "string)")
    out["objects"] = objects
    return out
