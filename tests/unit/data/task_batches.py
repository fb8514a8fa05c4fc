"""Every task dataset on a small synthetic world, and one seeded batch of each.

`task_datasets` builds each task's dataset (with its masker and collate) the way the recipes
do; `task_batches` draws the first examples of each, masks them with a fixed generator and
collates them. `flat_batch` turns a batch into {field path: value} for exact comparison with
the batches saved in `golden_batches.pt` (built by `python task_batches.py DIR OUT`).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import NamedTuple

import torch

from vlkit.data.collate import (
    COLLATE,
    NLVR2_COLLATE,
    collate_caption,
    collate_text_mlm,
    collate_vcr,
    collate_vlp,
    collate_vlp_vqa,
)
from vlkit.data.datasets import (
    ImageCaptionDataset,
    ItmDataset,
    ItmRankDataset,
    PairDataset,
    ReDataset,
    VqaDataset,
)
from vlkit.data.datasets.nlvr2 import Nlvr2Dataset
from vlkit.data.datasets.snli_ve import VeDataset
from vlkit.data.datasets.text_corpus import TextCorpus
from vlkit.data.datasets.vcr import VcrDataset, VcrEvalDataset, VcrPretrainDataset
from vlkit.data.masking import MlmMasker, MrmMasker, WholeWordMasker, continuation_ids
from vlkit.data.stores.open import open_store
from vlkit.data.synthetic.corpus import write_corpus
from vlkit.data.synthetic.world import build_world
from vlkit.data.vlp import VlpTransform
from vlkit.text.tokenizer import get_tokenizer

WORLD = dict(num_images=12, seed=5, feat_dim=8)
BATCH = 3
LABEL_DIM = 7  # the synthetic world's label_dim, checked in `task_datasets`


class TaskData(NamedTuple):
    """A task's dataset, the masker applied to its examples (or None) and its collate."""

    dataset: object
    transform: Callable | None
    collate: Callable


def make_world(path: Path) -> Path:
    build_world(path, **WORLD)
    return path


def task_datasets(world: Path, corpus_dir: Path) -> dict[str, TaskData]:
    """name -> TaskData for every task dataset, over the world's train split."""
    tok = get_tokenizer("synthetic-world")
    img = open_store(world / "img")
    assert img.get(img.ids()[0]).soft_labels.shape[1] == LABEL_DIM

    def txt(task: str):
        return open_store(world / "txt" / f"{task}_train")

    def pairs(task: str) -> PairDataset:
        return PairDataset(txt(task), img, max_txt_len=12)

    mlm = MlmMasker(tok.mask_id, tok.random_range, (tok.pad_id, tok.cls_id, tok.sep_id))
    s2s = MlmMasker(tok.mask_id, tok.random_range, (tok.pad_id, tok.cls_id), mask_prob=0.5)
    wwm = WholeWordMasker(mlm, continuation_ids(tok.ids_to_tokens))
    vlp = VlpTransform(s2s, mlm, s2s_prob=0.5, bi_prob=0.5)
    corpus = TextCorpus([write_corpus(corpus_dir / "corpus.txt", 8, seed=1)], tok, max_len=9)
    vcr_args = (txt("vcr"), img)
    data = {
        "plain": TaskData(pairs("caption"), None, COLLATE["plain"]),
        "mlm": TaskData(pairs("caption"), mlm, COLLATE["mlm"]),
        "wwm": TaskData(pairs("caption"), wwm, COLLATE["mlm"]),
        "mrfr": TaskData(pairs("caption"), MrmMasker(0.3), COLLATE["mrfr"]),
        "mrc": TaskData(pairs("region"), MrmMasker(0.3), COLLATE["mrc-kl"]),
        "itm": TaskData(ItmDataset(pairs("caption"), seed=2), None, COLLATE["itm"]),
        "itm_rank": TaskData(ItmRankDataset(pairs("caption"), neg_size=2, seed=2), None,
                             COLLATE["itm_rank"]),
        "vqa": TaskData(VqaDataset(pairs("vqa")), None, COLLATE["vqa"]),
        "ve": TaskData(VeDataset(pairs("snli_ve")), None, COLLATE["vqa"]),
        "re": TaskData(ReDataset(pairs("refer")), None, COLLATE["re"]),
        "re_iou": TaskData(ReDataset(pairs("refer"), use_target_region=False), None,
                           COLLATE["re"]),
        "vcr": TaskData(VcrDataset(*vcr_args, max_txt_len=40), None, collate_vcr),
        "vcr_eval": TaskData(VcrEvalDataset(*vcr_args, max_txt_len=40, conditioned="gold"),
                             None, collate_vcr),
        "vcr_pretrain": TaskData(VcrPretrainDataset(*vcr_args, max_txt_len=40), mlm,
                                 COLLATE["mlm"]),
        "vcr_mrc": TaskData(VcrPretrainDataset(*vcr_args, max_txt_len=40), MrmMasker(0.3),
                            COLLATE["mrc"]),
        "text_mlm": TaskData(corpus, wwm, collate_text_mlm),
        "vlp": TaskData(pairs("caption"), vlp, partial(collate_vlp, label_dim=LABEL_DIM)),
        "vlp_vqa": TaskData(VqaDataset(pairs("vqa")), None,
                            partial(collate_vlp_vqa, label_dim=LABEL_DIM)),
        "caption": TaskData(ImageCaptionDataset(pairs("caption")), None,
                            partial(collate_caption, label_dim=LABEL_DIM)),
    }
    nlvr2 = {"paired": True, "triplet": False, "paired-attn": True}
    for variant, paired in nlvr2.items():
        data[f"nlvr2_{variant}"] = TaskData(Nlvr2Dataset(txt("nlvr2"), img, 12, paired=paired),
                                            None, NLVR2_COLLATE[variant])
    return data


def task_batches(data: dict[str, TaskData]) -> dict[str, object]:
    """name -> the batch of each task's first BATCH examples, masked with generator seed 7."""
    out = {}
    for name, task in data.items():
        examples = [task.dataset[i] for i in range(BATCH)]
        if task.transform is not None:
            examples = task.transform(examples, torch.Generator().manual_seed(7))
        out[name] = task.collate(examples)
    return out


def flat_batch(value: object, prefix: str = "") -> dict[str, object]:
    """{dotted field path: tensor or plain value} of a (nested) batch dataclass."""
    if dataclasses.is_dataclass(value):
        out = {}
        for f in dataclasses.fields(value):
            out.update(flat_batch(getattr(value, f.name), f"{prefix}{f.name}."))
        return out
    return {prefix.rstrip("."): value}


if __name__ == "__main__":
    world_dir, out_path = Path(sys.argv[1]), sys.argv[2]
    batches = task_batches(task_datasets(make_world(world_dir / "world"), world_dir))
    torch.save({name: flat_batch(b) for name, b in batches.items()}, out_path)
