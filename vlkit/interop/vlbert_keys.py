"""VL-BERT's released checkpoints (jackroos/VL-BERT `vl-bert-{base,large}-{prec,e2e}.model`
and what its fine-tuning scripts save) -> vlkit's VlBert.

vlkit's VL-BERT keeps VL-BERT's parameter names (docs/vlbert.md), so the key map is the
identity after these steps:
- the file holds {"state_dict": weights, "optimizer": ..., ...}: only the weights are read;
- `module.` (DDP / DataParallel, on every key of a released file) is stripped, and
  `vlbert._module.` (VL-BERT's VCR model wraps the BERT in TimeDistributed) becomes `vlbert.`;
- keys vlkit has no counterpart for are left out and listed (`LEFT_OUT`): the ResNet-101
  backbone and RoI head of the end-to-end ("-e2e") checkpoints (vlkit reads precomputed
  region features), `vlbert.relationsip_head.*` (WITH_REL_LOSS, off in the released
  configs), VCR's auxiliary object classifier `cnn_loss_reg.*` (a training-only loss), and
  `vlbert.pooler.*` unless the checkpoint is a VCR model (`final_mlp.1.*`, VL-BERT's "1fc"
  choice scorer, which reads the pooler; with_pooler is off in the other released configs);
- `object_mask_visual_embedding.weight` is absent from "-e2e" checkpoints (they mask raw
  pixels instead); with the masked-RoI head it is set to zeros, VL-BERT's initial value.
Sizes come from shapes. The region feature size D and the box geometry size G share
`image_feature_extractor.obj_downsample.1.weight` (H, 8G + D): D is read from
`object_mask_visual_embedding.weight` (1, D) when present, else G is the preset's (256, as in
VL-BERT) and D = in - 8G.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from vlkit.interop.uniter_keys import preset_config, sizes_into_config
from vlkit.models.config import ModelConfig
from vlkit.models.io import LoadReport, load_state_dict_checked, read_state_dict, save_model
from vlkit.utils.errors import CheckpointError

LEFT_OUT = ("image_feature_extractor.backbone.",
            "image_feature_extractor.roi_head_feature_extractor.",
            "image_feature_extractor.head.", "vlbert.relationsip_head.", "cnn_loss_reg.")
POOLER = "vlbert.pooler."  # kept only beside VCR's choice scorer
VCR_SCORER = "final_mlp.1.weight"
MASKED_REGION = "object_mask_visual_embedding.weight"
_WORD = "vlbert.word_embeddings.weight"
_DOWNSAMPLE = "image_feature_extractor.obj_downsample.1.weight"
_LAYER = re.compile(r"^vlbert\.encoder\.layer\.(\d+)\.")


def normalize_vlbert_keys(sd: dict[str, torch.Tensor]
                          ) -> tuple[dict[str, torch.Tensor], dict[str, int]]:
    """Strip `module.` and TimeDistributed's `_module.`, drop LEFT_OUT keys (and the pooler
    of a non-VCR model); returns (weights, {left-out prefix: key count})."""
    out, left = {}, {}
    keys = {k.removeprefix("module."): k for k in sd}
    drop = LEFT_OUT if VCR_SCORER in keys else (*LEFT_OUT, POOLER)
    for key, src in keys.items():
        value = sd[src]
        if key.startswith("vlbert._module."):
            key = "vlbert." + key[len("vlbert._module."):]
        prefix = next((p for p in drop if key.startswith(p)), None)
        if prefix is None:
            out[key] = value
        else:
            left[prefix + "*"] = left.get(prefix + "*", 0) + 1
    return out, left


def _require(sd: dict[str, torch.Tensor], key: str) -> torch.Tensor:
    if key not in sd:
        hint = (" (it looks like a UNITER checkpoint: use `vlkit convert uniter`)"
                if any(k.startswith("uniter.") for k in sd) else "")
        raise CheckpointError(f"not a VL-BERT checkpoint: key '{key}' is missing{hint}")
    return sd[key]


def infer_vlbert_sizes(sd: dict[str, torch.Tensor], geo_dim: int = 256
                       ) -> dict[str, tuple[int, str]]:
    """{ModelConfig field: (value, key it was read from)} of a normalised VL-BERT state dict.

    `geo_dim` (G) is used only when the state dict has no object_mask_visual_embedding.
    """
    word = _require(sd, _WORD)
    layers = {int(m.group(1)) for k in sd if (m := _LAYER.match(k))}
    if not layers:
        raise CheckpointError("not a VL-BERT checkpoint: no 'vlbert.encoder.layer.N.*' keys")
    first = "vlbert.encoder.layer.0.intermediate.dense.weight"
    found = {
        "vocab_size": (word.shape[0], _WORD), "hidden_size": (word.shape[1], _WORD),
        "num_layers": (max(layers) + 1, "vlbert.encoder.layer.N"),
        "intermediate_size": (_require(sd, first).shape[0], first),
    }
    for name, key in (("max_position_embeddings", "vlbert.position_embeddings.weight"),
                      ("type_vocab_size", "vlbert.token_type_embeddings.weight")):
        found[name] = (_require(sd, key).shape[0], key)
    if "vlbert.mvrc_head.region_cls_pred.weight" in sd:
        found["img_label_dim"] = (sd["vlbert.mvrc_head.region_cls_pred.weight"].shape[0],
                                  "vlbert.mvrc_head.region_cls_pred.weight")
    width = _require(sd, _DOWNSAMPLE).shape[1]  # 8G + D
    if MASKED_REGION in sd:
        img_dim = sd[MASKED_REGION].shape[1]
        geo_dim, why = (width - img_dim) // 8, f"{_DOWNSAMPLE} and {MASKED_REGION}"
        if geo_dim < 1 or 8 * geo_dim + img_dim != width:
            raise CheckpointError(f"'{_DOWNSAMPLE}' takes {width} inputs, which is not 8 x G + "
                                  f"{img_dim} (the feature size of '{MASKED_REGION}')")
        found["img_dim"] = (img_dim, MASKED_REGION)
    else:
        img_dim, why = width - 8 * geo_dim, f"{_DOWNSAMPLE} with vlbert_geo_dim={geo_dim}"
        if img_dim < 1:
            raise CheckpointError(f"'{_DOWNSAMPLE}' takes {width} inputs, fewer than the "
                                  f"8 x {geo_dim} of the box geometry embedding")
        found["img_dim"] = (img_dim, why)
    found["vlbert_geo_dim"] = (geo_dim, why)
    return found


def convert_vlbert_checkpoint(src: str | Path, dst: str | Path, preset: str | None = None,
                              overwrite: bool = False
                              ) -> tuple[Path, LoadReport, ModelConfig, dict[str, int]]:
    """Released VL-BERT checkpoint -> vlkit checkpoint folder `dst` (written atomically).

    Returns (folder, load report, config, {left-out prefix: count}). Every missing,
    unexpected or mis-shaped key is named (CheckpointError) before anything is written.
    """
    from vlkit.models.vlbert import heads_in
    from vlkit.models.zoo import build_model

    sd, left = normalize_vlbert_keys(read_state_dict(src))
    base = preset_config(preset)
    if base is not None and base.arch != "vlbert":
        raise CheckpointError(f"--model {preset} is a '{base.arch}' model, not VL-BERT")
    geo = base.vlbert_geo_dim if base is not None else ModelConfig().vlbert_geo_dim
    cfg = sizes_into_config(infer_vlbert_sizes(sd, geo), base, arch="vlbert")
    if preset is None:
        cfg.name = "custom"
    heads, num_answers = heads_in(sd)
    if "mvrc" in heads and MASKED_REGION not in sd:
        sd[MASKED_REGION] = torch.zeros(1, cfg.img_dim)
        left[f"{MASKED_REGION} (absent: set to zeros)"] = 1
    model = build_model(cfg, heads=heads, num_answers=num_answers)
    report = load_state_dict_checked(model, sd, strict=True, source=str(src))
    return save_model(model, dst, cfg, overwrite=overwrite), report, cfg, left
