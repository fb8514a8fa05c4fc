"""UNITER pre-training: MLM, MRFR, MRC, MRC-kl and ITM+WRA, one task per batch by ratio.

    vlkit train uniter-tiny-pretrain data.root=runs/synth
    vlkit train uniter-tiny-vcr-pretrain data.root=runs/synth train.init_from=runs/pretrain

With `vcr` text stores it is UNITER's second-stage pre-training on VCR (pretrain_vcr.py): the
texts are each question with its gold answer, and with its gold answer and rationale, in
VCR's four token types; tasks mlm, mrfr, mrc, mrc-kl.
"""

from __future__ import annotations

import logging

import torch

from vlkit.config import RunConfig
from vlkit.data.datasets import ItmDataset, PairDataset
from vlkit.data.datasets.vcr import VcrPretrainDataset
from vlkit.data.loader import MultiTaskLoader
from vlkit.data.sampling import TaskSampler
from vlkit.evaluation.finish import Training, last_validation, train_and_finish
from vlkit.evaluation.mean_logs import mean_logs_evaluator
from vlkit.models.uniter import PRETRAIN_HEADS
from vlkit.models.zoo import build_model
from vlkit.objectives.pretrain import PRETRAIN_TASKS, MlmVocab, PretrainObjective
from vlkit.runs.context import setup_run
from vlkit.runs.init import initialise
from vlkit.runs.loaders import mlm_masker, task_loader
from vlkit.runs.stores import (
    check_dims,
    dataset_manifest,
    open_image_stores,
    open_text_store,
    store_label_dim,
)
from vlkit.runs.vcr_model import build_vcr_model
from vlkit.train.distributed import DistInfo
from vlkit.train.trainer import Evaluate
from vlkit.utils.errors import ConfigError

log = logging.getLogger(__name__)


def task_datasets(cfg: RunConfig, txt_names: list[str], img_stores) -> dict:
    """task -> dataset over one caption-like text store, or over a `vcr` store (UNITER's
    second-stage pre-training: the gold question-answer(-rationale) texts)."""
    store = open_text_store(cfg, txt_names)
    if getattr(store, "task", None) == "vcr":
        if "itm" in cfg.data.tasks:
            raise ConfigError("config key 'data.tasks': VCR pre-training has no itm task "
                              "(UNITER's pretrain-vcr uses mlm, mrfr, mrc-kl)")
        vcr = VcrPretrainDataset(store, img_stores, cfg.data.max_txt_len)
        return {task: vcr for task in cfg.data.tasks}
    pairs = PairDataset(store, img_stores, cfg.data.max_txt_len)
    itm = ItmDataset(pairs, cfg.data.itm_neg_prob, seed=cfg.train.seed)
    return {task: itm if task == "itm" else pairs for task in cfg.data.tasks}


def corpus_vocab(cfg: RunConfig, vocab_size: int) -> MlmVocab | None:
    """`data.mlm_vocab=corpus`: every token id of the train and val text stores."""
    if cfg.data.mlm_vocab == "full":
        return None
    ids: set[int] = set()
    for names in (cfg.data.train_txt, cfg.data.val_txt):
        if not names:
            continue
        store = open_text_store(cfg, names)
        for record in store:
            if "input_ids" not in record:
                raise ConfigError(f"data.mlm_vocab=corpus: record '{record.get('id')}' of "
                                  f"{store.path} has no 'input_ids' (use data.mlm_vocab=full)")
            ids.update(record["input_ids"])
    log.info("MLM softmax over the %d token ids of the corpus (data.mlm_vocab=corpus)", len(ids))
    return MlmVocab(sorted(ids), vocab_size)


def make_evaluate(cfg: RunConfig, datasets: dict, device: torch.device, mlm,
                  objective: PretrainObjective) -> Evaluate:
    """Mean loss per task over the first `data.val_batches` validation batches (fixed order,
    fixed masks: the same batches at every validation)."""
    loaders = {t: task_loader(cfg, t, ds, DistInfo(), mlm, infinite=False, shuffle=False)
               for t, ds in datasets.items()}
    return mean_logs_evaluator(cfg, loaders, objective, device)


def main(cfg: RunConfig) -> dict:
    """Pre-train on data.train_txt, one task per batch by the ratios of data.tasks."""
    unknown = set(cfg.data.tasks) - set(PRETRAIN_TASKS)
    if not cfg.data.tasks or unknown:
        raise ConfigError(f"config key 'data.tasks': expected ratios over {PRETRAIN_TASKS}, "
                          f"got {cfg.data.tasks}")
    ctx = setup_run(cfg)
    img_stores = open_image_stores(cfg, cfg.data.train_img)
    manifest = dataset_manifest(cfg)
    check_dims(cfg, img_stores[0], manifest.get("label_dim") or store_label_dim(img_stores[0]))
    mlm = mlm_masker(cfg, manifest.get("content_words", []))

    train_sets = task_datasets(cfg, cfg.data.train_txt, img_stores)
    loaders = {t: task_loader(cfg, t, ds, ctx.dist, mlm) for t, ds in train_sets.items()}
    tasks = TaskSampler(cfg.data.tasks, seed=cfg.train.seed, accum_steps=cfg.train.grad_accum)
    batches = MultiTaskLoader(loaders, tasks)
    objective = PretrainObjective(mlm_vocab=corpus_vocab(cfg, cfg.model.vocab_size))
    evaluate = None
    if cfg.data.val_txt:
        val_sets = task_datasets(cfg, cfg.data.val_txt, img_stores)
        evaluate = make_evaluate(cfg, val_sets, ctx.device, mlm, objective)

    if isinstance(next(iter(train_sets.values())), VcrPretrainDataset):
        model = build_vcr_model(cfg, heads=PRETRAIN_HEADS)  # 4 token types
    else:
        model = build_model(cfg.model, heads=PRETRAIN_HEADS)
        initialise(model, cfg)
    return train_and_finish(model, cfg, ctx, Training(objective, batches, evaluate), {},
                            last_validation(ctx, evaluate))
