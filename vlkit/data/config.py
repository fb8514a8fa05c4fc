"""Where the data comes from and how batches are made."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal


@dataclass
class DataConfig:
    # valid values, checked at config load (vlkit.configtools.check_ranges)
    RANGES: ClassVar[dict[str, str]] = {
        "train_limit": ">= 0", "tasks": ">= 0", "max_tokens": ">= 0", "max_txt_len": ">= 1",
        "mask_prob": "[0, 1]", "focus_weight": ">= 0", "val_batches": ">= 0",
        "itm_neg_prob": "[0, 1]", "num_workers": ">= 0",
    }
    root: str = ""  # dataset folder holding txt/ and img/ stores (e.g. from `vlkit data synth`)
    train_txt: list[str] = field(default_factory=list)  # text stores; relative to root
    train_img: list[str] = field(default_factory=list)  # image stores; relative to root
    val_txt: list[str] = field(default_factory=list)
    test_txt: list[str] = field(default_factory=list)  # scored once at the end, when given
    train_limit: int = 0  # use only the first N training records (0: all)
    val_img: list[str] = field(default_factory=list)
    tasks: dict[str, float] = field(default_factory=dict)  # pre-training task -> sampling ratio
    max_tokens: int = 0  # token budget per batch for the token-bucket sampler (0: fixed size)
    max_txt_len: int = 60
    mask_prob: float = 0.15
    # MLM prefers these words (WordPiece ids of them) by `focus_weight`; empty list: the
    # dataset manifest's "content_words" when it has them (the synthetic world does).
    focus_words: list[str] = field(default_factory=list)
    focus_weight: float = 1.0
    # "corpus": the MLM softmax covers only the token ids found in the train/val text stores
    # (exact for every target; on a small-vocabulary corpus it removes most of the decoder's cost)
    mlm_vocab: Literal["full", "corpus"] = "full"
    val_batches: int = 20  # batches per task scored at each validation
    itm_neg_prob: float = 0.5
    num_workers: int = 0
