"""VQA fine-tuning as UNITER does it: pooled output -> MLP -> BCE against soft answer scores.

    vlkit train uniter-tiny-vqa data.root=runs/synth train.init_from=runs/pretrain
    vlkit train vlp-tiny-vqa data.root=runs/synth train.init_from=runs/vlp-tiny-pretrain

A VLP model (model.arch=vlp) runs in VLP's bidirectional mode with VLP's head (`ans_classifier`
on the product of the [CLS] and [SEP] outputs); a UNITER model uses UNITER's head.

Validation reports VQA accuracy (the soft score of the arg-max answer, averaged); at the
end, predictions for the validation (and `data.test_txt`) questions are written in the
official results format `[{"question_id", "answer"}]` to RUN/predictions/vqa_<split>.json.
VL-BERT models (`model.arch: vlbert`) classify a [MASK] answer slot instead (`model_parts`).
"""

from __future__ import annotations

import logging
from functools import partial

import torch

from vlkit.config import RunConfig
from vlkit.data.collate.vlp import collate_vlp_vqa
from vlkit.data.datasets import PairDataset, VqaDataset
from vlkit.metrics.vqa import evaluate_vqa, official_from_records, official_question_id
from vlkit.models.zoo import build_model
from vlkit.objectives.vlbert_tasks import VlBertVqaObjective
from vlkit.objectives.vlp import VlpVqaObjective, vlp_vqa_logits
from vlkit.objectives.vqa import VqaObjective, vqa_logits
from vlkit.recipes import common
from vlkit.recipes.evaluation import TaskEval, eval_image_stores, finish_run
from vlkit.recipes.init import initialise
from vlkit.recipes.loaders import task_loader
from vlkit.text.tokenizer import get_tokenizer
from vlkit.train.distributed import DistInfo
from vlkit.train.trainer import train
from vlkit.utils.atomic import atomic_write_json
from vlkit.utils.errors import ConfigError

log = logging.getLogger(__name__)


def vqa_dataset(cfg: RunConfig, txt_names: list[str], img_stores, num_answers: int | None = None,
                limit: int = 0) -> VqaDataset:
    store = common.open_text_store(cfg, txt_names, "vqa")
    ids = store.ids()[:limit] if limit else None
    pairs = PairDataset(store, img_stores, cfg.data.max_txt_len, ids=ids)
    return VqaDataset(pairs, num_answers)


def model_parts(cfg: RunConfig) -> tuple:
    """(collate or None for the default, logits function, objective) of the model family:
    UNITER's head on the pooled output, VL-BERT's [MASK] answer slot
    (vlkit.objectives.vlbert_tasks), or VLP's (bidirectional mask, h[CLS] * h[SEP])."""
    if cfg.model.arch == "vlp":
        return (partial(collate_vlp_vqa, label_dim=cfg.model.img_label_dim), vlp_vqa_logits,
                VlpVqaObjective())
    if cfg.model.arch == "vlbert":
        tok = get_tokenizer(cfg.text.vocab, cfg.text.lowercase)
        objective = VlBertVqaObjective(tok.mask_id, tok.sep_id)
        return None, objective.logits, objective
    return None, vqa_logits, VqaObjective()


def predict(model: torch.nn.Module, cfg: RunConfig, dataset: VqaDataset, device) -> dict:
    """Arg-max answers and accuracy over a whole dataset."""
    collate, logits_fn, _ = model_parts(cfg)
    loader = task_loader(cfg, "vqa", dataset, DistInfo(), None, infinite=False, shuffle=False,
                         collate=collate)
    label2ans = dataset.pairs.txt_store.meta.get("label2ans")
    answers, total, count = [], 0.0, 0
    for batch in loader:
        batch = batch.to(device)
        logits = logits_fn(model, batch)
        picked = logits.argmax(-1)
        total += float(batch.targets.gather(1, picked[:, None]).sum())
        count += batch.size
        for qid, label in zip(batch.qids, picked.tolist(), strict=True):
            answers.append({"question_id": official_question_id(qid),
                            "answer": label2ans[label] if label2ans else str(label)})
    return {"accuracy": total / max(count, 1), "num_questions": count, "predictions": answers}


def with_official(scored: dict, dataset: VqaDataset) -> dict:
    """`scored` plus the official VQA evaluation of its predictions (`vlkit score vqa`'s
    figures: percent overall, perAnswerType, perQuestionType) under "official", when the
    split's records hold annotator answers (a test split may not)."""
    _, annotations = official_from_records(dataset.pairs.txt_store)
    if annotations and scored["predictions"]:
        preds = {p["question_id"]: p["answer"] for p in scored["predictions"]}
        scored["official"] = evaluate_vqa(annotations, preds).to_dict()
    return scored


def task_eval(cfg: RunConfig, ctx: common.RunContext, model: torch.nn.Module) -> TaskEval:
    """Official results json `[{"question_id", "answer"}]` per split (vqa_<split>.json) and
    the official accuracies (`with_official`)."""
    img_stores = eval_image_stores(cfg)
    head = {"vlbert": "final_mlp", "vlp": "ans_classifier"}.get(cfg.model.arch, "vqa_output")
    num_answers = getattr(model, head)[-1].out_features

    def dataset(names: list[str]) -> VqaDataset:
        return vqa_dataset(cfg, names, img_stores, num_answers)

    return TaskEval("vqa", "json", dataset,
                    lambda m, data: with_official(predict(m, cfg, data, ctx.device), data),
                    atomic_write_json)


def main(cfg: RunConfig) -> dict:
    if not cfg.data.train_txt or not cfg.data.val_txt:
        raise ConfigError("VQA needs data.train_txt and data.val_txt (vqa text stores)")
    ctx = common.setup_run(cfg)
    img_stores = common.open_image_stores(cfg, cfg.data.train_img)
    common.check_dims(cfg, img_stores[0], None)
    train_set = vqa_dataset(cfg, cfg.data.train_txt, img_stores, limit=cfg.data.train_limit)
    val_set = vqa_dataset(cfg, cfg.data.val_txt, img_stores, train_set.num_answers)
    collate, _, objective = model_parts(cfg)
    batches = task_loader(cfg, "vqa", train_set, ctx.dist, None, collate=collate)

    model = build_model(cfg.model, heads=("vqa",), num_answers=train_set.num_answers)
    initialise(model, cfg)

    def evaluate(m: torch.nn.Module) -> dict[str, float]:
        return {"vqa_acc": predict(m, cfg, val_set, ctx.device)["accuracy"]}

    last = train(model, objective, batches, cfg.train, ctx.run_dir, ctx.device, ctx.dist,
                 evaluate)
    results: dict = {"train": last, "num_train_questions": len(train_set)}
    return finish_run(model, cfg, ctx, results, task_eval(cfg, ctx, model))
