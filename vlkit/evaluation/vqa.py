"""VQA's evaluation: arg-max answers, VQA accuracy (the soft score of the picked answer) and the
official results json `[{"question_id", "answer"}]` (RUN/predictions/vqa_<split>.json).

A UNITER model answers from its head on the pooled output, a VL-BERT model from a [MASK]
answer slot, a VLP model from VLP's head (`model_parts`, shared with the vqa recipe).
"""

from __future__ import annotations

import torch

from vlkit.config import RunConfig
from vlkit.data.datasets import PairDataset, VqaDataset
from vlkit.evaluation.splits import TaskEval, eval_image_stores
from vlkit.metrics.vqa import evaluate_vqa, official_from_records, official_question_id
from vlkit.objectives.families import TaskParts, vqa_parts
from vlkit.runs.context import RunContext
from vlkit.runs.loaders import task_loader
from vlkit.runs.stores import open_text_store
from vlkit.text.tokenizer import get_tokenizer
from vlkit.train.distributed import DistInfo
from vlkit.utils.atomic import atomic_write_json


def vqa_dataset(cfg: RunConfig, txt_names: list[str], img_stores, num_answers: int | None = None,
                limit: int = 0) -> VqaDataset:
    """VQA examples of the named text stores (the first `limit` when set)."""
    store = open_text_store(cfg, txt_names, "vqa")
    ids = store.ids()[:limit] if limit else None
    pairs = PairDataset(store, img_stores, cfg.data.max_txt_len, ids=ids)
    return VqaDataset(pairs, num_answers)


def model_parts(cfg: RunConfig) -> TaskParts:
    """The model family's objective, answer scores and collate (None: the default):
    UNITER's head on the pooled output, VL-BERT's [MASK] answer slot
    (vlkit.objectives.vlbert_tasks), or VLP's (bidirectional mask, h[CLS] * h[SEP])."""
    tok = get_tokenizer(cfg.text.vocab, cfg.text.lowercase)
    parts = vqa_parts(cfg.model.arch, mask_id=tok.mask_id, sep_id=tok.sep_id,
                      label_dim=cfg.model.img_label_dim)
    return parts


def predict(model: torch.nn.Module, cfg: RunConfig, dataset: VqaDataset, device) -> dict:
    """Arg-max answers and accuracy over a whole dataset."""
    parts = model_parts(cfg)
    loader = task_loader(cfg, "vqa", dataset, DistInfo(), None, infinite=False, shuffle=False,
                         collate=parts.collate)
    label2ans = dataset.pairs.txt_store.meta.get("label2ans")
    answers, total, count = [], 0.0, 0
    for batch in loader:
        batch = batch.to(device)
        logits = parts.scores(model, batch)
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


def task_eval(cfg: RunConfig, ctx: RunContext, model: torch.nn.Module) -> TaskEval:
    """Official results json `[{"question_id", "answer"}]` per split (vqa_<split>.json) and
    the official accuracies (`with_official`)."""
    img_stores = eval_image_stores(cfg)
    num_answers = model.head("vqa")[-1].out_features

    def dataset(names: list[str]) -> VqaDataset:
        return vqa_dataset(cfg, names, img_stores, num_answers)

    return TaskEval("vqa", "json", dataset,
                    lambda m, data: with_official(predict(m, cfg, data, ctx.device), data),
                    atomic_write_json)
