"""The `manifest.json` that heads every vlkit native store folder (image and text)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vlkit.utils.errors import DataError


def read_manifest(folder: Path, kind: str, fmt: str, version: int) -> dict[str, Any]:
    """`folder`/manifest.json, checked to declare format `fmt` at `version`.

    `kind` ("image", "text") names the store in the error when the manifest is missing.
    """
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise DataError(f"{folder}: not a vlkit {kind} store (no manifest.json)")
    manifest = read_json(manifest_path, dict)
    if manifest.get("format") != fmt or manifest.get("version") != version:
        raise DataError(f"{manifest_path}: expected format {fmt} v{version}, got "
                        f"{manifest.get('format')} v{manifest.get('version')}")
    return manifest


def read_json(path: Path, kind: type) -> Any:
    """The JSON value in `path`, which must be a `kind` (dict, list); DataError naming the
    file otherwise (unreadable, cut short, not JSON, or another type)."""
    try:
        value = json.loads(path.read_bytes())
    except OSError as err:
        raise DataError(f"{path}: cannot read: {err.strerror or err}") from err
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"{path}: damaged or not JSON ({err}); rebuild the store") from err
    if not isinstance(value, kind):
        raise DataError(f"{path}: expected a JSON {kind.__name__}, got {type(value).__name__}")
    return value
