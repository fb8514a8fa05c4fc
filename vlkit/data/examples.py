"""Typed examples: what the task datasets and maskers yield and collate consumes.

Shapes use T = text length with [CLS]/[SEP], N = the image's regions, D = region feature dim,
C = soft-label classes, A = answer vocabulary size, S = examples in a ranking group.

Region arrays are what the image store returns: `img_feat` is often an fp16 memory-map view
(numpy) and only collate copies it to float32; a test or a benchmark may give tensors instead.
Every example is frozen: a masker returns a new example (`dataclasses.replace` on the pair
whose tokens it masks), never edits the one the dataset gave.

A task example holds a `PairExample` (composition, as the batches of `vlkit.data.batch` hold
an `EncoderInput`) plus that task's targets; collate reads `ex.pair` for the encoder inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

Array = np.ndarray | torch.Tensor


@dataclass(frozen=True)
class ImageRegions:
    """One image's regions, as its store gives them.

    img_id: the image's id in its store.
    img_feat: (N, D) region features, any float dtype.
    img_pos_feat: (N, 7) float boxes [x1, y1, x2, y2, w, h, w*h].
    img_soft_labels: (N, C) detector class probabilities (MRC targets), or None.
    """

    img_id: str
    img_feat: Array
    img_pos_feat: Array
    img_soft_labels: Array | None = None


@dataclass(frozen=True)
class TextExample:
    """A text without an image (a sentence of the text-only corpus).

    id: "<file>:<line>". input_ids: (T,) int64 [CLS] w ... [SEP].
    """

    id: str
    input_ids: torch.Tensor


@dataclass(frozen=True)
class PairExample:
    """A text and one image's regions: the encoder input of every single-stream task.

    id: the text record's id (errors and batches name it).
    img_id, img_feat (N, D), img_pos_feat (N, 7), img_soft_labels (N, C) or None: the image
        (see `ImageRegions`); N >= 1.
    input_ids: (T,) int64 [CLS] w ... [SEP] (masked ids after MLM masking).
    txt_type_ids: (T,) int64 token types (VCR pre-training), or None (all zeros).
    """

    id: str
    img_id: str
    input_ids: torch.Tensor
    img_feat: Array
    img_pos_feat: Array
    img_soft_labels: Array | None = None
    txt_type_ids: torch.Tensor | None = None

    @classmethod
    def of(cls, rid: str, input_ids: torch.Tensor, image: ImageRegions,
           txt_type_ids: torch.Tensor | None = None) -> PairExample:
        """Text `input_ids` of record `rid` paired with `image`."""
        return cls(id=rid, img_id=image.img_id, input_ids=input_ids, img_feat=image.img_feat,
                   img_pos_feat=image.img_pos_feat, img_soft_labels=image.img_soft_labels,
                   txt_type_ids=txt_type_ids)


@dataclass(frozen=True)
class MlmExample:
    """Masked language modelling: `pair.input_ids` masked; txt_labels (T,) int64, the
    original id at masked positions, -1 elsewhere."""

    pair: PairExample
    txt_labels: torch.Tensor


@dataclass(frozen=True)
class TextMlmExample:
    """Masked language modelling on text alone: `text.input_ids` masked; txt_labels (T,)."""

    text: TextExample
    txt_labels: torch.Tensor


@dataclass(frozen=True)
class MrmExample:
    """Masked region modelling: img_mask (N,) bool, True = region masked (>= 1 per example)."""

    pair: PairExample
    img_mask: torch.Tensor


@dataclass(frozen=True)
class ItmExample:
    """Image-text matching: itm_target 1 when `pair` matches, 0 for a drawn negative."""

    pair: PairExample
    itm_target: int


@dataclass(frozen=True)
class VqaExample:
    """VQA (and SNLI-VE, trained as 3-answer VQA): vqa_targets (A,) float32 soft scores
    (zeros when the record has no target), qid the question's record id."""

    pair: PairExample
    vqa_targets: torch.Tensor
    qid: str


@dataclass(frozen=True)
class ReExample:
    """Referring expressions: re_target the index of the referred region among the image's
    N; target_box (4,) [x1, y1, x2, y2] the referred box (what evaluation scores)."""

    pair: PairExample
    re_target: int
    target_box: list[float]


@dataclass(frozen=True)
class RankExample:
    """A ranking group (retrieval fine-tuning): pairs S = 1 + num_img_neg + num_txt_neg, the
    matched pair first, then the text with other images, then the image with other texts."""

    pairs: list[PairExample]
    num_img_neg: int
    num_txt_neg: int


@dataclass(frozen=True)
class VlpExample:
    """VLP pre-training / captioning: `pair.input_ids` masked; txt_labels (T,) (-1 = not
    masked); vlp_mode the attention mask, `vlkit.data.vlp.BI` or `S2S`."""

    pair: PairExample
    txt_labels: torch.Tensor
    vlp_mode: int


@dataclass(frozen=True)
class CaptionExample:
    """Caption decoding / SCST: `pair` is [CLS] and the image's regions (id = img_id);
    refs the image's reference captions, token ids without [CLS]/[SEP]."""

    pair: PairExample
    refs: list[list[int]]


@dataclass(frozen=True)
class Nlvr2Example:
    """NLVR2: a sentence about two images.

    id: the record's identifier. input_ids: (T,) int64 [CLS] w ... [SEP].
    imgs: [left, right] `ImageRegions`.
    nlvr2_target: 1 = True, 0 = False, -1 when the record has no label.
    """

    id: str
    input_ids: torch.Tensor
    imgs: Sequence[ImageRegions]
    nlvr2_target: int


@dataclass(frozen=True)
class VcrRow:
    """One VCR choice: the question with one answer (and rationale).

    input_ids: (T,) int64 [CLS] q [SEP] a [SEP] (r [SEP]).
    txt_type_ids: (T,) int64, 0 question, 2 answer, 3 rationale.
    txt_region_ids: (T,) int64 region each token refers to, -1 for none; or None when the
        row carries no object tags.
    """

    input_ids: torch.Tensor
    txt_type_ids: torch.Tensor
    txt_region_ids: torch.Tensor | None = None


@dataclass(frozen=True)
class VcrExample:
    """A VCR record (in one stage): every row shares `image`.

    id: the annotation id. rows: S `VcrRow`s (4 in training; 8 or 20 at evaluation).
    targets: S ints, 1 = the right choice, 0 = wrong, -1 = unknown.
    answer_label, rationale_label: gold choice indices, -1 when unknown.
    """

    id: str
    image: ImageRegions
    rows: list[VcrRow]
    targets: list[int]
    answer_label: int
    rationale_label: int
