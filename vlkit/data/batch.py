"""Typed batches: what collate produces and objectives consume.

Shapes use B = batch size, Lt = max text length (with [CLS]/[SEP]), Nr = max regions,
L = max(txt_len_i + num_bb_i) (the compact joint length), D = region feature dim,
C = soft-label classes, M = masked regions in the batch, A = answer vocabulary size.

The joint sequence is UNITER's "compact" layout: the model embeds text (B, Lt) and regions
(B, Nr) separately, concatenates them to (B, Lt + Nr) and gathers with `gather_index` (B, L)
so each row reads [its tl_i tokens, its nbb_i regions, padding]. Padding rows of
`gather_index` are the identity arange (UNITER's convention); they are masked by `attn_masks`.

Every batch class holds an `EncoderInput` (composition, not inheritance) plus the task's
targets, and says its `task`. `.to(device)` moves every tensor field (non_blocking).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vlkit.encoder_input import EncoderInput, Movable


class TaskBatch(Movable):
    """Shared accessors of task batches (all hold `inputs: EncoderInput`)."""

    inputs: EncoderInput

    @property
    def size(self) -> int:
        return self.inputs.size

    @property
    def num_tokens(self) -> int:
        return self.inputs.num_tokens


@dataclass
class PlainBatch(TaskBatch):
    """Inputs with no targets (feature extraction, retrieval scoring)."""

    inputs: EncoderInput
    task: str = "plain"


@dataclass
class MlmBatch(TaskBatch):
    """Masked language modelling; regions are never masked.

    txt_labels: (B, Lt) int64, the original id at masked positions, -1 elsewhere (and padding).
    """

    inputs: EncoderInput
    txt_labels: torch.Tensor
    task: str = "mlm"


@dataclass
class MrmBatch(TaskBatch):
    """Masked region modelling (mrfr / mrc / mrc-kl); tokens are never masked.

    inputs.img_masks: (B, Nr) bool; inputs.img_feat has the masked rows zeroed.
    img_mask_tgt: (B, L) bool over the compact sequence: False on text, img_masks_i on regions.
    feat_targets: (M, D) float32 original features of the masked regions, row-major (b, region).
    label_targets: (M, C) float32 soft labels of the masked regions, or None (store has none).
    """

    inputs: EncoderInput
    img_mask_tgt: torch.Tensor
    feat_targets: torch.Tensor
    label_targets: torch.Tensor | None = None
    task: str = "mrfr"


@dataclass
class ItmBatch(TaskBatch):
    """Image-text matching, with the inputs of the optimal-transport (WRA) loss.

    targets: (B,) int64, 1 = matched pair, 0 = negative.
    ot_scatter: (B, L) int64 maps compact position j to its slot in [txt 0..Lt-1 | img Lt..];
        padding continues past the image slots (UNITER's convention).
    txt_pad: (B, Lt) bool, True = text padding.  img_pad: (B, Nr) bool, True = region padding.
    ot_scatter_max: int, ot_scatter.max() (the scatter target length - 1), kept as a Python int
        so the model needs no device sync.
    """

    inputs: EncoderInput
    targets: torch.Tensor
    ot_scatter: torch.Tensor
    txt_pad: torch.Tensor
    img_pad: torch.Tensor
    ot_scatter_max: int
    task: str = "itm"


@dataclass
class VqaBatch(TaskBatch):
    """Visual question answering.

    targets: (B, A) float32 soft scores over the answer vocabulary (zeros when unknown).
    qids: list of B question ids (str).
    """

    inputs: EncoderInput
    targets: torch.Tensor
    qids: list[str]
    task: str = "vqa"


@dataclass
class RankBatch(TaskBatch):
    """Image-text ranking (retrieval fine-tuning): G groups of S pairs, flattened group-major.

    inputs: B = G * S pairs; row g * S + 0 is group g's matched pair, the others negatives.
    sample_size: S = 1 + num_img_neg + num_txt_neg.
    num_img_neg: rows 1..num_img_neg of a group pair its text with other images; the
        following num_txt_neg rows pair its image with other texts (UNITER's ItmRankDataset).
    """

    inputs: EncoderInput
    sample_size: int
    num_img_neg: int
    num_txt_neg: int
    task: str = "itm_rank"

    @property
    def num_groups(self) -> int:
        return self.inputs.size // self.sample_size


@dataclass
class ReBatch(TaskBatch):
    """Referring expressions: pick one of the image's regions for each expression.

    targets: (B,) int64 index of the ground-truth region, -1 when unknown (e.g. detected
        regions at evaluation).
    region_pad: (B, Nr) bool, True = padding region (UNITER's obj_masks).
    region_boxes: (B, Nr, 4) float32 xyxy of every region (normalised).
    target_boxes: (B, 4) float32 xyxy of the referred object.
    ids: list of B expression ids (str).
    """

    inputs: EncoderInput
    targets: torch.Tensor
    region_pad: torch.Tensor
    region_boxes: torch.Tensor
    target_boxes: torch.Tensor
    ids: list[str]
    task: str = "re"


@dataclass
class Nlvr2Batch(TaskBatch):
    """NLVR2: one sentence, two images, a True/False label per example.

    variant "paired" / "paired-attn": inputs hold 2B rows, rows 2k and 2k+1 = the sentence with
    example k's left and right image. variant "triplet": B rows, each the sentence followed by
    the left image's regions then the right image's.
    inputs.img_type_ids: (rows, Nr) int64 region token types, 1 = left image, 2 = right,
        0 = padding.
    targets: (B,) int64, 1 = True, 0 = False, -1 = unlabelled.
    ids: list of B identifiers.
    """

    inputs: EncoderInput
    targets: torch.Tensor
    ids: list[str]
    variant: str = "paired-attn"
    task: str = "nlvr2"

    @property
    def size(self) -> int:
        """Number of examples B (not encoder rows)."""
        return int(self.targets.shape[0])


@dataclass
class VlpBatch(TaskBatch):
    """Unified VLP masked-token prediction, seq2seq or bidirectional per example.

    inputs.attn_masks: (B, L, L) int64 attention mask built by `vlkit.data.vlp` (1 = may
        attend); inputs.img_pos_feat: (B, Nr, 6 + C) normalised VLP region slots;
        inputs.txt_type_ids: (B, Lt) and inputs.img_type_ids: (B, Nr) token types of the
        mode.
    txt_labels: (B, Lt) int64 original id at masked caption positions, -1 elsewhere.
    modes: (B,) int64, 1 = seq2seq, 0 = bidirectional.
    """

    inputs: EncoderInput
    txt_labels: torch.Tensor
    modes: torch.Tensor
    task: str = "vlp"


@dataclass
class CaptionBatch(TaskBatch):
    """Decoding prefixes: [CLS] + regions of B images, with their reference captions.

    inputs: text = [CLS] only (B, 1); attn_masks (B, L) padding mask of the prefix;
        img_pos_feat (B, Nr, 6 + C) VLP region slots; txt_type_ids (B, 1) and
        img_type_ids (B, Nr) the seq2seq source type.
    refs: B lists of reference captions, each a list of token ids without [CLS]/[SEP].
    img_ids: B image ids.
    """

    inputs: EncoderInput
    refs: list[list[list[int]]]
    img_ids: list[str]
    task: str = "caption"


@dataclass
class VlpVqaBatch(TaskBatch):
    """VQA in VLP's bidirectional mode (VLP's VQA head reads the [CLS] and [SEP] outputs).

    inputs: as `VlpBatch` (bidirectional (B, L, L) mask, VLP region slots, mode-0 types).
    targets: (B, A) float32 soft answer scores.  qids: B question ids.
    """

    inputs: EncoderInput
    targets: torch.Tensor
    qids: list[str]
    task: str = "vqa"
