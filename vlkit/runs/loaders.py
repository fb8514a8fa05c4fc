"""Wiring of datasets, samplers, maskers and collate into the loaders recipes consume."""

from __future__ import annotations

from vlkit.config import RunConfig
from vlkit.data.collate import COLLATE
from vlkit.data.loader import BatchLoader
from vlkit.data.masking import MlmMasker, MrmMasker, task_transform
from vlkit.data.sampling import FixedBatchSampler, TokenBucketSampler
from vlkit.runs.text_vocab import store_vocab
from vlkit.text.tokenizer import get_tokenizer
from vlkit.train.distributed import DistInfo


def batch_sampler(cfg: RunConfig, dataset, dist: DistInfo, shuffle: bool = True, batch_size=None):
    """Token-bucket batches when `data.max_tokens` is set, else fixed-size batches."""
    seed = cfg.train.seed
    if cfg.data.max_tokens and shuffle:
        lens = dataset if hasattr(dataset, "lengths") else dataset.lens
        return TokenBucketSampler(lens, cfg.data.max_tokens, seed=seed, rank=dist.rank,
                                  world_size=dist.world_size)
    return FixedBatchSampler(len(dataset), batch_size or cfg.train.batch_size, shuffle=shuffle,
                             seed=seed, rank=dist.rank, world_size=dist.world_size)


def mlm_masker(cfg: RunConfig, content_words: list[str]) -> MlmMasker:
    """MLM over the ids of `text.vocab`, or of the UNITER txt_db the run trains on: its
    meta.json's [MASK]/[CLS]/[SEP] ids and random-token range v_range ([PAD] is 0 there)."""
    words = cfg.data.focus_words or content_words
    spec = store_vocab(cfg)
    if spec is not None and not words:
        ids = spec["special_ids"]
        return MlmMasker(ids["mask"], tuple(spec["random_range"]),
                         protected_ids=(0, ids["cls"], ids["sep"]), mask_prob=cfg.data.mask_prob)
    tok = get_tokenizer(cfg.text.vocab, cfg.text.lowercase)
    focus = sorted({i for w in words for i in tok.encode(w)}) if words else None
    return MlmMasker(tok.mask_id, tok.random_range,
                     protected_ids=(tok.pad_id, tok.cls_id, tok.sep_id),
                     mask_prob=cfg.data.mask_prob, focus_ids=focus,
                     focus_weight=cfg.data.focus_weight)


def task_loader(cfg: RunConfig, task: str, dataset, dist: DistInfo, mlm: MlmMasker | None,
                infinite: bool = True, shuffle: bool = True, collate=None) -> BatchLoader:
    """A loader of `task` batches over `dataset` (`collate` overrides COLLATE[task])."""
    transform = task_transform(task, mlm, MrmMasker(cfg.data.mask_prob))
    return BatchLoader(dataset, batch_sampler(cfg, dataset, dist, shuffle),
                       collate or COLLATE[task],
                       transform=transform, seed=cfg.train.seed, infinite=infinite,
                       num_workers=cfg.data.num_workers)
