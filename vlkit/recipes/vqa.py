"""VQA fine-tuning as UNITER does it: pooled output -> MLP -> BCE against soft answer scores.

    vlkit train uniter-tiny-vqa data.root=runs/synth train.init_from=runs/pretrain
    vlkit train vlp-tiny-vqa data.root=runs/synth train.init_from=runs/vlp-tiny-pretrain

A VLP model (model.arch=vlp) runs in VLP's bidirectional mode with VLP's head (`ans_classifier`
on the product of the [CLS] and [SEP] outputs); a UNITER model uses UNITER's head.

Validation reports VQA accuracy (the soft score of the arg-max answer, averaged); at the
end, predictions for the validation (and `data.test_txt`) questions are written in the
official results format `[{"question_id", "answer"}]` to RUN/predictions/vqa_<split>.json
(vlkit.evaluation.vqa). VL-BERT models (`model.arch: vlbert`) classify a [MASK] answer slot
instead (`model_parts`).
"""

from __future__ import annotations

import torch

from vlkit.config import RunConfig
from vlkit.evaluation.finish import Training, task_splits, train_and_finish
from vlkit.evaluation.vqa import model_parts, predict, vqa_dataset
from vlkit.models.zoo import build_model
from vlkit.runs.context import setup_run
from vlkit.runs.init import initialise
from vlkit.runs.loaders import task_loader
from vlkit.runs.stores import check_dims, open_image_stores
from vlkit.utils.errors import ConfigError


def main(cfg: RunConfig) -> dict:
    """Fine-tune VQA on data.train_txt, validate on data.val_txt, score every split."""
    if not cfg.data.train_txt or not cfg.data.val_txt:
        raise ConfigError("VQA needs data.train_txt and data.val_txt (vqa text stores)")
    ctx = setup_run(cfg)
    img_stores = open_image_stores(cfg, cfg.data.train_img)
    check_dims(cfg, img_stores[0], None)
    train_set = vqa_dataset(cfg, cfg.data.train_txt, img_stores, limit=cfg.data.train_limit)
    val_set = vqa_dataset(cfg, cfg.data.val_txt, img_stores, train_set.num_answers)
    parts = model_parts(cfg)
    batches = task_loader(cfg, "vqa", train_set, ctx.dist, None, collate=parts.collate)

    model = build_model(cfg.model, heads=("vqa",), num_answers=train_set.num_answers)
    initialise(model, cfg)

    def evaluate(m: torch.nn.Module) -> dict[str, float]:
        return {"vqa_acc": predict(m, cfg, val_set, ctx.device)["accuracy"]}

    return train_and_finish(model, cfg, ctx, Training(parts.objective, batches, evaluate),
                            {"num_train_questions": len(train_set)}, task_splits(cfg, ctx, "vqa"))
