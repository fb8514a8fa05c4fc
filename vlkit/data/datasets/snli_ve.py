"""SNLI-VE: image premise + hypothesis, 3-way label, trained as UNITER does (VQA with 3 answers).

Examples are `VqaExample`s so `collate_vqa` batches them: vqa_targets is the one-hot (3,)
float32 of the label (zeros when the record has none), qid the record id.
"""

from __future__ import annotations

import torch

from vlkit.data.datasets.pair import PairDataset
from vlkit.data.examples import VqaExample
from vlkit.utils.errors import DataError

# UNITER's order (utils/misc.py VE_ENT2IDX); stores may restate it in meta["label_names"].
VE_LABELS = ("contradiction", "entailment", "neutral")


def ve_label_names(meta: dict) -> tuple[str, ...]:
    """Class names by index from a `snli_ve` store's meta ({"0": name, ...}), else UNITER's."""
    names = meta.get("label_names")
    if not names:
        return VE_LABELS
    if isinstance(names, dict):
        return tuple(names[str(i)] for i in range(len(names)))
    return tuple(names)


class VeDataset:
    """Wraps a PairDataset over a `snli_ve` text store (records with `label` 0/1/2)."""

    def __init__(self, pairs: PairDataset):
        self.pairs = pairs
        self.label_names = ve_label_names(pairs.txt_store.manifest.get("meta", {}))
        self.lens = pairs.lens
        for rec in pairs.records:
            label = rec.get("label", -1)
            if not isinstance(label, int) or not -1 <= label < len(self.label_names):
                raise DataError(f"{pairs.txt_store.path}: record '{rec['id']}' field 'label' "
                                f"must be an int in [0, {len(self.label_names)}), got {label!r}")

    def labels(self) -> dict[str, int]:
        """record id -> label, for the labelled records."""
        return {rec["id"]: rec["label"] for rec in self.pairs.records if rec.get("label", -1) >= 0}

    def lengths(self, epoch: int) -> list[int]:
        return self.lens

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> VqaExample:
        rec = self.pairs.records[i]
        target = torch.zeros(len(self.label_names), dtype=torch.float32)
        if rec.get("label", -1) >= 0:
            target[rec["label"]] = 1.0
        return VqaExample(pair=self.pairs[i], vqa_targets=target, qid=rec["id"])
