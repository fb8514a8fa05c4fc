"""UNITER interop: released-checkpoint key map (see uniter_keys) and the parity reproduction.

`reproduce_fixture(fixture_dir)` recomputes, with vlkit's own model, losses, optimizer and
schedule, every tensor that a UNITER parity fixture (`../shared/fixtures/uniter_parity`) lists
in `outputs.pt`, reading only `manifest.json`, `state_dict.pt` and `inputs.pt`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch

from vlkit.interop.uniter_keys import (
    LoadReport,
    convert_uniter_checkpoint,
    export_uniter_checkpoint,
    export_uniter_state_dict,
    infer_config,
    infer_heads,
    load_uniter_state_dict,
    normalize_keys,
    read_uniter_checkpoint,
)
from vlkit.losses.itm import itm_loss
from vlkit.losses.mlm import mlm_loss
from vlkit.losses.mrm import mrc_kl_loss, mrc_loss, mrfr_loss
from vlkit.losses.ot import OT_WEIGHT, optimal_transport, ot_loss, ot_pos_neg
from vlkit.models.config import ModelConfig
from vlkit.models.encoder import split_compact
from vlkit.models.uniter import Uniter
from vlkit.train.optim import NO_DECAY, build_optimizer
from vlkit.train.schedule import warmup_linear
from vlkit.utils.errors import CheckpointError

__all__ = ["LoadReport", "convert_uniter_checkpoint", "export_uniter_checkpoint",
           "export_uniter_state_dict", "fixture_model", "infer_config", "infer_heads",
           "load_uniter_state_dict", "normalize_keys", "read_uniter_checkpoint",
           "reproduce_fixture"]

MODEL_INPUTS = ("input_ids", "position_ids", "img_feat", "img_pos_feat", "attn_masks",
                "gather_index", "img_masks", "txt_type_ids", "img_type_ids")
_NUM = r"([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)"


def _meaning(manifest: dict, key: str) -> str:
    return manifest["tensors"].get(key, {}).get("meaning", "")


def _number(text: str, pattern: str, default: float) -> float:
    found = re.search(pattern, text)
    return float(found.group(1)) if found else default


def fixture_model(manifest: dict, sd: dict[str, torch.Tensor], pack_tokens: bool = True
                  ) -> Uniter:
    """A vlkit Uniter in eval mode holding the fixture's weights; sizes from manifest + shapes.
    `pack_tokens=False` computes the padding positions too, as the reference does."""
    raw = manifest.get("config", {})
    base = infer_config(sd)
    base.num_heads = int(raw.get("num_attention_heads", base.num_heads))
    base.hidden_act = raw.get("hidden_act", base.hidden_act)
    cfg = infer_config(sd, ModelConfig(**{**vars(base), "name": "fixture",
                                          "pack_tokens": pack_tokens}))
    heads, num_answers = infer_heads(sd)
    model = Uniter(cfg, heads=heads, num_answers=num_answers)
    load_uniter_state_dict(model, sd)
    return model.eval()


def _batch(inputs: dict[str, torch.Tensor], task: str) -> dict[str, torch.Tensor]:
    """plain.* model inputs, overridden by `<task>.*` ones (the fixture's convention)."""
    batch = {k: inputs[f"plain.{k}"] for k in MODEL_INPUTS if f"plain.{k}" in inputs}
    batch.update({k: inputs[f"{task}.{k}"] for k in MODEL_INPUTS if f"{task}.{k}" in inputs})
    return batch


@torch.no_grad()
def _encoder_outputs(model: Uniter, inputs: dict) -> dict[str, torch.Tensor]:
    enc, plain = model.uniter, _batch(inputs, "plain")
    out = model(**plain, output_all_layers=True)
    ids, pos = plain["input_ids"], plain["position_ids"]
    text_only = model(input_ids=ids, position_ids=pos, attn_masks=(ids != 0).long())
    img_only = model(img_feat=plain["img_feat"], img_pos_feat=plain["img_pos_feat"],
                     attn_masks=inputs["img_only.attn_masks"])
    return {
        "encoder.embedding_output": enc.embed(ids, pos, plain["img_feat"], plain["img_pos_feat"],
                                              plain["gather_index"]),
        "encoder.txt_embeddings": enc.embed_txt(ids, pos),
        "encoder.img_embeddings": enc.embed_img(plain["img_feat"], plain["img_pos_feat"]),
        "encoder.all_layers": torch.stack(out.all_layers),
        "encoder.sequence_output": out.sequence,
        "encoder.pooled_output": out.pooled,
        "encoder.text_only_sequence_output": text_only.sequence,
        "encoder.image_only_sequence_output": img_only.sequence,
    }


def _pretrain_outputs(model: Uniter, inputs: dict, manifest: dict) -> dict[str, torch.Tensor]:
    """Logits and unreduced losses of every pretraining task (graph kept for backward)."""
    out: dict[str, torch.Tensor] = {}
    mlm = _batch(inputs, "mlm")
    labels = inputs["mlm.txt_labels"]  # (B, Lt), -1 = not masked
    seq = model(**mlm).sequence[:, :labels.size(1)]
    out["mlm.prediction_scores"] = model.cls(seq[labels != -1])  # (n_masked, V)
    out["mlm.loss"] = mlm_loss(out["mlm.prediction_scores"], labels[labels != -1])

    mrm = _batch(inputs, "mrm")
    masked = model(**mrm).sequence[inputs["mrm.img_mask_tgt"]]  # (n_masked_regions, H)
    out["mrfr.prediction_feat"] = model.feat_regress(masked)
    out["mrfr.loss"] = mrfr_loss(out["mrfr.prediction_feat"], inputs["mrfr.feat_targets"])
    out["mrc.logits"] = model.region_classifier(masked)
    out["mrc.loss"] = mrc_loss(out["mrc.logits"], inputs["mrc.label_targets"])
    out["mrc-kl.loss"] = mrc_kl_loss(out["mrc.logits"], inputs["mrc.label_targets"])

    itm = _batch(inputs, "itm")
    enc = model(**itm)
    targets = inputs["itm.targets"]
    out["itm.scores"] = model.itm_output(enc.pooled)
    out["itm.loss"] = itm_loss(out["itm.scores"], targets)
    txt_pad, img_pad = inputs["itm.txt_pad"], inputs["itm.img_pad"]
    txt, img = split_compact(enc.sequence, inputs["itm.ot_scatter"], txt_pad.size(1),
                             img_pad.size(1))
    how = _meaning(manifest, "itm.ot_dist")
    dist, plan = optimal_transport(
        txt, img, txt_pad, img_pad, beta=_number(how, r"beta\s*=\s*" + _NUM, 0.5),
        iteration=int(_number(how, r"iteration\s*=\s*" + _NUM, 50)),
        k=int(_number(how, r"\bk\s*=\s*" + _NUM, 1)))
    out["itm.ot_dist"], out["itm.ot_transport_plan"] = dist, plan
    out["itm.ot_pos"], out["itm.ot_neg"] = ot_pos_neg(dist, targets)
    out["itm.ot_loss"] = ot_loss(dist, targets)
    weight = _number(_meaning(manifest, "itm.total_loss"), _NUM + r"\)?\s*\*\s*ot_loss",
                     OT_WEIGHT)
    out["itm.total_loss"] = out["itm.loss"].mean() + weight * out["itm.ot_loss"]
    return out


def _total_loss(formula: str, out: dict[str, torch.Tensor]) -> torch.Tensor:
    """Evaluate e.g. 'mlm.mean + mrfr.mean + itm.mean + 0.1*ot_loss (eval mode)'."""
    formula = re.split(r"\s\(|\swhose\s", formula)[0]
    total = None
    for term in formula.split("+"):
        found = re.fullmatch(r"\s*(?:" + _NUM + r"\s*\*\s*)?([\w\-.]+?)(\.mean)?\s*", term)
        if not found:
            raise ValueError(f"cannot parse loss term '{term}' of '{formula}'")
        coef, name, mean = found.groups()
        key = next((k for k in (f"{name}.loss", name, f"itm.{name}") if k in out), None)
        if key is None:
            raise ValueError(f"loss term '{name}' of '{formula}' names no computed tensor")
        value = out[key].mean() if mean else out[key]
        value = value * float(coef) if coef else value
        total = value if total is None else total + value
    return total


def _optim_outputs(model: Uniter, names: list[str], manifest: dict) -> dict[str, torch.Tensor]:
    """Parameters after N library-AdamW steps with the (fixed) gradients now in .grad."""
    if not names:
        return {}
    how = _meaning(manifest, names[0])
    steps = int(re.match(r"optim\.after_(\d+)_steps\.", names[0]).group(1))
    betas = re.search(r"betas\s*\(\s*" + _NUM + r"\s*,\s*" + _NUM + r"\s*\)", how)
    exempt = re.search(r"except names containing ([\w./]+)", how)
    optimizer = build_optimizer(
        model, lr=_number(how, r"\blr\s+" + _NUM, 1e-3),
        betas=(float(betas.group(1)), float(betas.group(2))) if betas else (0.9, 0.999),
        eps=_number(how, r"\beps\s+" + _NUM, 1e-6), weight_decay=_number(how, r"\bwd\s+" + _NUM, 0),
        no_decay=tuple(exempt.group(1).split("/")) if exempt else NO_DECAY)
    for _ in range(steps):
        optimizer.step()
    params = dict(model.named_parameters(remove_duplicate=False))
    prefix = re.match(r"optim\.after_\d+_steps\.", names[0]).group(0)
    return {n: params[n[len(prefix):]].detach().clone() for n in names}


def _schedule_outputs(names: list[str]) -> dict[str, torch.Tensor]:
    out = {}
    for name in names:
        w, t = map(int, re.fullmatch(r"sched\.warmup_linear_w(\d+)_t(\d+)", name).groups())
        out[name] = torch.tensor([warmup_linear(s, w, t) for s in range(t + 1)],
                                 dtype=torch.float64)
    return out


def reproduce_fixture(fixture_dir: str | Path, pack_tokens: bool = True
                      ) -> dict[str, torch.Tensor]:
    """Every tensor listed in a UNITER parity fixture's outputs.pt, computed by vlkit.

    Reads `manifest.json` (config, tensor list and their meanings), `state_dict.pt` (UNITER
    names) and `inputs.pt` (UNITER-collated batches); never `outputs.pt`. Sizes come from the
    weights' shapes plus the manifest's head count; OT settings, the total-loss formula,
    optimizer settings/step count and schedule parameters are parsed from the manifest's
    tensor names and meanings. Steps: encoder outputs (embeddings, every layer, pooled,
    text-only, image-only) in eval mode; each task's logits and unreduced losses; OT plan,
    distance, pos/neg and loss; `grad.total_loss` and its gradients `grad.<param>`;
    `optim.after_N_steps.<param>` after N steps of vlkit's AdamW (build_optimizer) holding those
    gradients fixed; `sched.warmup_linear_w{W}_t{T}` for steps 0..T.
    Returns {name: tensor} for exactly the names the manifest lists with file == outputs.pt.
    With `pack_tokens` (the model default) sequence outputs are zeros at padding positions;
    `pack_tokens=False` computes them as the reference does.
    """
    root = Path(fixture_dir)
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    sd = torch.load(root / "state_dict.pt", map_location="cpu", weights_only=True)
    inputs = torch.load(root / "inputs.pt", map_location="cpu", weights_only=True)
    wanted = [k for k, v in manifest["tensors"].items() if v.get("file") == "outputs.pt"]
    model = fixture_model(manifest, sd, pack_tokens)
    out = _encoder_outputs(model, inputs)
    task = _pretrain_outputs(model, inputs, manifest)
    total = _total_loss(_meaning(manifest, "grad.total_loss") or
                        "mlm.mean + mrfr.mean + mrc-kl.mean + itm.mean + 0.1*ot_loss", task)
    model.zero_grad(set_to_none=True)
    total.backward()
    out.update({k: v.detach() for k, v in task.items()})
    out["grad.total_loss"] = total.detach()
    params = dict(model.named_parameters(remove_duplicate=False))
    for name in wanted:
        if name.startswith("grad.") and name != "grad.total_loss":
            grad = params[name[len("grad."):]].grad
            out[name] = torch.zeros_like(params[name[5:]]) if grad is None else grad.clone()
    out.update(_optim_outputs(model, [n for n in wanted if n.startswith("optim.")], manifest))
    out.update(_schedule_outputs([n for n in wanted if n.startswith("sched.")]))
    missing = [n for n in wanted if n not in out]
    if missing:
        raise CheckpointError(f"{root}: cannot compute fixture tensors {missing}")
    return {n: out[n] for n in wanted}
