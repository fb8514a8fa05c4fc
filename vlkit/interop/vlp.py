"""VLP's released checkpoints (LuoweiZhou/VLP `model.<epoch>.bin`) -> vlkit `Vlp` folders.

A released file is a bare state dict (no wrapper, no `module.` prefix; stripped if present).
Key map, VLP -> vlkit:

| VLP | vlkit |
|---|---|
| `bert.embeddings.*`, `bert.encoder.*`, `bert.pooler.*` | same |
| `cls.predictions.*` (decoder tied to the word embeddings) | same |
| `vis_embed.{0,2}.*` (region feature MLP) | `bert.img_embeddings.vis_embed.{0,2}.*` |
| `vis_pe_embed.0.*` (box6 + class probabilities) | `bert.img_embeddings.vis_pe_embed.0.*` |
| `bert.embeddings.LayerNorm.*` (region slots share it) | + `bert.img_embeddings.LayerNorm.*` |
| `ans_classifier.{0,2}.*` (VQA fine-tuned files) | same |
| anything else (e.g. `cls.seq_relationship.*` of UniLM files) | reported as unmatched, dropped |

Sizes are read from the tensors (layers, hidden, vocabulary, token types, feature and class
dimensions, answers). What the weights alone do not carry: VLP's sequence layout puts the
regions at positions 1..100 before the caption ([CLS] regions [SEP] caption), so its text
position embeddings were trained from position 102 on; vlkit's layout starts text at 0, and
VLP scaled box coordinates by the image's larger side before layer-normalising them. The
converted weights load exactly; reproducing VLP's published scores also needs those inputs.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path

import torch

from vlkit.models.config import ModelConfig
from vlkit.models.io import LoadReport, load_state_dict_checked, read_state_dict, save_model
from vlkit.models.presets import MODEL_PRESETS
from vlkit.models.vlp import BOX_DIM, Vlp
from vlkit.utils.errors import CheckpointError

log = logging.getLogger(__name__)

_RENAMES = (("vis_embed.", "bert.img_embeddings.vis_embed."),
            ("vis_pe_embed.", "bert.img_embeddings.vis_pe_embed."))
_KEPT = ("bert.embeddings.", "bert.encoder.", "bert.pooler.", "cls.predictions.",
         "ans_classifier.")
_LAYER = re.compile(r"^bert\.encoder\.layer\.(\d+)\.")


def map_vlp_key(key: str) -> str | None:
    """vlkit name of a VLP key, or None when vlkit has no such parameter."""
    key = key.removeprefix("module.")
    for old, new in _RENAMES:
        if key.startswith(old):
            return new + key[len(old):]
    return key if key.startswith(_KEPT) else None


def map_vlp_state_dict(sd: dict[str, torch.Tensor]
                       ) -> tuple[dict[str, torch.Tensor], list[str]]:
    """(vlkit-named tensors, unmatched VLP keys)."""
    out, unmatched = {}, []
    for key, value in sd.items():
        new = map_vlp_key(key)
        if new is None:
            unmatched.append(key)
        else:
            out[new] = value
    for part in ("weight", "bias"):
        shared = out.get(f"bert.embeddings.LayerNorm.{part}")
        if shared is not None:
            out[f"bert.img_embeddings.LayerNorm.{part}"] = shared.clone()
    if "cls.predictions.decoder.weight" not in out and "bert.embeddings.word_embeddings.weight" \
            in out:
        out["cls.predictions.decoder.weight"] = out["bert.embeddings.word_embeddings.weight"]
    return out, sorted(unmatched)


def infer_vlp_config(sd: dict[str, torch.Tensor], name: str = "vlp-base") -> ModelConfig:
    """A ModelConfig fitting a vlkit-named VLP state dict (sizes from its tensor shapes)."""
    try:
        words = sd["bert.embeddings.word_embeddings.weight"]
        vis_pe = sd["bert.img_embeddings.vis_pe_embed.0.weight"]
        layers = {int(m.group(1)) for k in sd if (m := _LAYER.match(k))}
        cfg = ModelConfig(**{
            **MODEL_PRESETS[name], "name": name, "vocab_size": words.shape[0],
            "hidden_size": words.shape[1], "num_layers": max(layers) + 1,
            "intermediate_size": sd["bert.encoder.layer.0.intermediate.dense.weight"].shape[0],
            "max_position_embeddings": sd["bert.embeddings.position_embeddings.weight"].shape[0],
            "type_vocab_size": sd["bert.embeddings.token_type_embeddings.weight"].shape[0],
            "img_dim": sd["bert.img_embeddings.vis_embed.0.weight"].shape[1],
            "img_label_dim": vis_pe.shape[1] - BOX_DIM})
    except (KeyError, ValueError) as err:
        raise CheckpointError(f"not a VLP state dict: missing {err}") from err
    if cfg.hidden_size % cfg.num_heads:
        guess = max(1, cfg.hidden_size // 64)
        log.warning("hidden size %d is not divisible by preset %s's %d heads: assumed "
                    "hidden_size // 64 = %d heads (BERT's convention; the weights do not show "
                    "the head count)", cfg.hidden_size, name, cfg.num_heads, guess)
        cfg = dataclasses.replace(cfg, num_heads=guess)
    return cfg


def convert_vlp_checkpoint(src: str | Path, dst: str | Path, overwrite: bool = False
                           ) -> tuple[Path, LoadReport, list[str], ModelConfig]:
    """Write a vlkit checkpoint folder from a released VLP file; returns (folder, load report,
    unmatched VLP keys, config). Every vlkit parameter must be filled (strict)."""
    mapped, unmatched = map_vlp_state_dict(read_state_dict(src))
    cfg = infer_vlp_config(mapped)
    heads = ["mlm"]
    answers = mapped.get("ans_classifier.2.weight")
    if answers is not None:
        heads.append("vqa")
    model = Vlp(cfg, heads=heads, num_answers=None if answers is None else answers.shape[0])
    report = load_state_dict_checked(model, mapped, strict=True, source=f"VLP file {src}")
    for key in unmatched:
        log.warning("%s: VLP key %s has no vlkit counterpart (dropped)", src, key)
    return save_model(model, dst, cfg, overwrite=overwrite), report, unmatched, cfg
