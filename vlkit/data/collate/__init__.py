"""Collate per-example dicts into typed batches, with UNITER's compact gather index.

One module per concern: `pad` (rows -> padded tensors), `inputs` (the encoder inputs and gather
index), `tasks` (UNITER's tasks and `COLLATE`), `nlvr2`, `vcr`, `vlp` (VLP's masks and
captioning), `text` (text-only MLM). The public names are importable from here.

An example (what the task datasets and maskers yield) is a dict:
    "input_ids": (T,) int64 tensor, [CLS] w ... [SEP]
    "img_feat": (N, D) array or tensor, any float dtype (fp16 store rows are fine)
    "img_pos_feat": (N, 7) float boxes
    "img_soft_labels": (N, C) or None            (MRC targets)
    "txt_labels": (T,) int64, -1 = not masked      (after MLM masking)
    "img_mask": (N,) bool, True = masked          (after MRM masking)
    "itm_target": int 1/0                          (ITM)
    "vqa_targets": (A,) float32, "qid": str        (VQA)
    "re_target": int, "target_box": (4,)           (referring expressions)
    "txt_type_ids": (T,) int64 token types         (optional; VCR)
A ranking example (ITM fine-tuning) is {"pairs": [S examples], "num_img_neg", "num_txt_neg"}.
Every index tensor is built with broadcasting over (B, L) positions; the only Python loops
are over examples, copying their rows into the padded outputs. Features become float32.
"""


from vlkit.data.collate.inputs import (
    Example,
    collate_inputs,
    gather_index,
    img_mask_target,
    ot_scatter,
)
from vlkit.data.collate.nlvr2 import NLVR2_COLLATE, collate_nlvr2
from vlkit.data.collate.pad import flatten, pad_flat, pad_rows, valid_mask
from vlkit.data.collate.tasks import (
    COLLATE,
    collate_itm,
    collate_itm_rank,
    collate_mlm,
    collate_mrm,
    collate_plain,
    collate_re,
    collate_vqa,
)
from vlkit.data.collate.text import TextMlmBatch, collate_text_mlm
from vlkit.data.collate.vcr import VcrBatch, collate_vcr
from vlkit.data.collate.vlp import collate_caption, collate_vlp, collate_vlp_vqa

__all__ = [
    "COLLATE", "NLVR2_COLLATE", "Example", "TextMlmBatch", "VcrBatch", "collate_caption",
    "collate_inputs", "collate_itm", "collate_itm_rank", "collate_mlm", "collate_mrm",
    "collate_nlvr2", "collate_plain", "collate_re", "collate_text_mlm", "collate_vcr",
    "collate_vlp", "collate_vlp_vqa", "collate_vqa", "flatten", "gather_index", "img_mask_target",
    "ot_scatter", "pad_flat", "pad_rows", "valid_mask",
]
