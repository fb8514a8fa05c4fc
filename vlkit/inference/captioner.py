"""`vlkit predict caption`: caption images with a saved VLP captioning model.

    captioner = Captioner.load("runs/vlp-caption")
    captioner.caption([img_store], ["synth-000001"], beam_size=3)   # {img_id: caption}

The images go through the same dataset, collate and decoder (`caption_images`) as the
caption recipe's evaluation, so a caption here equals the one the run's evaluation wrote for
the same image and decoding settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from vlkit.config import RunConfig
from vlkit.data.datasets import ImageCaptionDataset, PairDataset
from vlkit.evaluation.caption import CaptionOptions, beam_config, caption_images
from vlkit.evaluation.eval_run import find_source, load_config
from vlkit.inference.predict_model import MemoryTextStore
from vlkit.models.io import load_state_dict_checked, read_state_dict
from vlkit.models.zoo import build_model, family
from vlkit.runs.options import task_options
from vlkit.text.tokenizer import get_tokenizer
from vlkit.utils.errors import CheckpointError, ConfigError


@dataclass
class Captioner:
    """A saved VLP model loaded for captioning, with its run config."""

    model: nn.Module
    cfg: RunConfig

    @classmethod
    def load(cls, source: str | Path, device: str | torch.device = "cpu") -> Captioner:
        found = find_source(source)
        sd = read_state_dict(found.weights)
        cfg = load_config(found, [], sd)
        if not family(cfg.model.arch).decodes:
            raise CheckpointError(f"{found.weights}: a {cfg.model.arch} model; captioning needs "
                                  "a VLP model (vlkit train vlp-*-caption, or vlkit convert vlp)")
        model = build_model(cfg.model, heads=("mlm",))  # the caption recipe's model
        load_state_dict_checked(model, sd, strict=True, source=str(found.weights))
        return cls(model.eval().to(device), cfg)

    @property
    def options(self) -> CaptionOptions:
        return task_options(self.cfg, CaptionOptions)

    def caption(self, img_stores: list, img_ids: list[str], beam_size: int | None = None
                ) -> dict[str, str]:
        """{img_id: caption}; beam_size None: the run's `task.beam_size`, 1: greedy."""
        size = self.options.beam_size if beam_size is None else beam_size
        if size < 1:
            raise ConfigError(f"beam size must be >= 1, got {size}")
        tok = get_tokenizer(self.cfg.text.vocab, self.cfg.text.lowercase)
        # One placeholder record per image: a dataset needs text, decoding reads the image only.
        records = [{"id": f"input-{k}", "img_id": i, "input_ids": [tok.sep_id]}
                   for k, i in enumerate(img_ids)]
        pairs = PairDataset(MemoryTextStore(records, self.cfg.text.vocab), img_stores,
                            self.cfg.data.max_txt_len)
        device = next(self.model.parameters()).device
        captions = caption_images(self.model, self.cfg, ImageCaptionDataset(pairs),
                                  beam_config(self.options, size), device,
                                  batch_size=max(1, len(set(img_ids))))
        return {i: tok.decode(captions[i]) for i in img_ids}
