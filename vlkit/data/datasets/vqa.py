"""VQA: question + image, target = dense soft scores over the answer vocabulary."""

from __future__ import annotations

import torch

from vlkit.data.datasets.pair import PairDataset
from vlkit.data.examples import VqaExample
from vlkit.utils.errors import DataError


def answer_count(meta: dict) -> int:
    """Size of the answer vocabulary from a VQA text store's meta (label2ans or ans2label)."""
    if "label2ans" in meta:
        return len(meta["label2ans"])
    if "ans2label" in meta:
        return max(meta["ans2label"].values()) + 1
    raise DataError("VQA text store meta has neither 'label2ans' nor 'ans2label'")


class VqaDataset:
    """Wraps a PairDataset over a `vqa` text store; its `VqaExample`s add vqa_targets (A,)
    and qid.

    A record's target {"labels": [...], "scores": [...]} becomes a float32 vector with
    scores at the label indices (zeros when the record has no target, e.g. test questions).
    """

    def __init__(self, pairs: PairDataset, num_answers: int | None = None):
        self.pairs = pairs
        try:
            self.num_answers = num_answers or answer_count(pairs.txt_store.manifest.get("meta",
                                                                                        {}))
        except DataError as err:
            raise DataError(f"{pairs.txt_store.path}: {err} (a UNITER txt_db: put UNITER's "
                            "utils/ans2label.json in or beside the txt_db folder)") from None
        self.lens = pairs.lens

    def targets(self, rec: dict) -> torch.Tensor:
        out = torch.zeros(self.num_answers, dtype=torch.float32)
        target = rec.get("target") or {"labels": [], "scores": []}
        labels, scores = target.get("labels", []), target.get("scores", [])
        if len(labels) != len(scores) or any(not 0 <= k < self.num_answers for k in labels):
            raise DataError(f"{self.pairs.txt_store.path}: record '{rec['id']}' field "
                            f"'target' needs equal-length labels/scores with labels in "
                            f"[0, {self.num_answers}), got {target}")
        if labels:
            out[torch.tensor(labels, dtype=torch.long)] = torch.tensor(scores,
                                                                       dtype=torch.float32)
        return out

    def lengths(self, epoch: int) -> list[int]:
        return self.lens

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> VqaExample:
        rec = self.pairs.records[i]
        return VqaExample(pair=self.pairs[i], vqa_targets=self.targets(rec), qid=rec["id"])
