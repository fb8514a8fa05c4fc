"""Reading BUTD weights without executing code from the file, and sizing the model from them.

Accepted files:
  - a `torch.save`d state dict, e.g. the Hugging Face `unc-nlp/frcnn-vg-finetuned`
    `pytorch_model.bin`: read with `torch.load(weights_only=True)`;
  - a detectron2 pickle of py-bottom-up-attention (`faster_rcnn_from_caffe*.pkl`):
    `{"model": {name: numpy array}}`, read by an unpickler that admits only what numpy arrays
    are made of, so a pickle that names any other global is refused before anything runs.
Key names are the same in both (the pickle has no `num_batches_tracked`; the anchors buffer
may be absent from either: both are filled from the model's own values).
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np
import torch

from vlkit.extract.butd.model import ButdDetector, ButdSpec
from vlkit.utils.errors import CheckpointError, ConfigError

ANCHORS_KEY = "proposal_generator.anchor_generator.cell_anchors.0"
OPTIONAL = ("num_batches_tracked", ANCHORS_KEY)  # filled from the model when absent
SHOWN = 5  # keys listed per kind of mismatch

# What a pickle of numpy arrays may name: array and dtype reconstruction, nothing callable
# beyond that. (`_codecs.encode` rebuilds bytes in protocol-2 pickles written by Python 3.)
SAFE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("collections", "OrderedDict"),
    ("_codecs", "encode"),
}


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle names a global that is not part of a numpy array."""


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, numbers, strings and numpy arrays; any other global is refused."""

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in SAFE_GLOBALS:
            raise RefusedGlobal(f"refused global {module}.{name} (only numpy arrays "
                                         "may be unpickled)")
        return super().find_class(module, name)


def read_butd_state(path: str | Path) -> dict[str, torch.Tensor]:
    """{name: tensor} of a BUTD weights file (.pkl: detectron2 pickle; else torch.save).
    ConfigError when missing; CheckpointError naming the file when unreadable or refused."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--weights: BUTD weights file {path} does not exist; vlkit never "
                          "downloads weights: pass a local pytorch_model.bin or "
                          "faster_rcnn_from_caffe*.pkl (see docs/extraction.md)")
    obj = _read_pickle(path) if path.suffix == ".pkl" else _read_torch(path)
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        obj = obj["model"]  # detectron2 checkpoint
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not obj:
        raise CheckpointError(f"{path}: expected a state dict (parameter name -> tensor)")
    state = {}
    for key, value in obj.items():
        if isinstance(value, np.ndarray):
            value = torch.from_numpy(np.ascontiguousarray(value))
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{path}: entry {key!r} is a {type(value).__name__}, not an "
                                  "array; expected a state dict of BUTD weights")
        state[str(key)] = value
    return state


def _read_torch(path: Path) -> object:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, wrong format, refused global: many types
        raise CheckpointError(f"{path}: cannot read the weights file (truncated, or not a "
                              f"torch.save file): {type(err).__name__}: {err}") from err


def _read_pickle(path: Path) -> object:
    try:
        with open(path, "rb") as handle:
            return NumpyOnlyUnpickler(handle, encoding="latin1").load()
    except RefusedGlobal as err:
        raise CheckpointError(f"{path}: not loaded: {err}") from err
    except Exception as err:  # UnpicklingError or EOFError on a truncated file, ...
        raise CheckpointError(f"{path}: cannot read the pickle (truncated or corrupt?): "
                              f"{type(err).__name__}: {err}") from err


def spec_from_state(state: dict[str, torch.Tensor]) -> ButdSpec:
    """The architecture sizes the weights imply; defaults for whatever is absent (then the
    key check in `load_detector` reports what is missing)."""
    default = ButdSpec()

    def dim(key: str, axis: int, fallback: int) -> int:
        value = state.get(key)
        return int(value.shape[axis]) if value is not None and value.dim() > axis else fallback

    stages = ("backbone.res2", "backbone.res3", "backbone.res4", "roi_heads.res5")
    blocks = tuple(_count_blocks(state, prefix) or n
                   for prefix, n in zip(stages, default.blocks, strict=True))
    pred = "roi_heads.box_predictor."
    return ButdSpec(
        blocks=blocks,  # type: ignore[arg-type]
        stem=dim("backbone.stem.conv1.weight", 0, default.stem),
        width=dim("backbone.res2.0.conv1.weight", 0, default.width),
        res2_out=dim("backbone.res2.0.conv3.weight", 0, default.res2_out),
        rpn_hidden=dim("proposal_generator.rpn_head.conv.weight", 0, default.rpn_hidden),
        num_anchors=dim("proposal_generator.rpn_head.objectness_logits.weight", 0,
                        default.num_anchors),
        num_classes=dim(pred + "cls_score.weight", 0, default.num_classes + 1) - 1,
        num_attrs=dim(pred + "attr_score.weight", 0, default.num_attrs + 1) - 1,
        embed=dim(pred + "cls_embedding.weight", 1, default.embed),
        attr_hidden=dim(pred + "fc_attr.weight", 0, default.attr_hidden),
    )


def _count_blocks(state: dict[str, torch.Tensor], prefix: str) -> int:
    pattern = re.compile(re.escape(prefix) + r"\.(\d+)\.")
    found = {int(m.group(1)) for key in state if (m := pattern.match(key))}
    return max(found) + 1 if found else 0


def load_detector(path: str | Path) -> ButdDetector:
    """A ButdDetector sized by and loaded from the weights file at `path`, in eval mode.
    CheckpointError listing missing, unexpected and mis-shaped keys when they do not fit."""
    state = read_butd_state(path)
    model = ButdDetector(spec_from_state(state)).eval()
    check_keys(model.state_dict(), state, path)
    own = model.state_dict()
    full = {k: state[k].to(own[k].dtype) if k in state else own[k] for k in own}
    model.load_state_dict(full, strict=True)
    return model


def check_keys(own: dict[str, torch.Tensor], state: dict[str, torch.Tensor],
               path: str | Path) -> None:
    """CheckpointError unless `state` holds every key of `own` (optional ones aside), nothing
    else, each with the model's shape."""
    missing = sorted(k for k in set(own) - set(state) if not k.endswith(OPTIONAL))
    unexpected = sorted(set(state) - set(own))
    shapes = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
              for k in sorted(set(own) & set(state)) if state[k].shape != own[k].shape]
    if not (missing or unexpected or shapes):
        return
    parts = [_listing(name, items) for name, items in
             (("missing", missing), ("unexpected", unexpected), ("mis-shaped", shapes)) if items]
    raise CheckpointError(f"{path}: not the weights of a bottom-up-attention Faster R-CNN "
                          f"(unc-nlp/frcnn-vg-finetuned pytorch_model.bin or "
                          f"faster_rcnn_from_caffe*.pkl): " + "; ".join(parts))


def _listing(name: str, items: list[str]) -> str:
    more = f", ... ({len(items) - SHOWN} more)" if len(items) > SHOWN else ""
    return f"{len(items)} {name} key(s): {', '.join(items[:SHOWN])}{more}"
