"""Captioning's evaluation: caption a dataset's images, score them (token CIDEr-D; pycocoevalcap
when asked), write COCO results files and the references in COCO caption format (for `vlkit
score caption`). A split is captioned greedily and by beam search, two results files per split,
so captioning scores its splits here (`caption_scores`) rather than through `TaskEval`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import ClassVar

import torch

from vlkit.config import RunConfig
from vlkit.data.collate.vlp import collate_caption
from vlkit.data.datasets import PairDataset
from vlkit.data.datasets.caption import ImageCaptionDataset
from vlkit.data.loader import BatchLoader
from vlkit.data.sampling import FixedBatchSampler
from vlkit.generation import BeamConfig
from vlkit.metrics.cider import corpus_cider
from vlkit.objectives.caption import decode
from vlkit.runs.context import RunContext
from vlkit.runs.stores import open_text_store
from vlkit.text.tokenizer import get_tokenizer
from vlkit.utils.atomic import atomic_write_json
from vlkit.utils.errors import ConfigError, DataError

log = logging.getLogger(__name__)


@dataclass
class CaptionOptions:
    """`task.*` keys of the caption recipe (VLP captioning and SCST)."""

    # valid values, checked at load (vlkit.configtools.check_ranges)
    RANGES: ClassVar[dict[str, str]] = {
        "s2s_prob": "[0, 1]", "bi_prob": "[0, 1]", "scst_samples": ">= 1", "beam_size": ">= 1",
        "max_len": ">= 1", "val_images": ">= 0", "eval_batch_size": ">= 1",
    }

    s2s_prob: float = 1.0  # share of seq2seq examples (VLP pre-training: 0.75)
    bi_prob: float = 0.0  # share of bidirectional examples (VLP pre-training: 0.25)
    scst: bool = False  # self-critical training with CIDEr-D reward instead of masked tokens
    scst_samples: int = 1  # sampled captions per image (greedy caption = baseline)
    beam_size: int = 5  # final evaluation also decodes by beam search when > 1
    max_len: int = 20  # generated tokens incl. the end token
    length_penalty: float = 0.0
    block_trigrams: bool = True
    val_images: int = 0  # images decoded at each validation (0: all)
    eval_batch_size: int = 50
    coco_metrics: bool = True  # final BLEU/METEOR/ROUGE-L/CIDEr with pycocoevalcap (Java)


def special_ids(cfg: RunConfig) -> dict[str, int]:
    tok = get_tokenizer(cfg.text.vocab, cfg.text.lowercase)
    return {"cls": tok.cls_id, "sep": tok.sep_id, "mask": tok.mask_id, "pad": tok.pad_id}


def beam_config(opts: CaptionOptions, beam_size: int) -> BeamConfig:
    return BeamConfig(beam_size=beam_size, max_len=opts.max_len,
                      length_penalty=opts.length_penalty, block_trigrams=opts.block_trigrams)


def caption_loader(cfg: RunConfig, dataset: ImageCaptionDataset, batch_size: int,
                   shuffle: bool = False, infinite: bool = False, rank: int = 0,
                   world_size: int = 1) -> BatchLoader:
    sampler = FixedBatchSampler(len(dataset), batch_size, shuffle=shuffle, seed=cfg.train.seed,
                                rank=rank, world_size=world_size)
    return BatchLoader(dataset, sampler, partial(collate_caption,
                                                 label_dim=cfg.model.img_label_dim),
                       seed=cfg.train.seed, infinite=infinite)


def caption_images(model: torch.nn.Module, cfg: RunConfig, dataset: ImageCaptionDataset,
                   beam: BeamConfig, device: torch.device, batch_size: int = 50
                   ) -> dict[str, list[int]]:
    """{img_id: caption token ids} for every image of `dataset` (model in eval mode)."""
    special = special_ids(cfg)
    out: dict[str, list[int]] = {}
    with torch.no_grad():
        for batch in caption_loader(cfg, dataset, batch_size):
            batch = batch.to(device)
            for img_id, caption in zip(batch.img_ids, decode(model, batch, special, beam),
                                       strict=True):
                out[img_id] = caption
    return out


def caption_cider(captions: dict[str, list[int]], dataset: ImageCaptionDataset,
                  cfg: RunConfig) -> float:
    """The caption metric CIDEr-D (`vlkit.metrics.cider.corpus_cider`: COCO words, document
    frequencies of the captioned images' references) of decoded token ids."""
    tok = get_tokenizer(cfg.text.vocab, cfg.text.lowercase)
    refs = {i: [tok.decode(r) for r in rs] for i, rs in dataset.references().items()}
    return corpus_cider({i: tok.decode(c) for i, c in captions.items()}, refs)


def evaluate_split(model: torch.nn.Module, cfg: RunConfig, opts: CaptionOptions,
                   dataset: ImageCaptionDataset, split: str, run_dir: Path,
                   device: torch.device) -> dict:
    """Greedy (and beam) captions of a split: predictions files and scores."""
    tok = get_tokenizer(cfg.text.vocab, cfg.text.lowercase)
    refs_text = {i: [tok.decode(r) for r in refs] for i, refs in dataset.references().items()}
    atomic_write_json(run_dir / "predictions" / f"caption_{split}_references.json",
                      coco_references(refs_text))
    results: dict = {"num_images": len(dataset)}
    decoders = {"greedy": 1, **({"beam": opts.beam_size} if opts.beam_size > 1 else {})}
    for name, size in decoders.items():
        captions = caption_images(model, cfg, dataset, beam_config(opts, size), device,
                                  opts.eval_batch_size)
        preds = {i: tok.decode(c) for i, c in captions.items()}
        atomic_write_json(run_dir / "predictions" / f"caption_{split}_{name}.json",
                          [{"image_id": i, "caption": c} for i, c in preds.items()])
        scores = {"cider": corpus_cider(preds, refs_text)}
        if opts.coco_metrics:
            scores.update(_coco_scores(refs_text, preds))
        results[name] = scores
        log.info("%s %s: %s", split, name, scores)
    return results


def caption_pairs(cfg: RunConfig, names: list[str], img_stores, limit: int = 0) -> PairDataset:
    """(caption, image) pairs of the named caption stores (the first `limit` when set);
    ConfigError for a store of another task."""
    store = open_text_store(cfg, names)
    if getattr(store, "task", "caption") != "caption":
        raise ConfigError(f"text store {store.path} holds task '{store.task}', expected caption")
    ids = store.ids()[:limit] if limit else None
    return PairDataset(store, img_stores, cfg.data.max_txt_len, ids=ids)


def caption_scores(cfg: RunConfig, opts: CaptionOptions, img_stores: list, ctx: RunContext
                   ) -> Callable[[torch.nn.Module], dict]:
    """The end of a captioning run (`FinalScores`): on the main process, the validation (and
    test) images captioned greedily and by beam search, {split: scores} (`evaluate_split`)."""

    def scores(model: torch.nn.Module) -> dict:
        if not ctx.dist.is_main:
            return {}
        model.eval()
        splits = {"val": cfg.data.val_txt}
        if cfg.data.test_txt:
            splits["test"] = cfg.data.test_txt
        results = {}
        for split, names in splits.items():
            dataset = ImageCaptionDataset(caption_pairs(cfg, names, img_stores))
            results[split] = evaluate_split(model, cfg, opts, dataset, split, ctx.run_dir,
                                            ctx.device)
        return results

    return scores


def coco_references(refs: dict[str, list[str]]) -> dict:
    """{img_id: captions} -> COCO caption annotations (what `vlkit score caption` reads)."""
    anns = [{"image_id": i, "id": n, "caption": c}
            for n, (i, c) in enumerate((i, c) for i, caps in refs.items() for c in caps)]
    return {"type": "captions", "images": [{"id": i} for i in refs], "annotations": anns}


def _coco_scores(refs: dict[str, list[str]], preds: dict[str, str]) -> dict:
    from vlkit.metrics.caption import score_captions

    try:
        return score_captions(refs, preds)
    except DataError as err:  # e.g. no Java: keep the run's other results
        log.warning("COCO caption metrics skipped: %s", err)
        return {"coco_metrics_unavailable": str(err)}
