"""Finding and decoding image files.

An image's id is its path below the image folder, without the extension, with "/" between
folders: `DIR/val/0001.jpg` -> "val/0001". Pixels are decoded with Pillow to (H, W, 3) uint8
RGB, upright: the EXIF orientation is applied, as image viewers do (so a boxes file must
refer to the image as viewers show it). Grayscale, palette and CMYK images are converted to
RGB, an alpha channel is dropped (as OpenCV's imread did for the released features), and
16-bit grayscale is scaled (not clipped) to 8 bits. Images under MIN_SIDE pixels on a side
or over MAX_PIXELS pixels are DataErrors: detectors see nothing in the first, and the second
would take gigabytes to decode.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vlkit.utils.errors import ConfigError, DataError

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

EXTENSIONS = (".jpg", ".jpeg", ".png")
MIN_SIDE = 16  # pixels
MAX_PIXELS = 80_000_000
SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I")  # Pillow's 16-bit (and 32-bit int) modes


def list_images(folder: str | Path) -> list[tuple[str, Path]]:
    """(id, path) of every JPEG/PNG file under `folder` (recursively), sorted by id."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"--images: {folder} is not a folder")
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() not in EXTENSIONS or not path.is_file():
            continue
        image_id = path.relative_to(folder).with_suffix("").as_posix()
        if image_id in found:
            raise ConfigError(f"--images: {found[image_id]} and {path} would both get the id "
                              f"'{image_id}'; rename one of them")
        found[image_id] = path
    if not found:
        raise ConfigError(f"--images: no {'/'.join(EXTENSIONS)} files under {folder}")
    return sorted(found.items())


def load_pixels(path: str | Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB pixels of an image file, upright; DataError naming the file if it
    is unreadable, too small or too large."""
    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                _check_size(path, *image.size)
                pixels = _to_rgb(ImageOps.exif_transpose(image))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning,
            Image.DecompressionBombError) as err:
        raise DataError(f"{path}: not a readable image: {type(err).__name__}: {err}") from err
    return pixels


def _check_size(path: str | Path, width: int, height: int) -> None:
    if min(width, height) < MIN_SIDE:
        raise DataError(f"{path}: image is {width}x{height} pixels; a side under {MIN_SIDE} "
                        "pixels is too small to extract regions from")
    if width * height > MAX_PIXELS:
        raise DataError(f"{path}: image is {width}x{height} = {width * height / 1e6:.0f} "
                        f"megapixels, over the limit of {MAX_PIXELS / 1e6:.0f}; downscale it")


def _to_rgb(image: PILImage) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a decoded Pillow image of any common mode."""
    if image.mode in SIXTEEN_BIT:
        grey = np.asarray(image, dtype=np.float64)  # 0..65535
        grey = np.clip(np.rint(grey / 257.0), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")  # a palette with a transparent entry
    return np.asarray(image.convert("RGB"))
