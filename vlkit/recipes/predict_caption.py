"""`vlkit predict caption`: caption images with a saved VLP captioning model.

    captions = caption_one("runs/vlp-caption", [img_store], ["synth-000001"], beam_size=3)

The images go through the same dataset, collate and decoder (`caption_images`) as the
caption recipe's evaluation, so a caption here equals the one `vlkit eval` writes for the same
image and decoding settings.
"""

from __future__ import annotations

from pathlib import Path

import torch

from vlkit.data.datasets import ImageCaptionDataset, PairDataset
from vlkit.models.io import load_state_dict_checked, read_state_dict
from vlkit.models.zoo import build_model
from vlkit.recipes.caption_eval import CaptionOptions, beam_config, caption_images
from vlkit.recipes.eval_run import find_source, load_config
from vlkit.recipes.options import task_options
from vlkit.recipes.predict_one import MemoryTextStore
from vlkit.text.tokenizer import get_tokenizer
from vlkit.utils.errors import CheckpointError


def caption_one(source: str | Path, img_stores: list, img_ids: list[str],
                beam_size: int | None = None) -> dict:
    """{"task", "img_ids", "beam_size", "captions": [{"img_id", "caption"}]}; beam_size
    None: the run's `task.beam_size`, 1: greedy."""
    found = find_source(source)
    sd = read_state_dict(found.weights)
    cfg = load_config(found, [], sd)
    if cfg.model.arch != "vlp":
        raise CheckpointError(f"{found.weights}: a {cfg.model.arch} model; captioning needs a "
                              "VLP model (vlkit train vlp-*-caption, or vlkit convert vlp)")
    model = build_model(cfg.model, heads=("mlm",))  # the caption recipe's model
    load_state_dict_checked(model, sd, strict=True, source=str(found.weights))
    model.eval()
    opts = task_options(cfg, CaptionOptions)
    size = opts.beam_size if beam_size is None else beam_size
    tok = get_tokenizer(cfg.text.vocab, cfg.text.lowercase)
    # One placeholder record per image: a dataset needs text, decoding reads only the image.
    records = [{"id": f"input-{k}", "img_id": i, "input_ids": [tok.sep_id]}
               for k, i in enumerate(img_ids)]
    pairs = PairDataset(_RecordsStore(records, cfg.text.vocab), img_stores,
                        cfg.data.max_txt_len)
    captions = caption_images(model, cfg, ImageCaptionDataset(pairs), beam_config(opts, size),
                              torch.device("cpu"), batch_size=len(img_ids))
    return {"task": "caption", "img_ids": list(img_ids), "beam_size": size,
            "captions": [{"img_id": i, "caption": tok.decode(captions[i])} for i in img_ids]}


class _RecordsStore(MemoryTextStore):
    """An in-memory text store of several records (one empty caption per image)."""

    def __init__(self, records: list[dict], vocab: str):
        super().__init__(records[0], vocab)
        self.records = {r["id"]: r for r in records}

    def ids(self) -> list[str]:
        return list(self.records)

    def get(self, rid: str) -> dict:
        return self.records[rid]
