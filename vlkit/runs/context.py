"""What every recipe does first and last: run directory, device, seeds, stores, results."""

from __future__ import annotations

import json
import logging
import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml

from vlkit.config import RunConfig, config_to_yaml
from vlkit.data.stores.checked import CheckedImageStore, CheckedTextStore
from vlkit.data.stores.concat import ConcatTextStore
from vlkit.data.stores.native_img import NativeImageStore
from vlkit.data.stores.open import open_text_source
from vlkit.recipes.text_vocab import adopt_store_vocab, disagreement, how_to_pass
from vlkit.text.tokenizer import resolve_vocab
from vlkit.train.distributed import DistInfo, init_distributed
from vlkit.train.precision import pick_device
from vlkit.utils.atomic import atomic_write_json, atomic_write_text
from vlkit.utils.errors import ConfigError
from vlkit.utils.suggest import closest, missing_path

log = logging.getLogger(__name__)


@dataclass
class RunContext:
    run_dir: Path
    device: torch.device
    dist: DistInfo


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def setup_run(cfg: RunConfig) -> RunContext:
    """Threads, device, process group, seeds, the vocabulary a UNITER txt_db fixes
    (text_vocab.adopt_store_vocab), and the run directory with config.yaml."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    threads = cfg.train.num_threads or (1 if world > 1 else 0)
    if threads:
        torch.set_num_threads(threads)
    device = pick_device(cfg.train.device, int(os.environ.get("LOCAL_RANK", "0")))
    dist = init_distributed(device)
    seed_everything(cfg.train.seed)
    adopt_store_vocab(cfg)
    run_dir = Path(cfg.out)
    if dist.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        _write_config(run_dir, cfg)
    return RunContext(run_dir, device, dist)


def _write_config(run_dir: Path, cfg: RunConfig) -> None:
    path = run_dir / "config.yaml"
    text = config_to_yaml(cfg)
    if path.exists() and path.read_text() != text and any((run_dir / "checkpoints").glob("*.pt")):
        changes = config_changes(yaml.safe_load(path.read_text()) or {}, yaml.safe_load(text))
        log.warning("resuming %s with a different config (old -> new): %s", run_dir,
                    "; ".join(changes) or "formatting only")
    atomic_write_text(path, text)


def config_changes(old: dict, new: dict, prefix: str = "") -> list[str]:
    """'key: old -> new' for every dotted key whose value differs between two configs."""
    out = []
    for key in sorted(set(old) | set(new), key=str):
        name = f"{prefix}{key}"
        a, b = old.get(key, "<unset>"), new.get(key, "<unset>")
        if isinstance(a, dict) and isinstance(b, dict):
            out += config_changes(a, b, f"{name}.")
        elif a != b:
            out.append(f"{name}: {a if a != '' else repr(a)} -> {b if b != '' else repr(b)}")
    return out


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


def write_results(ctx: RunContext, results: dict) -> None:
    if ctx.dist.is_main:
        atomic_write_json(ctx.run_dir / "final_metrics.json", results)
