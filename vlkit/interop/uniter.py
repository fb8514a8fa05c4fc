"""UNITER interop: released-checkpoint key map (see uniter_keys) and the parity reproduction.

`reproduce_fixture(fixture_dir)` recomputes every tensor that a UNITER parity fixture
(`../shared/fixtures/uniter_parity`) lists in `outputs.pt` through the code `vlkit train`
runs: the model, the pre-training objectives (`vlkit.objectives.pretrain`: their typed
outputs for logits and unreduced losses, `PretrainObjective` for the total loss), the
trainer's optimizer (`optimizer_for` + `set_lr`) and its schedule (`lr_at`). It reads only
`manifest.json` (its `settings` field gives the OT, loss, optimizer and schedule settings; a
missing one is an error), `state_dict.pt` and `inputs.pt`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch

from vlkit.data.batch import ItmBatch, MlmBatch, MrmBatch
from vlkit.encoder_input import EncoderInput
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
from vlkit.losses.ot import OtSettings, ot_pos_neg
from vlkit.models.config import ModelConfig
from vlkit.models.uniter import Uniter
from vlkit.objectives.pretrain import PretrainObjective, itm_outputs, mlm_outputs, mrm_outputs
from vlkit.train.config import TrainConfig
from vlkit.train.optim import NO_DECAY, optimizer_for
from vlkit.train.schedule import LR_FLOOR, lr_at, set_lr
from vlkit.utils.errors import CheckpointError

__all__ = ["LoadReport", "convert_uniter_checkpoint", "export_uniter_checkpoint",
           "export_uniter_state_dict", "fixture_model", "infer_config", "infer_heads",
           "load_uniter_state_dict", "normalize_keys", "read_uniter_checkpoint",
           "reproduce_fixture"]

MODEL_INPUTS = ("input_ids", "position_ids", "img_feat", "img_pos_feat", "attn_masks",
                "gather_index", "img_masks", "txt_type_ids", "img_type_ids")
TASK_REDUCTIONS = ("mlm", "mrfr", "mrc", "mrc-kl", "itm")  # settings.pretrain_loss task keys


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


def setting(manifest: dict, *path: str) -> Any:
    """manifest["settings"][path...]; CheckpointError naming the missing key."""
    node: Any = manifest.get("settings")
    for depth, key in enumerate(path):
        if not isinstance(node, dict) or key not in node:
            where = ".".join(("settings", *path[:depth + 1]))
            raise CheckpointError(f"parity fixture manifest.json: no '{where}' (the fixture's "
                                  "settings must state every OT, loss, optimizer and schedule "
                                  "value; nothing is assumed)")
        node = node[key]
    return node


def _batch(inputs: dict[str, torch.Tensor], task: str) -> dict[str, torch.Tensor]:
    """plain.* model inputs, overridden by `<task>.*` ones (the fixture's convention)."""
    batch = {k: inputs[f"plain.{k}"] for k in MODEL_INPUTS if f"plain.{k}" in inputs}
    batch.update({k: inputs[f"{task}.{k}"] for k in MODEL_INPUTS if f"{task}.{k}" in inputs})
    return batch


def _inputs(inputs: dict[str, torch.Tensor], task: str) -> EncoderInput:
    """The task's collated inputs as the typed batch field the objectives read."""
    b = _batch(inputs, task)
    txt_lens = (b["input_ids"] != 0).sum(1)
    return EncoderInput(input_ids=b["input_ids"], position_ids=b["position_ids"],
                        img_feat=b["img_feat"], img_pos_feat=b["img_pos_feat"],
                        attn_masks=b["attn_masks"], gather_index=b["gather_index"],
                        txt_lens=txt_lens, num_bbs=b["attn_masks"].sum(1) - txt_lens,
                        img_masks=b.get("img_masks"), txt_type_ids=b.get("txt_type_ids"))


def _task_batches(inputs: dict[str, torch.Tensor]) -> dict[str, Any]:
    """The fixture's pre-training batches as vlkit's typed batches, by task."""
    mrm = dict(inputs=_inputs(inputs, "mrm"), img_mask_tgt=inputs["mrm.img_mask_tgt"],
               feat_targets=inputs["mrfr.feat_targets"],
               label_targets=inputs["mrc.label_targets"])
    return {
        "mlm": MlmBatch(_inputs(inputs, "mlm"), inputs["mlm.txt_labels"]),
        "mrfr": MrmBatch(**mrm, task="mrfr"), "mrc": MrmBatch(**mrm, task="mrc"),
        "mrc-kl": MrmBatch(**mrm, task="mrc-kl"),
        "itm": ItmBatch(_inputs(inputs, "itm"), inputs["itm.targets"], inputs["itm.ot_scatter"],
                        inputs["itm.txt_pad"], inputs["itm.img_pad"],
                        int(inputs["itm.ot_scatter"].max())),
    }


def ot_settings(manifest: dict) -> OtSettings:
    return OtSettings(beta=float(setting(manifest, "ot", "beta")),
                      iteration=int(setting(manifest, "ot", "iteration")),
                      k=int(setting(manifest, "ot", "k")),
                      weight=float(setting(manifest, "pretrain_loss", "ot_weight")))


@torch.no_grad()
def _encoder_outputs(model: Uniter, inputs: dict) -> dict[str, torch.Tensor]:
    enc, plain = model.uniter, _batch(inputs, "plain")
    out = model(_inputs(inputs, "plain"), output_all_layers=True)
    ids, pos = plain["input_ids"], plain["position_ids"]
    text_only = model(EncoderInput.text_only(ids))
    img_only = model(EncoderInput(img_feat=plain["img_feat"], img_pos_feat=plain["img_pos_feat"],
                                  attn_masks=inputs["img_only.attn_masks"]))
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


def _task_outputs(model: Uniter, batches: dict, ot: OtSettings) -> dict[str, torch.Tensor]:
    """Logits and unreduced losses of every pre-training task, from the objectives' outputs."""
    mlm = mlm_outputs(model, batches["mlm"])
    mrfr = mrm_outputs(model, batches["mrfr"], "mrfr")
    mrc = mrm_outputs(model, batches["mrc"], "mrc")
    mrc_kl = mrm_outputs(model, batches["mrc-kl"], "mrc-kl")
    itm = itm_outputs(model, batches["itm"], ot)
    pos, neg = ot_pos_neg(itm.distance, batches["itm"].targets)
    return {"mlm.prediction_scores": mlm.logits, "mlm.loss": mlm.losses,
            "mrfr.prediction_feat": mrfr.prediction, "mrfr.loss": mrfr.losses,
            "mrc.logits": mrc.prediction, "mrc.loss": mrc.losses, "mrc-kl.loss": mrc_kl.losses,
            "itm.scores": itm.scores, "itm.loss": itm.losses, "itm.ot_dist": itm.distance,
            "itm.ot_transport_plan": itm.plan, "itm.ot_pos": pos, "itm.ot_neg": neg,
            "itm.ot_loss": itm.wra_loss,
            "itm.total_loss": itm.losses.mean() + ot.weight * itm.wra_loss}


def _total_loss(model: Uniter, batches: dict, manifest: dict, ot: OtSettings) -> torch.Tensor:
    """The sum of the training losses `PretrainObjective` gives each task the settings list
    (each one the mean over its examples, ITM's with the weighted WRA loss)."""
    losses = setting(manifest, "pretrain_loss")
    tasks = [t for t in TASK_REDUCTIONS if t in losses]
    if not tasks:
        raise CheckpointError("parity fixture manifest.json: settings.pretrain_loss names no "
                              f"task (expected some of {TASK_REDUCTIONS})")
    for task in tasks:
        if losses[task] != "mean":
            raise CheckpointError(f"settings.pretrain_loss.{task} is {losses[task]!r}; vlkit "
                                  "trains on the mean over examples")
    objective = PretrainObjective(wra=True, ot=ot)
    return sum(objective(model, batches[task])[0] for task in tasks)


def _train_config(manifest: dict) -> TrainConfig:
    """The TrainConfig whose optimizer and schedule the fixture's settings describe."""
    sched = setting(manifest, "schedule")
    no_decay = setting(manifest, "optimizer", "no_decay")
    if sorted(no_decay) != sorted(NO_DECAY):
        raise CheckpointError(f"settings.optimizer.no_decay {no_decay} differs from the "
                              f"trainer's rule {list(NO_DECAY)}")
    if float(setting(manifest, "schedule", "floor")) != LR_FLOOR:
        raise CheckpointError(f"settings.schedule.floor {sched['floor']} differs from the "
                              f"trainer's {LR_FLOOR}")
    if setting(manifest, "schedule", "name") != "warmup_linear":
        raise CheckpointError(f"settings.schedule.name {sched['name']!r}: vlkit's schedules "
                              "are warmup_linear and constant")
    return TrainConfig(lr=float(setting(manifest, "optimizer", "lr")),
                       betas=[float(b) for b in setting(manifest, "optimizer", "betas")],
                       eps=float(setting(manifest, "optimizer", "eps")),
                       weight_decay=float(setting(manifest, "optimizer", "weight_decay")),
                       warmup_steps=int(setting(manifest, "schedule", "warmup")),
                       total_steps=int(setting(manifest, "schedule", "total")),
                       schedule="warmup_linear")


def _optim_outputs(model: Uniter, names: list[str], manifest: dict) -> dict[str, torch.Tensor]:
    """Parameters after the settings' number of steps of the trainer's optimizer, with the
    (fixed) gradients now in .grad, at the constant learning rate `optimizer.lr`."""
    if not names:
        return {}
    cfg = _train_config(manifest)
    steps = int(setting(manifest, "optimizer", "steps"))
    prefix = f"optim.after_{steps}_steps."
    if any(not n.startswith(prefix) for n in names):
        raise CheckpointError(f"the fixture lists {names[0]!r} but settings.optimizer.steps "
                              f"is {steps}")
    constant = TrainConfig(**{**vars(cfg), "schedule": "constant"})
    optimizer = optimizer_for(model, constant)
    for step in range(steps):
        set_lr(optimizer, step, constant)
        optimizer.step()
    params = dict(model.named_parameters(remove_duplicate=False))
    return {n: params[n[len(prefix):]].detach().clone() for n in names}


def _schedule_outputs(names: list[str], manifest: dict) -> dict[str, torch.Tensor]:
    """The trainer's schedule factor (lr_at with base lr 1) at steps 0..T."""
    cfg = _train_config(manifest)
    out = {}
    for name in names:
        w, t = map(int, re.fullmatch(r"sched\.warmup_linear_w(\d+)_t(\d+)", name).groups())
        if (w, t) != (cfg.warmup_steps, cfg.total_steps):
            raise CheckpointError(f"the fixture lists {name!r} but settings.schedule has "
                                  f"warmup {cfg.warmup_steps}, total {cfg.total_steps}")
        out[name] = torch.tensor([lr_at(s, 1.0, w, t, cfg.schedule) for s in range(t + 1)],
                                 dtype=torch.float64)
    return out


def reproduce_fixture(fixture_dir: str | Path, pack_tokens: bool = True
                      ) -> dict[str, torch.Tensor]:
    """Every tensor listed in a UNITER parity fixture's outputs.pt, computed by vlkit's
    training code (see the module docstring); never reads `outputs.pt`.

    Steps: encoder outputs (embeddings, every layer, pooled, text-only, image-only) in eval
    mode; each task's logits and unreduced losses, the OT plan, distance, pos/neg and loss
    (the objectives' typed outputs, OT settings from `settings.ot`); `grad.total_loss`, the sum
    of `PretrainObjective`'s losses of the tasks in `settings.pretrain_loss`, and its
    gradients `grad.<param>`; `optim.after_N_steps.<param>` after `settings.optimizer.steps`
    steps of the trainer's optimizer holding those gradients fixed;
    `sched.warmup_linear_w{W}_t{T}` for steps 0..T from the trainer's schedule.
    Returns {name: tensor} for exactly the names the manifest lists with file == outputs.pt.
    With `pack_tokens` (the model default) sequence outputs are zeros at padding positions;
    `pack_tokens=False` computes them as the reference does.
    """
    root = Path(fixture_dir)
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    sd = torch.load(root / "state_dict.pt", map_location="cpu", weights_only=True)
    inputs = torch.load(root / "inputs.pt", map_location="cpu", weights_only=True)
    wanted = [k for k, v in manifest["tensors"].items() if v.get("file") == "outputs.pt"]
    ot = ot_settings(manifest)
    model = fixture_model(manifest, sd, pack_tokens)
    batches = _task_batches(inputs)
    out = _encoder_outputs(model, inputs)
    with torch.no_grad():
        out.update(_task_outputs(model, batches, ot))
    total = _total_loss(model, batches, manifest, ot)
    model.zero_grad(set_to_none=True)
    total.backward()
    out["grad.total_loss"] = total.detach()
    params = dict(model.named_parameters(remove_duplicate=False))
    for name in wanted:
        if name.startswith("grad.") and name != "grad.total_loss":
            grad = params[name[len("grad."):]].grad
            out[name] = torch.zeros_like(params[name[5:]]) if grad is None else grad.clone()
    out.update(_optim_outputs(model, [n for n in wanted if n.startswith("optim.")], manifest))
    out.update(_schedule_outputs([n for n in wanted if n.startswith("sched.")], manifest))
    missing = [n for n in wanted if n not in out]
    if missing:
        raise CheckpointError(f"{root}: cannot compute fixture tensors {missing}")
    return {n: out[n] for n in wanted}
