"""Open any supported store from its path, whatever its format.

Detection, first match wins:
  1. `manifest.json` with "format": "vlkit-img" / "vlkit-txt"  -> NativeImageStore / NativeTextStore
  2. `meta.json` + `data.mdb`                                   -> UniterTextStore (UNITER txt_db)
  3. a folder named feat_th*_max*_min*[_compressed], feat_numbb*[_compressed] or
     all[_compressed] holding `data.mdb`                        -> UniterImageStore (that variant)
  4. a folder holding such variant folders (UNITER's img_db/<split>/): the variant is chosen
     as UNITER's training does by default: uncompressed before `_compressed` (both decode to
     the same values; msgpack reads faster), then conf 0.2 / max 100 / min 10 (UNITER's
     default config) before other rules. If that still leaves several, it is an error that
     lists them: pass the wanted `feat_*` folder itself.
"""

from __future__ import annotations

import json
from pathlib import Path

from vlkit.data.stores.manifest import read_json
from vlkit.data.stores.native_img import FORMAT as IMG_FORMAT
from vlkit.data.stores.native_img import NativeImageStore
from vlkit.data.stores.native_txt import FORMAT as TXT_FORMAT
from vlkit.data.stores.native_txt import NativeTextStore
from vlkit.data.stores.uniter_img_db import UniterImageStore, is_uniter_feat_dir
from vlkit.data.stores.uniter_records import UniterTaskView
from vlkit.data.stores.uniter_txt_db import UniterTextStore, is_uniter_txt_db
from vlkit.utils.errors import DataError
from vlkit.utils.suggest import missing_path

Store = NativeImageStore | NativeTextStore | UniterImageStore | UniterTextStore
IMAGE_STORES = (NativeImageStore, UniterImageStore)
TEXT_STORES = (NativeTextStore, UniterTextStore)
_UNITER_DEFAULT_RULE = "feat_th0.2_max100_min10"

EXPECTED = ("a vlkit store (manifest.json with format vlkit-img or vlkit-txt), a UNITER txt_db "
            "(meta.json + data.mdb), a UNITER img_db variant folder (feat_th*_max*_min*"
            "[_compressed] / feat_numbb* / all, holding data.mdb) or a folder holding such "
            "variant folders")


def open_store(path: str | Path) -> Store:
    """The store at `path`; DataError naming the path and the accepted layouts otherwise."""
    path = Path(path)
    if not path.is_dir():
        if not path.exists():
            raise DataError(missing_path(path))
        raise DataError(f"{path}: a file, not a folder; expected {EXPECTED}")
    inside = _stores_inside(path)
    if inside:
        raise DataError(f"{path}: a folder of stores (a dataset root such as a synthetic "
                        f"world), not a store; pass {_listing(inside)}")
    manifest = path / "manifest.json"
    if manifest.is_file():
        return _open_native(path, manifest)
    if is_uniter_txt_db(path):
        return UniterTextStore(path)
    if is_uniter_feat_dir(path):
        return UniterImageStore(path)
    variants = sorted(p for p in path.iterdir() if p.is_dir() and is_uniter_feat_dir(p))
    if variants:
        return UniterImageStore(_choose_variant(path, variants))
    raise DataError(f"{path}: not a recognised store; expected {EXPECTED}")


def open_text_source(path: str | Path, task: str | None = None
                     ) -> NativeTextStore | UniterTaskView:
    """The text store at `path` as task datasets read it: a native store as is, a UNITER
    txt_db through `UniterTaskView` (its records in the shape of `task`'s records; None: the
    task the txt_db declares)."""
    store = open_store(path)
    if isinstance(store, UniterTextStore):
        return UniterTaskView(store, task)
    if not isinstance(store, TEXT_STORES):
        raise DataError(f"{path}: an image store where a text store was expected")
    return store


def _stores_inside(root: Path) -> list[str]:
    """The stores of a dataset root (ROOT/img, ROOT/txt/<store>), as paths; [] when `root`
    is not one (it is a store itself or holds none)."""
    if (root / "manifest.json").is_file() and _format(root / "manifest.json") in (
            IMG_FORMAT, TXT_FORMAT):
        return []
    found = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        if (sub / "manifest.json").is_file():
            found.append(str(sub))
        elif sub.name == "txt" or sub.name == "img":
            found += [str(p) for p in sorted(sub.iterdir()) if (p / "manifest.json").is_file()]
    return found


def _listing(stores: list[str]) -> str:
    """'R/img or R/txt/<store> with <store> one of a, b, c' for stores grouped by folder."""
    by_parent: dict[str, list[str]] = {}
    for store in stores:
        by_parent.setdefault(str(Path(store).parent), []).append(Path(store).name)
    parts = []
    for parent, names in by_parent.items():
        if len(names) == 1:
            parts.append(str(Path(parent, names[0])))
        else:
            parts.append(f"{Path(parent, '<store>')} (<store>: {', '.join(names)})")
    return " or ".join(parts)


def _format(manifest: Path) -> object:
    try:
        return json.loads(manifest.read_text()).get("format")
    except (ValueError, AttributeError, OSError):  # JSON or UTF-8 decoding
        return None


def _open_native(path: Path, manifest: Path) -> Store:
    fmt = read_json(manifest, dict).get("format")
    if fmt == IMG_FORMAT:
        return NativeImageStore(path)
    if fmt == TXT_FORMAT:
        return NativeTextStore(path)
    raise DataError(f"{manifest}: unknown store format {fmt!r}; expected "
                    f"'{IMG_FORMAT}' or '{TXT_FORMAT}'")


def _choose_variant(parent: Path, variants: list[Path]) -> Path:
    plain = [v for v in variants if not v.name.endswith("_compressed")] or variants
    if len(plain) > 1:
        default = [v for v in plain if v.name.startswith(_UNITER_DEFAULT_RULE)]
        plain = default or plain
    if len(plain) > 1:
        names = ", ".join(v.name for v in plain)
        raise DataError(f"{parent}: holds several UNITER img_db variants ({names}); "
                        "pass the wanted feat_* folder itself")
    return plain[0]


def store_kind(store: object) -> str:
    """"image" or "text" for any store `open_store` returns."""
    if isinstance(store, IMAGE_STORES):
        return "image"
    if isinstance(store, TEXT_STORES):
        return "text"
    raise TypeError(f"not a vlkit store: {type(store).__name__}")
