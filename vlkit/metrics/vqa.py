"""VQA v2 accuracy exactly as the official evaluation computes it (GT-Vision-Lab/VQA).

Per question, with the (usually 10) ground-truth answers of the annotators:

    acc = mean over annotators a of min(1, #{other annotators whose answer == prediction} / 3)

Answers are compared after `clean_whitespace`; the full normalisation
(`process_punctuation` + `process_digit_article`) is applied to the prediction and the
ground truth ONLY when the ground-truth answers are not all identical (official quirk: with
ten identical "yes", the prediction "Yes" scores 0). "Other annotators" are the answer
records (dicts) that differ from the left-out one, as in the official code, so two identical
records (same answer, confidence and id) are left out together.

Reported numbers are percentages rounded with Python's `round(x, 2)` per question, overall,
per answer type and per question type, as `VQAEval(n=2)` stores them.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vlkit.metrics.files import load_json
from vlkit.metrics.vqa_normalize import (
    clean_whitespace,
    process_digit_article,
    process_punctuation,
)
from vlkit.utils.errors import DataError

log = logging.getLogger(__name__)


@dataclass
class VQAResult:
    """Official VQA accuracies (percent, rounded to `precision` decimals).

    `per_question` maps str(question_id) -> percent (the official `evalQA`).
    """

    overall: float
    per_answer_type: dict[str, float]
    per_question_type: dict[str, float]
    per_question: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The official `accuracy` dict: overall, perAnswerType, perQuestionType."""
        return {"overall": self.overall, "perAnswerType": dict(self.per_answer_type),
                "perQuestionType": dict(self.per_question_type)}


def _full_normalize(text: str) -> str:
    return process_digit_article(process_punctuation(text))


def question_accuracy(prediction: str, gt_answers: Iterable[str | Mapping[str, Any]]) -> float:
    """Official per-question accuracy in [0, 1] (not rounded).

    `gt_answers` are the annotators' answers: strings (each treated as a distinct annotator)
    or the official answer dicts `{"answer", "answer_confidence", "answer_id"}`.
    """
    records = [dict(a) if isinstance(a, Mapping) else {"answer": a, "_annotator": i}
               for i, a in enumerate(gt_answers)]
    if not records:
        raise ValueError("question_accuracy needs at least one ground-truth answer")
    for rec in records:
        rec["answer"] = clean_whitespace(rec["answer"])
    pred = clean_whitespace(prediction)
    if len({rec["answer"] for rec in records}) > 1:
        for rec in records:
            rec["answer"] = _full_normalize(rec["answer"])
        pred = _full_normalize(pred)
    per_annotator = []
    for left_out in records:
        others = [rec for rec in records if rec != left_out]
        matches = sum(1 for rec in others if rec["answer"] == pred)
        per_annotator.append(min(1, float(matches) / 3))
    return float(sum(per_annotator)) / len(per_annotator)


def _percent(values: list[float], precision: int) -> float:
    # Same operation order as the official setAccuracy, so rounding ties agree.
    return round(100 * float(sum(values)) / len(values), precision)


def evaluate_vqa(annotations: list[Mapping[str, Any]], predictions: Mapping[Any, str],
                 question_ids: Iterable[Any] | None = None, precision: int = 2) -> VQAResult:
    """Official VQA accuracy of `predictions` (question_id -> answer) on `annotations`.

    `annotations` are official annotation records (question_id, question_type,
    answer_type, answers). By default every question with a prediction is evaluated, in
    annotation order (the official `evaluate()`); `question_ids` picks the questions and
    their order like the official `evaluate(quesIds)`. Raises DataError for a predicted id
    without annotation.
    """
    by_id = {ann["question_id"]: ann for ann in annotations}
    unknown = [qid for qid in predictions if qid not in by_id]
    if unknown:
        raise DataError(f"predictions hold {len(unknown)} question id(s) not in the annotations,"
                        f" e.g. {unknown[:5]}; expected ids of the annotation file")
    if question_ids is None:  # official default: annotation order
        order = [ann["question_id"] for ann in annotations if ann["question_id"] in predictions]
    else:  # official evaluate(quesIds): the given order
        order = list(dict.fromkeys(question_ids))
    missing = [qid for qid in order if qid not in predictions]
    if missing:
        raise DataError(f"no prediction for {len(missing)} requested question id(s), "
                        f"e.g. {missing[:5]}")
    acc_all: list[float] = []
    acc_qtype: dict[str, list[float]] = {}
    acc_atype: dict[str, list[float]] = {}
    per_question: dict[str, float] = {}
    for qid in order:
        ann = by_id[qid]
        acc = question_accuracy(predictions[qid], ann["answers"])
        acc_all.append(acc)
        acc_qtype.setdefault(ann["question_type"], []).append(acc)
        acc_atype.setdefault(ann["answer_type"], []).append(acc)
        per_question[str(qid)] = round(100 * acc, precision)
    if not acc_all:
        raise DataError("no question to evaluate: the predictions are empty")
    return VQAResult(
        overall=_percent(acc_all, precision),
        per_answer_type={k: _percent(v, precision) for k, v in acc_atype.items()},
        per_question_type={k: _percent(v, precision) for k, v in acc_qtype.items()},
        per_question=per_question,
    )


def _require(record: Any, keys: tuple[str, ...], path: Path, where: str) -> None:
    if not isinstance(record, dict):
        raise DataError(f"{path}: {where} is a {type(record).__name__}, expected an object")
    for key in keys:
        if key not in record:
            raise DataError(f"{path}: {where} has no '{key}' (expected keys {list(keys)})")


def read_vqa_annotations(path: str | Path) -> list[dict[str, Any]]:
    """Official annotation file -> its `annotations` list, checked for the used keys."""
    path = Path(path)
    data = load_json(path, "VQA annotations file")
    _require(data, ("annotations",), path, "the top-level object")
    seen: set[Any] = set()
    for i, ann in enumerate(data["annotations"]):
        _require(ann, ("question_id", "question_type", "answer_type", "answers"), path,
                 f"annotation #{i}")
        qid = ann["question_id"]
        if qid in seen:
            raise DataError(f"{path}: annotation #{i}: duplicate question_id {qid}")
        seen.add(qid)
        if not isinstance(ann["answers"], list) or not ann["answers"]:
            raise DataError(f"{path}: question_id {qid}: 'answers' must be a non-empty list")
        for j, ans in enumerate(ann["answers"]):
            _require(ans, ("answer",), path, f"question_id {qid} answer #{j}")
            if not isinstance(ans["answer"], str):
                raise DataError(f"{path}: question_id {qid} answer #{j}: 'answer' must be a "
                                f"string, got {ans['answer']!r}")
    return data["annotations"]


def read_vqa_results(path: str | Path, questions: Mapping[str, Any] | None = None
                     ) -> dict[Any, str]:
    """Official results file `[{question_id, answer}]` -> {question_id: answer}.

    A repeated question id keeps its last answer (as the official index does). When
    `questions` (the official questions file) says task_type "Multiple Choice", each answer
    must be one of the question's `multiple_choices`, as the official loader asserts.
    """
    path = Path(path)
    data = load_json(path, "VQA results file")
    if not isinstance(data, list):
        raise DataError(f"{path}: results must be a JSON list of {{question_id, answer}}")
    choices = None
    if questions is not None and questions.get("task_type") == "Multiple Choice":
        choices = {q["question_id"]: q.get("multiple_choices", [])
                   for q in questions.get("questions", [])}
    out: dict[Any, str] = {}
    for i, res in enumerate(data):
        _require(res, ("question_id", "answer"), path, f"result #{i}")
        qid, answer = res["question_id"], res["answer"]
        if not isinstance(answer, str):
            raise DataError(f"{path}: result #{i} (question_id {qid}): 'answer' must be a "
                            f"string, got {answer!r}")
        if choices is not None and answer not in choices.get(qid, []):
            raise DataError(f"{path}: result #{i} (question_id {qid}): answer {answer!r} is "
                            "not one of the question's multiple_choices")
        out[qid] = answer
    return out


def official_question_id(rid: str) -> int | str:
    """A store record id as the official files spell question ids: int when all digits."""
    return int(rid) if rid.isdigit() else rid


def official_from_records(records: Iterable[Mapping[str, Any]]
                          ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """vlkit `vqa` store records -> (official questions, official annotations) lists.

    Records without annotator answers (a test split) give a question and no annotation.
    Answer records get `answer_id` 1..n and `answer_confidence` "yes" as in VQA v2, so two
    annotators who gave the same answer stay two annotators. Image ids are ints when all
    digits (the official type), else the store's string.
    """
    questions, annotations = [], []
    for rec in records:
        qid = official_question_id(str(rec["id"]))
        img = str(rec.get("img_id", ""))
        image_id: int | str = int(img) if img.isdigit() else img
        questions.append({"image_id": image_id, "question": rec.get("text", ""),
                          "question_id": qid})
        answers = rec.get("answers") or []
        if not answers:
            continue
        counts = Counter(answers)
        annotations.append({
            "question_id": qid, "image_id": image_id,
            "question_type": rec.get("question_type", ""),
            "answer_type": rec.get("answer_type", ""),
            "multiple_choice_answer": counts.most_common(1)[0][0],
            "answers": [{"answer": a, "answer_confidence": "yes", "answer_id": j + 1}
                        for j, a in enumerate(answers)]})
    return questions, annotations


def evaluate_vqa_files(questions: str | Path, annotations: str | Path, results: str | Path,
                       require_all: bool = False, precision: int = 2) -> VQAResult:
    """Official evaluation from the three official files.

    The official loader requires the results to cover exactly the annotated questions;
    with `require_all=False` a subset is accepted and only its questions are evaluated
    (what the official `evaluate(quesIds)` does). Ids outside the annotations are an error.
    """
    qdata = load_json(questions, "VQA questions file")
    _require(qdata, ("questions",), Path(questions), "the top-level object")
    anns = read_vqa_annotations(annotations)
    preds = read_vqa_results(results, qdata)
    return evaluate_vqa_covered(anns, preds, str(results), str(annotations), require_all,
                                precision)


def evaluate_vqa_covered(anns: list[Mapping[str, Any]], preds: Mapping[Any, str],
                         results: str, annotations: str, require_all: bool = False,
                         precision: int = 2) -> VQAResult:
    """`evaluate_vqa` with the official loader's coverage rules (see `evaluate_vqa_files`);
    `results` and `annotations` name the sources in messages."""
    ann_ids = {ann["question_id"] for ann in anns}
    unknown = [qid for qid in preds if qid not in ann_ids]
    if unknown:
        raise DataError(f"{results}: {len(unknown)} question_id(s) are not in {annotations}, "
                        f"e.g. {unknown[:5]}; results must answer annotated questions only")
    if len(preds) < len(ann_ids):
        msg = (f"{results}: predictions cover {len(preds)} of {len(ann_ids)} annotated "
               "questions")
        if require_all:
            missing = [qid for qid in ann_ids if qid not in preds][:5]
            raise DataError(f"{msg} (e.g. missing {missing}); the official loader requires all")
        log.warning("%s; evaluating that subset only", msg)
        # As the official evaluate(quesIds) called with the results' ids, in file order.
        return evaluate_vqa(anns, preds, question_ids=list(preds), precision=precision)
    return evaluate_vqa(anns, preds, precision=precision)
