"""Collate typed examples into typed batches, with UNITER's compact gather index.

One module per concern: `pad` (rows -> padded tensors), `inputs` (the encoder inputs and gather
index), `tasks` (UNITER's tasks and `COLLATE`), `nlvr2`, `vcr`, `vlp` (VLP's masks and
captioning), `text` (text-only MLM). The public names are importable from here.

Every collate takes a sequence of the example dataclass its task's dataset (or masker)
yields, documented with shapes in `vlkit.data.examples`:
    collate_plain / collate_inputs   PairExample
    collate_mlm                      MlmExample       (MlmMasker, WholeWordMasker)
    collate_mrm ("mrfr", "mrc*")     MrmExample       (MrmMasker)
    collate_itm                      ItmExample       (ItmDataset)
    collate_vqa, collate_vlp_vqa     VqaExample       (VqaDataset, VeDataset)
    collate_itm_rank                 RankExample      (ItmRankDataset)
    collate_re                       ReExample        (ReDataset)
    collate_nlvr2                    Nlvr2Example     (Nlvr2Dataset)
    collate_vcr                      VcrExample       (VcrDataset, VcrEvalDataset)
    collate_vlp                      VlpExample       (VlpTransform)
    collate_caption                  CaptionExample   (ImageCaptionDataset)
    collate_text_mlm                 TextMlmExample   (TextCorpus + an MLM masker)
Every index tensor is built with broadcasting over (B, L) positions; the only Python loops
are over examples, copying their rows into the padded outputs. Features become float32.
"""


from vlkit.data.collate.inputs import collate_inputs, gather_index, img_mask_target, ot_scatter
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
    "COLLATE", "NLVR2_COLLATE", "TextMlmBatch", "VcrBatch", "collate_caption",
    "collate_inputs", "collate_itm", "collate_itm_rank", "collate_mlm", "collate_mrm",
    "collate_nlvr2", "collate_plain", "collate_re", "collate_text_mlm", "collate_vcr",
    "collate_vlp", "collate_vlp_vqa", "collate_vqa", "flatten", "gather_index", "img_mask_target",
    "ot_scatter", "pad_flat", "pad_rows", "valid_mask",
]
