"""The given-boxes route's boxes files: region features of known boxes (RefCOCO, VCR ground
truth) are pooled by a `RegionFeaturizer` into records by `vlkit.data.regions.box_records`,
the code the synthetic world builds its image store with.

Boxes file (`--boxes FILE`): a JSON object {image_id: [[a, b, c, d], ...]} in image pixels,
[x1, y1, x2, y2] (`--box-format xyxy`) or COCO's [x, y, w, h] (`--box-format xywh`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vlkit.utils.errors import ConfigError, DataError


def read_box_file(path: str | Path, box_format: str = "xyxy") -> dict[str, np.ndarray]:
    """{image_id: (N, 4) float32 pixel xyxy} from a boxes file; DataError naming the entry."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--boxes: {path} does not exist")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: not a JSON file: {err}") from err
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object {{image_id: [[x1, y1, x2, y2], ...]}}")
    return {str(k): _parse_boxes(path, str(k), v, box_format) for k, v in data.items()}


def _parse_boxes(path: Path, image_id: str, value: object, box_format: str) -> np.ndarray:
    where = f"{path}: image '{image_id}'"
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{where}: boxes must be a list of 4 numbers each") from None
    if arr.ndim != 2 or arr.shape[1] != 4 or arr.shape[0] < 1:
        raise DataError(f"{where}: expected a non-empty list of [4 numbers], got shape "
                        f"{arr.shape}")
    if not np.isfinite(arr).all():
        raise DataError(f"{where}: boxes have non-finite values")
    if box_format == "xywh":
        arr = np.concatenate([arr[:, :2], arr[:, :2] + arr[:, 2:]], axis=1)
    bad = np.flatnonzero((arr[:, 2] < arr[:, 0]) | (arr[:, 3] < arr[:, 1]))
    if bad.size:
        raise DataError(f"{where}: box {int(bad[0])} {arr[bad[0]].tolist()} has x2 < x1 or "
                        f"y2 < y1 ({box_format})")
    return arr.astype(np.float32)


def check_box_coverage(image_ids: Sequence[str], boxes: dict[str, np.ndarray],
                       path: str | Path) -> None:
    """ConfigError when an image has no entry in the boxes file (its regions are unknown)."""
    missing = [i for i in image_ids if i not in boxes]
    if missing:
        raise ConfigError(f"--boxes: {path} has no boxes for {len(missing)} image(s), e.g. "
                          f"{missing[:5]}; keys must be image ids (paths below --images "
                          "without the extension)")
