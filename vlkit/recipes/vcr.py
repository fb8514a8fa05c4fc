"""VCR fine-tuning as UNITER does it: Q->A and QA->R as 4-way choices, each choice a row.

    vlkit train uniter-tiny-vcr data.root=runs/synth [train.init_from=runs/vcr-pretrain]

Training mixes the Q->A examples and the QA->R examples (gold answer in the text) of
`data.train_txt`; every (question, choice) row is scored 2-way by `vcr_output` on the pooled
output and trained with cross-entropy (vlkit/objectives/vcr.py). Token types grow to 4
(vlkit/recipes/vcr_model.py). Validation reports Q->A, QA->R (rationale chosen given the gold
answer) and Q->AR. At the end every split is scored with the rationales conditioned on each
of the four answers and written as the VCR leaderboard csv to RUN/predictions/vcr_<split>.csv
(probabilities: softmax of the four choices' scores); `vlkit score vcr` reads it.
VL-BERT models (`model.arch: vlbert`, `vlbert-*-vcr`) use the same data, evaluation and
outputs with VL-BERT's inputs and head (`vcr_task`, vlkit.objectives.vlbert_vcr): text
tokens carry their tagged region's feature, `final_mlp` scores the pooled [CLS] state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from vlkit.config import RunConfig
from vlkit.data.collate.vcr import collate_vcr
from vlkit.data.datasets.vcr import NUM_CHOICES, VcrDataset, VcrEvalDataset
from vlkit.data.loader import BatchLoader
from vlkit.metrics.vcr import score_vcr_probs, write_vcr_leaderboard
from vlkit.objectives.vcr import VcrObjective, row_choice_scores
from vlkit.objectives.vlbert_vcr import VlBertVcrObjective, vlbert_choice_scores
from vlkit.recipes import common
from vlkit.recipes.evaluation import TaskEval, eval_image_stores, finish_run
from vlkit.recipes.loaders import batch_sampler
from vlkit.recipes.options import task_options
from vlkit.recipes.vcr_model import build_vcr_model
from vlkit.train.distributed import DistInfo
from vlkit.train.trainer import train
from vlkit.utils.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass
class VcrOptions:
    # valid values, checked at load (vlkit.configtools.check_ranges)
    RANGES: ClassVar[dict[str, str]] = {"eval_batch_size": ">= 1"}

    eval_batch_size: int = 16  # examples per evaluation batch (8 or 20 encoder rows each)
    loss: str = "sigmoid"  # VL-BERT only: "sigmoid" (per-row BCE, as published) | "softmax"


def vcr_task(cfg: RunConfig) -> tuple:
    """(objective, choice-score function (model, batch) -> (B, S)) of the model family."""
    if cfg.model.arch == "vlbert":
        return VlBertVcrObjective(task_options(cfg, VcrOptions).loss), vlbert_choice_scores
    return VcrObjective(), row_choice_scores


def vcr_store(cfg: RunConfig, names: list[str]):
    store = common.open_text_store(cfg, names, "vcr")
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
    return torch.softmax(x.double(), dim=-1).numpy()


@torch.no_grad()
def predict(model: torch.nn.Module, cfg: RunConfig, dataset: VcrEvalDataset, device,
            batch_size: int) -> dict:
    """Choice probabilities of every example and, over the labelled ones, q2a/qa2r/q2ar.

    answer_probs (N, 4); rationale_probs (N, 4, 4) [example, conditioning answer, rationale]
    when `dataset.conditioned == "all"`, else (N, 1, 4) given the gold answer.
    """
    ids, scores = [], []
    _, scores_fn = vcr_task(cfg)
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


def task_eval(cfg: RunConfig, ctx: common.RunContext, model: torch.nn.Module) -> TaskEval:
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


def main(cfg: RunConfig) -> dict:
    if not cfg.data.train_txt or not cfg.data.val_txt:
        raise ConfigError("VCR needs data.train_txt and data.val_txt (vcr text stores)")
    opts = task_options(cfg, VcrOptions)
    ctx = common.setup_run(cfg)
    img_stores = common.open_image_stores(cfg, cfg.data.train_img)
    common.check_dims(cfg, img_stores[0], None)
    train_store = vcr_store(cfg, cfg.data.train_txt)
    ids = train_store.ids()[:cfg.data.train_limit] if cfg.data.train_limit else None
    train_set = VcrDataset(train_store, img_stores, cfg.data.max_txt_len, ids=ids)
    val_store = vcr_store(cfg, cfg.data.val_txt)
    val_set = VcrEvalDataset(val_store, img_stores, cfg.data.max_txt_len, conditioned="gold")
    batches = vcr_loader(cfg, train_set, ctx.dist)
    model = build_vcr_model(cfg, heads=("vcr",))

    def evaluate(m: torch.nn.Module) -> dict[str, float]:
        scored = predict(m, cfg, val_set, ctx.device, opts.eval_batch_size)
        return {f"vcr_{k}": scored[k] for k in ("q2a", "qa2r", "q2ar")}

    objective, _ = vcr_task(cfg)
    last = train(model, objective, batches, cfg.train, ctx.run_dir, ctx.device, ctx.dist,
                 evaluate)
    results: dict = {"train": last, "num_train_examples": len(train_set)}
    return finish_run(model, cfg, ctx, results, task_eval(cfg, ctx, model))
