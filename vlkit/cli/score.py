"""`vlkit score TASK ...`: official metrics of a predictions file, printed as JSON.

    vlkit score vqa --questions Q --annotations A --predictions R
    vlkit score vqa --annotations VQA_TXT_STORE --predictions R
    vlkit score nlvr2 --annotations DEV_JSONL|TXT_STORE --predictions CSV
    vlkit score retrieval --rankings R --annotations TXT2IMG_JSON|TXT_STORE
    vlkit score vcr --annotations VCR_JSONL|TXT_STORE --predictions LEADERBOARD_CSV
    vlkit score snli-ve --annotations JSONL|TXT_STORE --predictions CSV|JSON
    vlkit score refer --annotations JSON|JSONL|TXT_STORE --predictions JSON
    vlkit score caption --references COCO_CAPTIONS_JSON --predictions COCO_RESULTS_JSON

File formats and the official behaviour each one reproduces: docs/metrics.md.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vlkit.metrics.files import load_json
from vlkit.utils.errors import DataError
from vlkit.utils.suggest import missing_path

# task -> (help, {required file flag: help}), in the order `vlkit score --help` lists them.
TASKS: dict[str, tuple[str, dict[str, str]]] = {
    "vqa": ("VQA v2 accuracy (official VQA evaluation)", {
        "--questions": "official questions json (not with a vlkit vqa text store)",
        "--annotations": "official annotations json or a vlkit vqa text store",
        "--predictions": "official results json [{question_id, answer}]"}),
    "nlvr2": ("NLVR2 accuracy and consistency (official metrics.py)", {
        "--annotations": "NLVR2 json lines or a vlkit nlvr2 text store",
        "--predictions": "csv: identifier,True|False per line"}),
    "retrieval": ("image-text retrieval R@1/5/10 (UNITER itm_eval)", {
        "--rankings": "vlkit rankings json",
        "--annotations": "json {text id: image id} or a vlkit text store with img_id per record"}),
    "vcr": ("VCR Q->A, QA->R, Q->AR (leaderboard evaluator)", {
        "--annotations": "VCR jsonl with labels or a vlkit vcr text store",
        "--predictions": "leaderboard csv"}),
    "snli-ve": ("SNLI-VE accuracy, per-class accuracy, confusion matrix", {
        "--annotations": "SNLI-VE jsonl or a vlkit snli_ve store",
        "--predictions": "csv id,label or json"}),
    "refer": ("referring expressions: accuracy at IoU >= 0.5", {
        "--annotations": "json/jsonl [{id|sent_id|ref_id, box|target_box}] or a vlkit refer store",
        "--predictions": "json [{id|sent_id|ref_id, box}]"}),
    "caption": ("captioning: BLEU-1..4, METEOR, ROUGE-L, CIDEr, SPICE (pycocoevalcap)", {
        "--references": "COCO caption annotations {images, annotations: [{image_id, caption}]}",
        "--predictions": "COCO results json [{image_id, caption}]"}),
}

OPTIONAL = {("vqa", "--questions")}  # a vqa text store holds the questions


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="official metrics of a predictions file (JSON on stdout)",
                       description="Score predictions with the benchmark's official metric.")
    tasks = p.add_subparsers(dest="task", metavar="TASK", required=True)
    parsers = {}
    for task, (task_help, files) in TASKS.items():
        parsers[task] = tasks.add_parser(task, help=task_help)
        for flag, flag_help in files.items():
            parsers[task].add_argument(flag, required=(task, flag) not in OPTIONAL,
                                       help=flag_help)
    parsers["vqa"].add_argument(
        "--require-all", action="store_true",
        help="fail unless every annotated question has a prediction (official loader)")
    parsers["refer"].add_argument("--threshold", type=float, default=0.5,
                                  help="IoU threshold (default 0.5)")
    p.set_defaults(func=run)


def _gold(path: Path, task: str | None, read_file: Callable[[Path], dict[str, Any]],
          from_record: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    """{id: gold value}: `from_record` of each record when `path` is a vlkit text store of
    `task` (None: any task), else `read_file(path)`."""
    if not path.is_dir():
        return read_file(path)
    from vlkit.data.stores.native_txt import NativeTextStore

    store = NativeTextStore(path)
    if task is not None and store.task != task:
        raise DataError(f"{path}: a '{store.task}' text store, expected task '{task}'")
    return {r["id"]: from_record(r) for r in store}


def _field(rec: dict[str, Any], key: str, path: Path) -> Any:
    if key not in rec:
        raise DataError(f"{path}: record '{rec.get('id')}' has no '{key}'")
    return rec[key]


def _covered_ids(gold: dict[str, Any], preds: dict[str, Any], preds_path: str, what: str,
                 unit: str) -> list[str]:
    """The annotated ids, in order; DataError when `preds` lacks one of them."""
    missing = [rid for rid in gold if rid not in preds]
    if missing:
        raise DataError(f"{preds_path}: no {what} for {len(missing)} annotated "
                        f"{unit}(s), e.g. {missing[:5]}")
    return list(gold)


def _score_vqa(args: argparse.Namespace) -> dict[str, Any]:
    from vlkit.metrics.vqa import (
        evaluate_vqa_covered,
        evaluate_vqa_files,
        official_from_records,
        read_vqa_results,
    )

    path = Path(args.annotations)
    if not path.exists():
        raise DataError(f"--annotations: {missing_path(path)}")
    if not path.is_dir():
        if args.questions is None:
            raise DataError(f"--annotations {path} is an official annotations file: pass the "
                            "official questions file as --questions too (or give a vlkit vqa "
                            "text store as --annotations)")
        return evaluate_vqa_files(args.questions, path, args.predictions,
                                  require_all=args.require_all).to_dict()
    from vlkit.data.stores.native_txt import NativeTextStore

    store = NativeTextStore(path)
    if store.task != "vqa":
        raise DataError(f"{path}: a '{store.task}' text store, expected task 'vqa'")
    _, anns = official_from_records(store)
    if not anns:
        raise DataError(f"{path}: no record has annotator answers (a test split without "
                        "annotations cannot be scored)")
    preds = read_vqa_results(args.predictions)
    return evaluate_vqa_covered(anns, preds, args.predictions, str(path),
                                require_all=args.require_all).to_dict()


def _score_nlvr2(args: argparse.Namespace) -> dict[str, Any]:
    from vlkit.metrics.nlvr2 import nlvr2_metrics, read_nlvr2_labels, read_nlvr2_predictions

    path = Path(args.annotations)
    labels = _gold(path, "nlvr2", read_nlvr2_labels, lambda r: bool(_field(r, "label", path)))
    return nlvr2_metrics(labels, read_nlvr2_predictions(args.predictions))


def _read_txt2img_file(path: Path) -> dict[str, str]:
    data = load_json(path, "retrieval annotation file")
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise DataError(f"{path}: expected a JSON object mapping text id -> image id (strings)")
    return data


def _score_retrieval(args: argparse.Namespace) -> dict[str, Any]:
    from vlkit.metrics.retrieval import read_rankings, recall_from_rankings

    rankings = read_rankings(args.rankings)
    path = Path(args.annotations)
    txt2img = _gold(path, None, _read_txt2img_file, lambda r: str(_field(r, "img_id", path)))
    return recall_from_rankings(rankings, txt2img)


def _score_vcr(args: argparse.Namespace) -> dict[str, Any]:
    from vlkit.metrics.vcr import read_vcr_labels, read_vcr_leaderboard, score_vcr_leaderboard

    path = Path(args.annotations)
    labels = _gold(path, "vcr", read_vcr_labels,
                   lambda r: (int(_field(r, "answer_label", path)),
                              int(_field(r, "rationale_label", path))))
    ids, answer_probs, rationale_probs = read_vcr_leaderboard(args.predictions)
    return score_vcr_leaderboard(labels, ids, answer_probs, rationale_probs)


def _score_snli_ve(args: argparse.Namespace) -> dict[str, Any]:
    from vlkit.metrics.classification import (
        classification_metrics,
        label_index,
        read_class_predictions,
        read_snli_ve_labels,
    )

    path = Path(args.annotations)
    labels = _gold(path, "snli_ve", read_snli_ve_labels,
                   lambda r: label_index(_field(r, "label", path), f"{path}: record '{r['id']}'"))
    preds = read_class_predictions(args.predictions)
    ids = _covered_ids(labels, preds, args.predictions, "prediction", "example")
    return classification_metrics([preds[i] for i in ids], [labels[i] for i in ids])


def _score_refer(args: argparse.Namespace) -> dict[str, Any]:
    from vlkit.metrics.refer import read_refer_boxes, refer_accuracy, refer_box

    path = Path(args.annotations)
    gold = _gold(path, "refer", read_refer_boxes,
                 lambda r: refer_box(r, f"{path}: record '{r['id']}'"))
    preds = read_refer_boxes(args.predictions)
    ids = _covered_ids(gold, preds, args.predictions, "box", "expression")
    out = refer_accuracy([preds[i] for i in ids], [gold[i] for i in ids], args.threshold)
    return {**out, "num_examples": len(ids)}


def _score_caption(args: argparse.Namespace) -> dict[str, Any]:
    from vlkit.metrics.caption import (
        read_caption_predictions,
        read_caption_references,
        score_captions,
    )

    return score_captions(read_caption_references(args.references),
                          read_caption_predictions(args.predictions))


SCORERS = {
    "vqa": _score_vqa,
    "nlvr2": _score_nlvr2,
    "retrieval": _score_retrieval,
    "vcr": _score_vcr,
    "snli-ve": _score_snli_ve,
    "refer": _score_refer,
    "caption": _score_caption,
}


def run(args: argparse.Namespace) -> int:
    print(json.dumps(SCORERS[args.task](args), indent=2))
    return 0
