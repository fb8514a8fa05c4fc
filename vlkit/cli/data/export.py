"""`vlkit data export vqa STORE --questions Q.json --annotations A.json`: a vlkit text store
back to the benchmark's official files, for tools that read only those.

The official VQA v2 layout (visualqa.org): questions {"task_type", "data_type",
"data_subtype", "questions": [{image_id, question, question_id}]} and annotations
{"data_type", "data_subtype", "annotations": [{question_id, image_id, question_type,
answer_type, multiple_choice_answer, answers: [{answer, answer_confidence, answer_id}]}]}.
`vlkit score vqa --questions Q --annotations A` on the exported files gives the same figures
as `vlkit score vqa --annotations STORE`.
"""

from __future__ import annotations

import argparse

FORMATS = {"vqa": "VQA v2 official questions + annotations JSON"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write a text store in the benchmark's official format")
    tasks = p.add_subparsers(dest="task", metavar="TASK", required=True)
    vqa = tasks.add_parser("vqa", help=FORMATS["vqa"])
    vqa.add_argument("store", help="a vlkit vqa text store folder")
    vqa.add_argument("--questions", required=True, metavar="Q.json",
                     help="official questions file to write")
    vqa.add_argument("--annotations", metavar="A.json",
                     help="official annotations file to write (the store must hold answers)")
    vqa.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vlkit.data.stores.native_txt import NativeTextStore
    from vlkit.metrics.vqa import official_from_records
    from vlkit.utils.atomic import atomic_write_json
    from vlkit.utils.errors import DataError

    store = NativeTextStore(args.store)
    if store.task != "vqa":
        raise DataError(f"{args.store}: a '{store.task}' text store, expected task 'vqa'")
    questions, annotations = official_from_records(store)
    subtype = str(store.meta.get("split") or store.path.name)
    header = {"data_type": "vlkit", "data_subtype": subtype,
              "info": {"description": f"exported by vlkit from {store.path}"}, "license": {}}
    atomic_write_json(args.questions, {**header, "task_type": "Open-Ended",
                                       "questions": questions}, indent=None)
    print(f"{args.questions}: {len(questions)} questions")
    if args.annotations:
        if not annotations:
            raise DataError(f"{args.store}: no record has annotator answers; nothing to write "
                            "to --annotations (a test split?)")
        atomic_write_json(args.annotations, {**header, "annotations": annotations},
                          indent=None)
        print(f"{args.annotations}: {len(annotations)} annotations")
    return 0
