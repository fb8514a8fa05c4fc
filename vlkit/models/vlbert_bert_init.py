"""Initialise VL-BERT from a Hugging Face-format BERT folder, as VL-BERT starts pre-training
(its `load_language_pretrained_model`): word/position embeddings, the embedding LayerNorm and
every encoder layer copied; BERT's two token-type rows fill rows 0-1 (row 2, objects, keeps its
initialisation); the MLM transform and output bias go to `vlbert.mlm_head` when the model has
it (the decoder is tied to the word embeddings). The visual side is left as initialised.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from vlkit.models.bert_init import BERT_SIZE_KEYS, bert_tensors, read_bert_config
from vlkit.utils.errors import CheckpointError, ConfigError

_RENAMES = (("embeddings.LayerNorm.", "vlbert.embedding_LayerNorm."),
            ("embeddings.", "vlbert."), ("encoder.layer.", "vlbert.encoder.layer."),
            ("cls.predictions.", "vlbert.mlm_head.predictions."))
_TOKEN_TYPES = "vlbert.token_type_embeddings.weight"


def _target(bert_key: str) -> str | None:
    for src, dst in _RENAMES:
        if bert_key.startswith(src):
            return dst + bert_key[len(src):]
    return None


def _check_sizes(raw: dict, model: nn.Module, source: str) -> None:
    for key, field in BERT_SIZE_KEYS.items():
        if key in ("type_vocab_size", "layer_norm_eps", "hidden_act") or key not in raw:
            continue
        if raw[key] != getattr(model.cfg, field):
            raise ConfigError(f"{source}: key '{key}' = {raw[key]!r} but the model has "
                              f"model.{field} = {getattr(model.cfg, field)!r}")


def init_vlbert_from_bert(model: nn.Module, bert_dir: str | Path) -> list[str]:
    """Copy BERT's weights into a VlBert; returns the vlkit names loaded. A missing encoder or
    embedding tensor, or a mis-shaped one, raises an error naming the key."""
    bert_dir = Path(bert_dir)
    _check_sizes(read_bert_config(bert_dir), model, str(bert_dir / "config.json"))
    sd, path = bert_tensors(bert_dir)
    own = model.state_dict()
    wanted = [k for k in own if k.startswith(("vlbert.encoder.", "vlbert.embedding_LayerNorm."))
              or k in ("vlbert.word_embeddings.weight", "vlbert.position_embeddings.weight")]
    found = {_target(k): k for k in sd if _target(k) is not None}
    missing = [k for k in wanted if k not in found]
    if missing:
        raise CheckpointError(f"{path}: missing BERT tensors for {missing}")
    loaded = []
    with torch.no_grad():
        for ours, bert_key in found.items():
            if ours not in own or ours.endswith("decoder.weight"):
                continue
            value = sd[bert_key]
            if ours == _TOKEN_TYPES and value.shape[0] <= own[ours].shape[0]:
                own[ours][: value.shape[0]].copy_(value)
            elif tuple(value.shape) != tuple(own[ours].shape):
                raise CheckpointError(f"{path}: key '{bert_key}' has shape "
                                      f"{tuple(value.shape)}, model '{ours}' needs "
                                      f"{tuple(own[ours].shape)}")
            else:
                own[ours].copy_(value)
            loaded.append(ours)
    return sorted(loaded)


# VL-BERT's fine-tuning start (PARTIAL_PRETRAIN_PREFIX_CHANGES / CLASSIFIER_PRETRAINED): the
# task classifier's transform begins as the pre-trained head's
FINAL_MLP_SOURCES = {"vqa": "vlbert.mlm_head.predictions.transform.",
                     "re": "vlbert.mvrc_head.transform."}


def seed_final_mlp(model: nn.Module, sd: dict[str, torch.Tensor]) -> list[str]:
    """After loading checkpoint `sd` into a VQA or RefCOCO+ VlBert, copy the pre-trained head
    transform into `final_mlp.0` (VQA's from `vlbert.mlm_head.predictions.transform`,
    RefCOCO+'s from `vlbert.mvrc_head.transform`), unless the checkpoint has a `final_mlp`
    of its own. Returns the keys set."""
    heads = [h for h in getattr(model, "heads", ()) if h in FINAL_MLP_SOURCES]
    if not heads or any(k.startswith("final_mlp.") for k in sd):
        return []
    source, own, copied = FINAL_MLP_SOURCES[heads[0]], model.state_dict(), []
    with torch.no_grad():
        for key, value in sd.items():
            target = "final_mlp.0." + key[len(source):]
            if key.startswith(source) and target in own and own[target].shape == value.shape:
                own[target].copy_(value)
                copied.append(target)
    return copied
