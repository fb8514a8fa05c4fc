"""A request's form -> a pipeline input, checked; a bad field is an `ApiError` naming it.

Form fields of POST /v1/{task}: `image` (an uploaded file; twice for nlvr2) or `img_id` (an
id in the model's image stores; twice for nlvr2), the task's text field (question, statement,
hypothesis, caption, expression, or `text`; vcr: question, `answer` x4, `rationale` x4,
`objects` comma-separated), and optionally `model`, `top_k`, `attention`, `beam`. A string
given as `image` is refused: the server never opens a path named in a request.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any

from vlkit.inference.inputs import NUM_IMAGES, TEXT_FIELDS

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000


class ApiError(Exception):
    """A 4xx answer: {"error": message, "field": field}."""

    def __init__(self, status: int, field: str | None, message: str):
        super().__init__(message)
        self.status, self.field, self.message = status, field, message


@dataclass
class Limits:
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    max_pixels: int = MAX_PIXELS


def decode_upload(data: bytes, filename: str, limits: Limits):
    """An uploaded file's bytes -> an RGB PIL image (EXIF orientation applied)."""
    from PIL import Image, ImageOps

    if not data:
        raise ApiError(400, "image", f"'{filename}' is empty (0 bytes)")
    if len(data) > limits.max_upload_bytes:
        raise ApiError(413, "image", f"'{filename}' is {len(data)} bytes; at most "
                       f"{limits.max_upload_bytes}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > limits.max_pixels:
                raise ApiError(413, "image", f"'{filename}' is {width}x{height} pixels; at "
                               f"most {limits.max_pixels} pixels")
            image.load()
            return ImageOps.exif_transpose(image).convert("RGB")
    except ApiError:
        raise
    except Exception as err:  # noqa: BLE001 - Pillow raises many types for bad files
        raise ApiError(400, "image", f"'{filename}' is not a readable image "
                       f"({type(err).__name__}: {err})") from None


async def form_input(task: str, form: Any, limits: Limits) -> tuple[dict, dict]:
    """(pipeline input, call options) of one request's form."""
    need = NUM_IMAGES.get(task, 1)
    files = form.getlist("image")
    ids = [v for v in form.getlist("img_id") if isinstance(v, str) and v.strip()]
    if any(isinstance(f, str) for f in files):
        raise ApiError(400, "image", "expected an uploaded file (multipart/form-data); to use "
                       "a stored image send its id as img_id")
    if bool(files) == bool(ids):
        raise ApiError(400, "image", "send the image as an uploaded file `image` or as a "
                       "stored `img_id` (exactly one of them)")
    count = len(files) or len(ids)
    if count != need:
        raise ApiError(400, "image" if files else "img_id",
                       f"task '{task}' takes {need} image(s), got {count}")
    item: dict[str, Any] = {}
    if files:
        images = [decode_upload(await f.read(), f.filename or "upload", limits) for f in files]
        key = "images" if need > 1 else "image"
        item[key] = images if need > 1 else images[0]
        item["filenames"] = [f.filename or "" for f in files]
    else:
        item["img_ids" if need > 1 else "img_id"] = ids if need > 1 else ids[0]
    name = TEXT_FIELDS[task]
    if name is not None:
        text = form.get(name, form.get("text"))
        if text is None:
            raise ApiError(400, name, "missing")
        if not isinstance(text, str):
            raise ApiError(400, name, "expected text, got a file")
        item[name] = text
    if task == "vcr":
        item |= {"answers": _texts(form, "answer"), "rationales": _texts(form, "rationale"),
                 "objects": str(form.get("objects", ""))}
    return item, _options(task, form)


def _texts(form: Any, key: str) -> list[str]:
    values = form.getlist(key)
    if not all(isinstance(v, str) for v in values):
        raise ApiError(400, key, "expected text, got a file")
    return list(values)


def _options(task: str, form: Any) -> dict[str, Any]:
    if task == "caption":
        beam = form.get("beam")
        return {"beam_size": _int(form, "beam", 1, 10)} if beam not in (None, "") else {}
    options: dict[str, Any] = {"top_k": 5, "attention": False}
    if form.get("top_k") not in (None, ""):
        options["top_k"] = _int(form, "top_k", 1, 100)
    flag = form.get("attention")
    if flag not in (None, ""):
        if flag not in ("true", "false", "1", "0"):
            raise ApiError(400, "attention", f"expected true or false, got {flag!r:.40}")
        options["attention"] = flag in ("true", "1")
    return options


def _int(form: Any, key: str, low: int, high: int) -> int:
    value = form.get(key)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ApiError(400, key, f"expected a whole number, got {value!r:.40}") from None
    if not low <= number <= high:
        raise ApiError(400, key, f"must be between {low} and {high}, got {number}")
    return number
