"""VL-BERT's fine-tuning start: the task classifier's transform begins as the pre-trained
head's (VL-BERT's PARTIAL_PRETRAIN_PREFIX_CHANGES / CLASSIFIER_PRETRAINED): VQA's
`final_mlp.0` from `vlbert.mlm_head.predictions.transform`, RefCOCO+'s from
`vlbert.mvrc_head.transform`. Only when the checkpoint has no `final_mlp` of its own."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from vlkit.models.io import WEIGHTS, read_state_dict

log = logging.getLogger(__name__)

HEAD_SOURCES = {"vqa": "vlbert.mlm_head.predictions.transform.",
                "re": "vlbert.mvrc_head.transform."}


def seed_final_mlp(model: nn.Module, checkpoint: str | Path) -> list[str]:
    """Copy the pre-trained head transform into `final_mlp.0`; returns the keys set."""
    heads = [h for h in getattr(model, "heads", ()) if h in HEAD_SOURCES]
    if not heads:
        return []
    path = Path(checkpoint)
    sd = read_state_dict(path / WEIGHTS if path.is_dir() else path)
    if any(k.startswith("final_mlp.") for k in sd):
        return []
    own = model.state_dict()
    copied = []
    with torch.no_grad():
        for key, value in sd.items():
            if not key.startswith(HEAD_SOURCES[heads[0]]):
                continue
            target = "final_mlp.0." + key[len(HEAD_SOURCES[heads[0]]):]
            if target in own and own[target].shape == value.shape:
                own[target].copy_(value)
                copied.append(target)
    log.info("final_mlp.0 started from the pre-trained %s: %s", HEAD_SOURCES[heads[0]],
             ", ".join(copied) or "nothing matched")
    return copied
