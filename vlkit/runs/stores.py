"""The stores a run reads, opened from config names: paths under data.root, the image and text
stores (checked on read), and the checks that they fit the model and the vocabulary."""

from __future__ import annotations

import json
from pathlib import Path

from vlkit.config import RunConfig
from vlkit.data.stores.checked import CheckedImageStore, CheckedTextStore
from vlkit.data.stores.concat import ConcatTextStore
from vlkit.data.stores.native_img import NativeImageStore
from vlkit.data.stores.open import open_text_source
from vlkit.runs.text_vocab import disagreement, how_to_pass
from vlkit.text.tokenizer import resolve_vocab
from vlkit.utils.errors import ConfigError
from vlkit.utils.suggest import closest, missing_path


def data_path(cfg: RunConfig, name: str) -> Path:
    """A store name resolved under data.root; a missing root or store is named as the config
    key the user set (data.root), not as a derived path."""
    path = Path(name)
    if path.is_absolute() or not cfg.data.root:
        return path
    root = Path(cfg.data.root)
    if not root.is_dir():
        raise ConfigError(f"config key 'data.root': {missing_path(root)}")
    if not (root / path).exists():
        folder, missing = root, path.parts[0]
        if (root / missing).is_dir() and len(path.parts) > 1:
            folder, missing = root / missing, path.parts[1]
        raise ConfigError(f"config key 'data.root' is {root}, which holds no '{name}' "
                          f"({_near(folder, missing)}); set data.root to the folder holding "
                          "the stores, or name the store relative to it")
    return root / path


def _near(folder: Path, name: str) -> str:
    """'did you mean X?' or a short listing of `folder`."""
    present = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    best = closest(name, present)
    if best is not None:
        return f"did you mean '{best}'?"
    if not present:
        return f"{folder} is empty"
    more = f", ... ({len(present)} in all)" if len(present) > 8 else ""
    return f"{folder} holds {', '.join(present[:8])}{more}"


def open_image_stores(cfg: RunConfig, names: list[str]) -> list:
    """Image stores of any supported format (vlkit native, UNITER img_db)."""
    if not names:
        raise ConfigError("data.train_img is empty: name at least one image store")
    # reads refuse what `vlkit data validate` reports (non-finite features, bad boxes, ...)
    return [CheckedImageStore(_open(data_path(cfg, n), NativeImageStore)) for n in names]


def open_text_store(cfg: RunConfig, names: str | list[str], task: str | None = None):
    """One text store, or several of the same task read as one. A UNITER txt_db is read as
    `task`'s records (None: the task it declares; vlkit.data.stores.uniter_records)."""
    if isinstance(names, str):
        names = [names]
    if not names:
        raise ConfigError("no text store named: set data.train_txt / data.val_txt")
    paths = [data_path(cfg, n) for n in names]
    stores = [open_text_source(path, task) for path in paths]
    for path, store in zip(paths, stores, strict=True):
        check_vocab(cfg, path, store)
    # reads refuse what `vlkit data validate` reports (token ids past the vocabulary, ...)
    return CheckedTextStore(stores[0] if len(stores) == 1 else ConcatTextStore(stores))


def check_vocab(cfg: RunConfig, path: Path, store) -> None:
    """A store's token ids are only meaningful with the vocabulary it was tokenised with (the
    same file, by name or by path; for a UNITER txt_db, the same size, special ids, casing)."""
    manifest = getattr(store, "manifest", {})
    found = manifest.get("vocab")
    if not found or found == cfg.text.vocab:
        return
    if "vocab_size" in manifest:  # the store states its vocabulary (UNITER's meta.json)
        reason = disagreement(cfg.text.vocab, cfg.text.lowercase, manifest)
        if reason:
            raise ConfigError(f"{path}: holds token ids of {found} ({manifest['vocab_size']:,} "
                              f"tokens), but text.vocab={cfg.text.vocab} disagrees ({reason}); "
                              f"set text.vocab={how_to_pass(found)}")
        return
    try:
        same = resolve_vocab(found).read_bytes() == resolve_vocab(cfg.text.vocab).read_bytes()
    except ConfigError:  # a path recorded on another machine: nothing to compare
        return
    if not same:
        raise ConfigError(f"{path}: tokenised with the vocabulary {found!r}, but text.vocab is "
                          f"{cfg.text.vocab!r}; set text.vocab={found}")


def _open(path: Path, native):
    try:
        from vlkit.data.stores.open import open_store
    except ImportError:  # store autodetection not available: native only
        return native(path)
    return open_store(path)


def dataset_manifest(cfg: RunConfig) -> dict:
    """The dataset root's manifest.json (the synthetic world writes one), or {}."""
    path = Path(cfg.data.root) / "manifest.json" if cfg.data.root else None
    return json.loads(path.read_text()) if path and path.is_file() else {}


def check_dims(cfg: RunConfig, img_store, label_dim: int | None) -> None:
    """The model's region feature / label sizes must match the image store's."""
    if img_store.feat_dim != cfg.model.img_dim:
        raise ConfigError(f"config key 'model.img_dim' is {cfg.model.img_dim} but image store "
                          f"{img_store.path} has {img_store.feat_dim}-d features; "
                          f"set model.img_dim={img_store.feat_dim}")
    if label_dim is not None and label_dim != cfg.model.img_label_dim:
        raise ConfigError(f"config key 'model.img_label_dim' is {cfg.model.img_label_dim} but "
                          f"image store {img_store.path} has {label_dim} soft-label classes; "
                          f"set model.img_label_dim={label_dim}")


def store_label_dim(img_store) -> int | None:
    """Soft-label classes of an image store's regions (read from its first image; a UNITER
    img_db: 1601), None when it has none."""
    ids = img_store.ids()
    soft = img_store.get(ids[0]).soft_labels if ids else None
    return None if soft is None else int(soft.shape[1])
