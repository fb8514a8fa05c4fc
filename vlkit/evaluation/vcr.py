"""VCR's evaluation: every split scored with the rationales conditioned on each of the four
answers; Q->A, QA->R and Q->AR (vlkit.metrics.vcr) and the VCR leaderboard csv
RUN/predictions/vcr_<split>.csv (probabilities: softmax of the four choices' scores), which
`vlkit score vcr` reads. VL-BERT models score choices with their own head (`vcr_task`, shared
with the vcr recipe).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from vlkit.config import RunConfig
from vlkit.data.collate.vcr import collate_vcr
from vlkit.data.datasets.vcr import NUM_CHOICES, VcrEvalDataset
from vlkit.data.loader import BatchLoader
from vlkit.evaluation.splits import TaskEval, eval_image_stores
from vlkit.metrics.vcr import score_vcr_probs, write_vcr_leaderboard
from vlkit.objectives.families import TaskParts, vcr_parts
from vlkit.runs.context import RunContext
from vlkit.runs.loaders import batch_sampler
from vlkit.runs.options import task_options
from vlkit.runs.stores import open_text_store
from vlkit.train.distributed import DistInfo
from vlkit.utils.errors import ConfigError


@dataclass
class VcrOptions:
    """`task.*` keys of the vcr recipe."""

    # valid values, checked at load (vlkit.configtools.check_ranges)
    RANGES: ClassVar[dict[str, str]] = {"eval_batch_size": ">= 1"}

    eval_batch_size: int = 16  # examples per evaluation batch (8 or 20 encoder rows each)
    loss: str = "sigmoid"  # VL-BERT only: "sigmoid" (per-row BCE, as published) | "softmax"


def vcr_task(cfg: RunConfig) -> TaskParts:
    """The model family's objective and choice-score function (model, batch) -> (B, S)."""
    return vcr_parts(cfg.model.arch, loss=task_options(cfg, VcrOptions).loss)


def vcr_store(cfg: RunConfig, names: list[str]):
    """The named vcr text stores, read as one; ConfigError for a store of another task."""
    store = open_text_store(cfg, names, "vcr")
    if getattr(store, "task", "vcr") != "vcr":
        raise ConfigError(f"text store {store.path} holds task '{store.task}', expected vcr")
    return store


def vcr_loader(cfg: RunConfig, dataset, dist: DistInfo, train_mode: bool = True,
               batch_size: int | None = None) -> BatchLoader:
    """VcrBatch loader; endless and shuffled for training."""
    sampler = batch_sampler(cfg, dataset, dist, shuffle=train_mode, batch_size=batch_size)
    return BatchLoader(dataset, sampler, collate_vcr, seed=cfg.train.seed, infinite=train_mode,
                       num_workers=cfg.data.num_workers)


def softmax(x: torch.Tensor) -> np.ndarray:
    """Probabilities over the last dimension, in float64."""
    return torch.softmax(x.double(), dim=-1).numpy()


@torch.no_grad()
def predict(model: torch.nn.Module, cfg: RunConfig, dataset: VcrEvalDataset, device,
            batch_size: int) -> dict:
    """Choice probabilities of every example and, over the labelled ones, q2a/qa2r/q2ar.

    answer_probs (N, 4); rationale_probs (N, 4, 4) [example, conditioning answer, rationale]
    when `dataset.conditioned == "all"`, else (N, 1, 4) given the gold answer.
    """
    ids, scores = [], []
    scores_fn = vcr_task(cfg).scores
    for batch in vcr_loader(cfg, dataset, DistInfo(), train_mode=False, batch_size=batch_size):
        scores.append(scores_fn(model, batch.to(device)).cpu())
        ids += batch.ids
    table = torch.cat(scores)  # (N, S)
    answer_probs = softmax(table[:, :NUM_CHOICES])
    rationale_probs = softmax(table[:, NUM_CHOICES:].reshape(len(ids), -1, NUM_CHOICES))
    labels = dataset.labels()
    out = {"ids": ids, "answer_probs": answer_probs, "rationale_probs": rationale_probs,
           "num_examples": len(ids)}
    if labels:
        keep = np.asarray([i for i, rid in enumerate(ids) if rid in labels])
        gold = np.asarray([labels[ids[i]] for i in keep])
        rat = rationale_probs[keep]
        if rat.shape[1] == 1:  # given the gold answer: place it where the scorer looks
            rat = np.repeat(rat, NUM_CHOICES, axis=1)
        out.update(score_vcr_probs(answer_probs[keep], rat, gold[:, 0], gold[:, 1]))
    return out


def task_eval(cfg: RunConfig, ctx: RunContext, model: torch.nn.Module) -> TaskEval:
    """Q->A, QA->R (rationales scored given each answer) and Q->AR per split; the VCR
    leaderboard csv vcr_<split>.csv."""
    opts = task_options(cfg, VcrOptions)
    img_stores = eval_image_stores(cfg)

    def dataset(names: list[str]) -> VcrEvalDataset:
        return VcrEvalDataset(vcr_store(cfg, names), img_stores, cfg.data.max_txt_len,
                              conditioned="all")

    def score(m: torch.nn.Module, data: VcrEvalDataset) -> dict:
        scored = predict(m, cfg, data, ctx.device, opts.eval_batch_size)
        scored["predictions"] = (scored.pop("ids"), scored.pop("answer_probs"),
                                 scored.pop("rationale_probs"))
        return scored

    return TaskEval("vcr", "csv", dataset, score,
                    lambda path, preds: write_vcr_leaderboard(path, *preds))
