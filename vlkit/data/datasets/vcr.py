"""VCR: a question about an image, four answers (Q->A), then four rationales (QA->R).

Every (question, choice) pair is one encoder row, laid out as UNITER's VCR data:
    Q->A row   [CLS] question [SEP] answer_k [SEP]                          k = 0..3
    QA->R row  [CLS] question [SEP] answer [SEP] rationale_k [SEP]          answer given
with token types 0 question, 2 answer, 3 rationale (1 is the regions'); [CLS] takes the
question's type and a [SEP] the type of the segment it opens (the last one, its segment's).
Object references in the text were rendered as class names by the importer / the synthetic
world, and each such WordPiece's `*_obj` entry is the index of its object in the image's
region list: the image store must hold the annotation's objects first and in order
(UNITER's `vcr_gt` features, optionally followed by detections), which the datasets check.

Examples are `VcrExample`s (for `vlkit.data.collate.vcr`): the record's id and image
regions, its `VcrRow`s (input_ids, txt_type_ids, txt_region_ids, each (T_k,)), per row a
target (1 the right choice, 0 wrong, -1 unknown), and the gold answer_label / rationale_label
(-1 when unknown).
`VcrDataset` (training, as UNITER's `VcrDataset`): one example per (record, stage), 4 rows.
`VcrEvalDataset`: one example per record, 4 Q->A rows then the QA->R rows conditioned on the
gold answer (`conditioned="gold"`, 4 rows, UNITER's validation) or on each answer in turn
(`conditioned="all"`, 16 rows, what the leaderboard csv needs).
`VcrPretrainDataset` (second-stage pre-training, UNITER's pretrain_vcr): one plain example
`PairExample` per (record, stage) of the gold text, [CLS] q [SEP] a [SEP] (r [SEP]), with
its txt_type_ids, for MLM/MRFR/MRC.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from vlkit.data.datasets.pair import ImageLookup, ImageSource, TextSource, special_ids
from vlkit.data.examples import ImageRegions, PairExample, VcrExample, VcrRow
from vlkit.utils.errors import DataError

NUM_CHOICES = 4
STAGES = ("qa", "qar")
TYPE_QUESTION, TYPE_ANSWER, TYPE_RATIONALE = 0, 2, 3
MIN_TXT_LEN = 10


def fit_lengths(lens: Sequence[int], room: int) -> list[int]:
    """Shorten segment lengths to sum to at most `room`, always cutting the longest one."""
    out = list(lens)
    while sum(out) > room:
        k = max(range(len(out)), key=out.__getitem__)
        out[k] -= 1
    return out


def vcr_text(segments: Sequence[tuple[Sequence[int], int]], cls_id: int, sep_id: int,
             max_len: int, sep_opens: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """[CLS] s0 [SEP] s1 [SEP] ... -> (input_ids (T,), txt_type_ids (T,)), T <= max_len.

    segments: (WordPiece ids, token type) each. sep_opens: a [SEP] between two segments takes
    the type of the segment after it (UNITER's fine-tuning data) instead of the one before
    (its VCR pre-training data). Too long texts lose tokens from the end of their longest
    segment(s), so every segment keeps its start.
    """
    keep = fit_lengths([len(s) for s, _ in segments], max_len - 1 - len(segments))
    ids, types = [cls_id], [segments[0][1]]
    for k, ((seg, kind), n) in enumerate(zip(segments, keep, strict=True)):
        if k:
            ids.append(sep_id)
            types.append(kind if sep_opens else segments[k - 1][1])
        ids += list(seg[:n])
        types += [kind] * n
    ids.append(sep_id)
    types.append(segments[-1][1])
    return torch.tensor(ids, dtype=torch.long), torch.tensor(types, dtype=torch.long)


def vcr_text_regions(objs: Sequence[Sequence[int]], max_len: int) -> torch.Tensor:
    """The region of every position of `vcr_text`'s row (T,): the `*_obj` entries of the
    segments' WordPieces (region index, -1 for a plain word), -1 at [CLS]/[SEP]. `objs`
    are parallel to `vcr_text`'s segments and are cut the same way."""
    keep = fit_lengths([len(o) for o in objs], max_len - 1 - len(objs))
    out = [-1]
    for obj, n in zip(objs, keep, strict=True):
        out += [int(i) for i in obj[:n]] + [-1]
    return torch.tensor(out, dtype=torch.long)


class _VcrRecords:
    """Validated `vcr` records with their images (shared by the three datasets)."""

    def __init__(self, txt_store: TextSource, img_stores: ImageSource | Sequence[ImageSource],
                 max_txt_len: int = 220, ids: Sequence[str] | None = None,
                 need_labels: bool = False):
        if max_txt_len < MIN_TXT_LEN:
            raise DataError(f"max_txt_len must be >= {MIN_TXT_LEN} for VCR, got {max_txt_len}")
        self.txt_store = txt_store
        self.lens: list[int] = []  # one per example
        self.img_stores = list(img_stores) if isinstance(img_stores, list | tuple) else [img_stores]
        self.max_txt_len = max_txt_len
        self.cls_id, self.sep_id = special_ids(txt_store)
        self._images = ImageLookup(self.img_stores, txt_store.path)
        self.records = [self._validate(txt_store.get(rid), need_labels)
                        for rid in (ids if ids is not None else txt_store.ids())]
        if not self.records:
            raise DataError(f"{txt_store.path}: no VCR records")

    def _validate(self, rec: dict, need_labels: bool) -> dict:
        where = f"{self.txt_store.path}: record '{rec.get('id')}'"
        for name in ("answer", "rationale"):
            ids = rec.get(f"{name}_ids")
            if not isinstance(ids, list) or len(ids) != NUM_CHOICES:
                raise DataError(f"{where}: field '{name}_ids' must hold {NUM_CHOICES} token "
                                f"lists (a vcr store: `vlkit data import vcr`)")
            if need_labels and not 0 <= rec.get(f"{name}_label", -1) < NUM_CHOICES:
                raise DataError(f"{where}: field '{name}_label' must be 0..3 for training, "
                                f"got {rec.get(f'{name}_label')!r} (test split?)")
        if "img_id" not in rec or not rec.get("question_ids"):
            raise DataError(f"{where}: needs 'img_id' and a non-empty 'question_ids'")
        num_bb = self._images.store(rec["img_id"], rec["id"]).num_boxes(rec["img_id"])
        refs = [i for key in ("answer_obj", "rationale_obj") for obj in rec.get(key, [])
                for i in obj] + list(rec.get("question_obj", []))
        if refs and max(refs) >= num_bb:
            raise DataError(f"{where}: refers to object {max(refs)} but image "
                            f"'{rec['img_id']}' has {num_bb} regions; the image store must "
                            "list the annotation's objects first, in order")
        return rec

    def lengths(self, epoch: int) -> list[int]:
        """Per-example lengths for the token bucket (`self.lens`, set by each dataset)."""
        return self.lens

    def __len__(self) -> int:
        return len(self.lens)

    def txt_len(self, rec: dict) -> int:
        """Length of the record's longest QA->R row (UNITER buckets by it)."""
        longest = (len(rec["question_ids"]) + max(map(len, rec["answer_ids"]))
                   + max(map(len, rec["rationale_ids"])) + 4)
        return min(longest, self.max_txt_len)

    def num_boxes(self, rec: dict) -> int:
        return self._images.store(rec["img_id"], rec["id"]).num_boxes(rec["img_id"])

    def image(self, rec: dict) -> ImageRegions:
        img = self._images.store(rec["img_id"], rec["id"]).get(rec["img_id"])
        return ImageRegions(img_id=rec["img_id"], img_feat=img.feat, img_pos_feat=img.boxes,
                            img_soft_labels=img.soft_labels)

    def row(self, rec: dict, answer: int, rationale: int | None = None) -> VcrRow:
        """One row: the question with answer choice `answer` (+ rationale choice), and the
        region each of its tokens refers to (`txt_region_ids`, -1 for none)."""
        segments = [(rec["question_ids"], TYPE_QUESTION),
                    (rec["answer_ids"][answer], TYPE_ANSWER)]
        objs = [_objs(rec, "question_obj", None, rec["question_ids"]),
                _objs(rec, "answer_obj", answer, rec["answer_ids"][answer])]
        if rationale is not None:
            segments.append((rec["rationale_ids"][rationale], TYPE_RATIONALE))
            objs.append(_objs(rec, "rationale_obj", rationale,
                              rec["rationale_ids"][rationale]))
        ids, types = vcr_text(segments, self.cls_id, self.sep_id, self.max_txt_len)
        regions = vcr_text_regions(objs, self.max_txt_len)
        return VcrRow(input_ids=ids, txt_type_ids=types, txt_region_ids=regions)

    def labels(self) -> dict[str, tuple[int, int]]:
        """annot_id -> (answer_label, rationale_label) of the labelled records."""
        return {r["id"]: (r["answer_label"], r["rationale_label"]) for r in self.records
                if r.get("answer_label", -1) >= 0 and r.get("rationale_label", -1) >= 0}


def _objs(rec: dict, key: str, choice: int | None, ids: Sequence[int]) -> Sequence[int]:
    """The record's `key` entry (of choice `choice`), or no references (all -1) when the
    store has none (e.g. a UNITER txt_db)."""
    obj = rec.get(key)
    if obj is not None and choice is not None:
        obj = obj[choice]
    return obj if obj is not None else [-1] * len(ids)


def _targets(gold: int) -> list[int]:
    return [int(k == gold) if gold >= 0 else -1 for k in range(NUM_CHOICES)]


class VcrDataset(_VcrRecords):
    """Training: example i is record i % n in stage STAGES[i // n] (Q->A, then QA->R with
    the gold answer), 4 rows each, targets 1 on the gold choice."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, need_labels=True, **kwargs)
        self.lens = [self.txt_len(r) + self.num_boxes(r) for r in self.records] * len(STAGES)

    def __getitem__(self, i: int) -> VcrExample:
        rec = self.records[i % len(self.records)]
        a_gold, r_gold = rec["answer_label"], rec["rationale_label"]
        if i < len(self.records):  # Q->A
            rows, gold = [self.row(rec, k) for k in range(NUM_CHOICES)], a_gold
        else:  # QA->R
            rows, gold = [self.row(rec, a_gold, k) for k in range(NUM_CHOICES)], r_gold
        return VcrExample(id=rec["id"], image=self.image(rec), rows=rows,
                          targets=_targets(gold), answer_label=a_gold, rationale_label=r_gold)


class VcrEvalDataset(_VcrRecords):
    """Evaluation: one example per record, 4 Q->A rows then 4 (gold) or 16 (all) QA->R rows."""

    def __init__(self, *args, conditioned: str = "all", **kwargs):
        if conditioned not in ("gold", "all"):
            raise DataError(f"conditioned must be 'gold' or 'all', got {conditioned!r}")
        super().__init__(*args, need_labels=conditioned == "gold", **kwargs)
        self.conditioned = conditioned
        self.lens = [self.txt_len(r) + self.num_boxes(r) for r in self.records]

    @property
    def rows_per_example(self) -> int:
        return NUM_CHOICES * (2 if self.conditioned == "gold" else 1 + NUM_CHOICES)

    def __getitem__(self, i: int) -> VcrExample:
        rec = self.records[i]
        a_gold, r_gold = rec.get("answer_label", -1), rec.get("rationale_label", -1)
        rows = [self.row(rec, k) for k in range(NUM_CHOICES)]
        targets = _targets(a_gold)
        answers = [a_gold] if self.conditioned == "gold" else range(NUM_CHOICES)
        for a in answers:
            rows += [self.row(rec, a, k) for k in range(NUM_CHOICES)]
            targets += _targets(r_gold if a == a_gold else -1)
        return VcrExample(id=rec["id"], image=self.image(rec), rows=rows, targets=targets,
                          answer_label=a_gold, rationale_label=r_gold)


class VcrPretrainDataset(_VcrRecords):
    """Second-stage pre-training: example i is record i % n's gold text, [CLS] q [SEP] a [SEP]
    for the first n (stage qa), [CLS] q [SEP] a [SEP] r [SEP] for the next n (stage qar).
    A [SEP] takes the type of the segment before it, as UNITER's pretrain_vcr data."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, need_labels=True, **kwargs)
        self.lens = [min(self._len(r, s), self.max_txt_len) + self.num_boxes(r)
                     for s in STAGES for r in self.records]

    @staticmethod
    def _segments(rec: dict, stage: str) -> list[tuple[list[int], int]]:
        segments = [(rec["question_ids"], TYPE_QUESTION),
                    (rec["answer_ids"][rec["answer_label"]], TYPE_ANSWER)]
        if stage == "qar":
            segments.append((rec["rationale_ids"][rec["rationale_label"]], TYPE_RATIONALE))
        return segments

    def _len(self, rec: dict, stage: str) -> int:
        segments = self._segments(rec, stage)
        return sum(len(s) for s, _ in segments) + len(segments) + 1

    def __getitem__(self, i: int) -> PairExample:
        rec = self.records[i % len(self.records)]
        segments = self._segments(rec, STAGES[i // len(self.records)])
        ids, types = vcr_text(segments, self.cls_id, self.sep_id, self.max_txt_len,
                              sep_opens=False)
        return PairExample.of(rec["id"], ids, self.image(rec), txt_type_ids=types)
