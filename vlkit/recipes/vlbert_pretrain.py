"""VL-BERT pre-training: MLM with visual clues (whole-word masking), masked RoI classification
with linguistic clues, and MLM on a text-only corpus; one task per batch by ratio.

    vlkit train vlbert-tiny-pretrain data.root=runs/synth
    vlkit train vlbert-base-pretrain data.root=DATA task.text_corpus=[corpus/wiki.txt]

`task.text_corpus` names plain-text files (one sentence per line, relative to data.root) for
the "mlm-text" task; with none named, `task.synth_corpus=N` writes N generated sentences of the
synthetic world's language to RUN/text_corpus.txt and uses that (the tiny preset does).
Validation reports the mean loss per image-text task on `data.val_txt`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import ClassVar

import torch

from vlkit.config import RunConfig
from vlkit.data.collate import collate_mlm, collate_mrm
from vlkit.data.collate.text import collate_text_mlm
from vlkit.data.datasets import PairDataset
from vlkit.data.datasets.text_corpus import TextCorpus
from vlkit.data.loader import BatchLoader, MultiTaskLoader
from vlkit.data.masking import MrmMasker, WholeWordMasker, continuation_ids
from vlkit.data.sampling import TaskSampler
from vlkit.data.synthetic.corpus import write_corpus
from vlkit.evaluation.finish import Training, last_validation, train_and_finish
from vlkit.evaluation.mean_logs import mean_logs_evaluator
from vlkit.models.vlbert import PRETRAIN_HEADS
from vlkit.models.zoo import build_model
from vlkit.objectives.vlbert import VLBERT_PRETRAIN_TASKS, VlBertPretrainObjective
from vlkit.runs.context import setup_run
from vlkit.runs.init import initialise
from vlkit.runs.loaders import batch_sampler, mlm_masker
from vlkit.runs.options import task_options
from vlkit.runs.stores import (
    check_dims,
    data_path,
    dataset_manifest,
    open_image_stores,
    open_text_store,
)
from vlkit.text.tokenizer import get_tokenizer
from vlkit.train.distributed import DistInfo, barrier
from vlkit.train.trainer import Evaluate
from vlkit.utils.errors import ConfigError

COLLATE = {"mlm": collate_mlm, "mvrc": partial(collate_mrm, task="mvrc"),
           "mlm-text": collate_text_mlm}


@dataclass
class VlBertPretrainOptions:
    """`task.*` keys of the vlbert-pretrain recipe."""

    # valid values, checked at load (vlkit.configtools.check_ranges)
    RANGES: ClassVar[dict[str, str]] = {
        "synth_corpus": ">= 0", "corpus_max_len": ">= 3",
    }

    # plain-text files of the "mlm-text" task, relative to data.root
    text_corpus: list[str] = field(default_factory=list)
    synth_corpus: int = 0  # no files named: generate this many synthetic-world sentences
    corpus_max_len: int = 64  # tokens per corpus sentence incl. [CLS]/[SEP] (VL-BERT's SEQ_LEN)
    whole_word: bool = True  # mask whole words (VL-BERT) rather than single WordPieces


def make_masker(cfg: RunConfig, whole_word: bool, content_words: list[str]):
    """BERT's 80/10/10 masker over tokens, or over whole words (VL-BERT)."""
    tokens = mlm_masker(cfg, content_words)
    if not whole_word:
        return tokens
    tok = get_tokenizer(cfg.text.vocab, cfg.text.lowercase)
    return WholeWordMasker(tokens, continuation_ids(tok.ids_to_tokens))


def vlbert_loader(cfg: RunConfig, task: str, dataset, dist: DistInfo, mlm,
                  infinite: bool = True, shuffle: bool = True) -> BatchLoader:
    """A loader of VL-BERT `task` batches over `dataset`."""
    transform = MrmMasker(cfg.data.mask_prob) if task == "mvrc" else mlm
    return BatchLoader(dataset, batch_sampler(cfg, dataset, dist, shuffle), COLLATE[task],
                       transform=transform, seed=cfg.train.seed, infinite=infinite,
                       num_workers=cfg.data.num_workers)


def corpus_files(cfg: RunConfig, opts: VlBertPretrainOptions, run_dir: Path,
                 is_main: bool) -> list[Path]:
    """The text-only corpus files: named ones, or a generated synthetic-world corpus."""
    if opts.text_corpus:
        return [data_path(cfg, name) for name in opts.text_corpus]
    if opts.synth_corpus <= 0:
        raise ConfigError("task 'mlm-text' needs a text-only corpus: set task.text_corpus="
                          "[FILE,...] (one sentence per line) or task.synth_corpus=N")
    path = run_dir / "text_corpus.txt"
    if is_main and not path.is_file():
        write_corpus(path, opts.synth_corpus, seed=cfg.train.seed)
    barrier()  # other ranks read it
    return [path]


def task_datasets(cfg: RunConfig, txt_names: list[str], img_stores, corpus) -> dict:
    """task -> dataset: image-text pairs for mlm/mvrc, the corpus for mlm-text."""
    pairs = PairDataset(open_text_store(cfg, txt_names), img_stores, cfg.data.max_txt_len)
    return {task: corpus if task == "mlm-text" else pairs for task in cfg.data.tasks}


def make_evaluate(cfg: RunConfig, datasets: dict, device: torch.device, mlm,
                  objective: VlBertPretrainObjective) -> Evaluate:
    """Mean loss and accuracy per task over the first `data.val_batches` validation batches
    (fixed order and masks: the same batches at every validation)."""
    loaders = {t: vlbert_loader(cfg, t, ds, DistInfo(), mlm, infinite=False, shuffle=False)
               for t, ds in datasets.items()}
    return mean_logs_evaluator(cfg, loaders, objective, device)


def main(cfg: RunConfig) -> dict:
    """Pre-train VL-BERT on data.train_txt (and a text-only corpus), one task per batch."""
    opts = task_options(cfg, VlBertPretrainOptions)
    unknown = set(cfg.data.tasks) - set(VLBERT_PRETRAIN_TASKS)
    if not cfg.data.tasks or unknown:
        raise ConfigError(f"config key 'data.tasks': expected ratios over "
                          f"{VLBERT_PRETRAIN_TASKS}, got {cfg.data.tasks}")
    ctx = setup_run(cfg)
    img_stores = open_image_stores(cfg, cfg.data.train_img)
    manifest = dataset_manifest(cfg)
    check_dims(cfg, img_stores[0], manifest.get("label_dim"))
    masker = make_masker(cfg, opts.whole_word, manifest.get("content_words", []))
    corpus = None
    if "mlm-text" in cfg.data.tasks:
        files = corpus_files(cfg, opts, ctx.run_dir, ctx.dist.is_main)
        tok = get_tokenizer(cfg.text.vocab, cfg.text.lowercase)
        corpus = TextCorpus(files, tok, opts.corpus_max_len)

    train_sets = task_datasets(cfg, cfg.data.train_txt, img_stores, corpus)
    loaders = {t: vlbert_loader(cfg, t, ds, ctx.dist, masker) for t, ds in train_sets.items()}
    tasks = TaskSampler(cfg.data.tasks, seed=cfg.train.seed, accum_steps=cfg.train.grad_accum)
    batches = MultiTaskLoader(loaders, tasks)
    objective = VlBertPretrainObjective()
    evaluate = None
    if cfg.data.val_txt:
        val_sets = task_datasets(cfg, cfg.data.val_txt, img_stores, corpus)
        val_sets.pop("mlm-text", None)  # validation scores the image-text tasks only
        evaluate = make_evaluate(cfg, val_sets, ctx.device, masker, objective)

    model = build_model(cfg.model, heads=PRETRAIN_HEADS)
    initialise(model, cfg)
    return train_and_finish(model, cfg, ctx, Training(objective, batches, evaluate), {},
                            last_validation(ctx, evaluate))
