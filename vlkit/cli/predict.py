"""`vlkit predict TASK --checkpoint C ...`: answer one example (JSON on stdout) or a JSONL file.

    vlkit predict vqa --checkpoint RUN --question "what color is the circle ?" --img-id synth-000001
    vlkit predict nlvr2 --checkpoint RUN --statement "..." --img-id LEFT --img-id RIGHT
    vlkit predict ve --checkpoint RUN --hypothesis "the red circle is small ." --img-id ID
    vlkit predict itm --checkpoint RUN --caption "..." --img-id ID
    vlkit predict re --checkpoint RUN --expression "the small red circle" --img-id ID
    vlkit predict vcr --checkpoint RUN --question "what color is the [2] ?" \\
        --answer "[2] is red ." (x4) --rationale "..." (x4) --objects OBJ,OBJ,.. --img-id ID
    vlkit predict caption --checkpoint RUN --img-id ID [--beam N]   (a VLP captioning model)
    vlkit predict vqa --checkpoint RUN --input questions.jsonl --output answers.jsonl

Images are read from --img-store (default: the image stores the run was trained on), or
extracted from raw image files with --image (repeatable), the way the run's image store was
made (`vlkit extract`'s recorded options, or the synthetic world's extractor, which pools
given boxes: pass --boxes FILE per image, or take them from the store that holds the image's
id), or with the extractor named by --extractor/--weights (e.g. the BUTD Faster R-CNN that
released UNITER / VL-BERT / VLP checkpoints were trained on):

    vlkit predict vqa --checkpoint uniter-vqa --question "what is she holding ?" \\
        --image photo.jpg --extractor butd --weights frcnn-vg-finetuned.bin

--input FILE.jsonl: one JSON object per line with `image` (a path, relative to the JSONL
file's folder) or `img_id` (`images` / `img_ids` for nlvr2), the task's text field (question,
statement, hypothesis, caption, expression; vcr: question, answers, rationales, objects) and
optionally `boxes`. Results go to --output, one line per input line in order, each with its
`line` number; a bad line gets {"line", "error", "field"} there and on stderr, and the other
lines still run. Everything goes through `vlkit.pipeline` (vlkit/inference/pipeline.py).

`key=value` overrides apply to the run's config; a model trained on a UNITER txt_db of
bert-base-cased ids (which vlkit does not ship) needs `text.vocab=PATH/vocab.txt`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vlkit.extract.options import ROUTES

# task -> (text flag, its help, images)
TASKS = {
    "vqa": ("--question", "the question", 1),
    "nlvr2": ("--statement", "the statement about the image pair", 2),
    "ve": ("--hypothesis", "the hypothesis about the image (premise)", 1),
    "itm": ("--caption", "the caption to match against the image", 1),
    "re": ("--expression", "the referring expression", 1),
    "vcr": ("--question", "the question; an object reference is [i] or [i, j]", 1),
    "caption": ("", "", 1),
}
HELP = {"vqa": "top-k answers with scores", "nlvr2": "True/False with P(True)",
        "ve": "entailment / contradiction / neutral with probabilities",
        "itm": "image-text match score", "re": "best region and its box, top-k regions",
        "vcr": "answer and rationale with the choices' probabilities",
        "caption": "a caption per image (greedy or beam search; VLP models)"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="answer examples with a fine-tuned model (JSON)",
                       description="Run one example, or a JSONL file of them, through a "
                                   "fine-tuned model.")
    tasks = p.add_subparsers(dest="task", metavar="TASK", required=True)
    for task, (flag, text_help, images) in TASKS.items():
        t = tasks.add_parser(task, help=HELP[task])
        t.add_argument("--checkpoint", required=True,
                       help="run directory, model folder or RUN/checkpoints/step_*.pt")
        if flag:
            t.add_argument(flag, dest="text", default=None, help=text_help)
        _image_flags(t, task, images)
        _batch_flags(t)
        if task == "caption":
            t.add_argument("--beam", type=int, default=None, metavar="N",
                           help="beam size (1: greedy; default: the run's task.beam_size)")
        else:
            t.add_argument("--top-k", type=int, default=5, help="answers / regions listed")
            t.add_argument("--attention", action="store_true",
                           help="add the attention [CLS] pays to each region, per layer and "
                                "head (vqa, ve, itm, re)")
        if task == "vcr":
            _vcr_flags(t)
        t.add_argument("overrides", nargs="*", metavar="key=value",
                       help="run config overrides, e.g. text.vocab=PATH/vocab.txt (the "
                            "vocabulary of a model trained on UNITER's bert-base-cased ids)")
        t.set_defaults(func=run)


def _image_flags(t: argparse.ArgumentParser, task: str, images: int) -> None:
    t.add_argument("--img-store", action="append", default=[],
                   help="image store holding the image(s) (repeatable; default: the run's "
                        "data.val_img or data.train_img)")
    t.add_argument("--img-id", action="append", default=[],
                   help="image id" + (" (twice: left, then right)" if images == 2 else
                                      " (repeatable)" if task == "caption" else ""))
    t.add_argument("--image", action="append", default=[],
                   help="raw image file (JPEG/PNG) instead of --img-id; features are "
                        "extracted like the run's image store (repeatable)")
    t.add_argument("--boxes", action="append", default=[],
                   help="JSON file of pixel boxes for the matching --image: a list of "
                        "[x1, y1, x2, y2], or {image_id: [...]} as vlkit extract --boxes "
                        "(default: the boxes of the store record with the image's id)")
    t.add_argument("--extract-from", default="",
                   help="image store (or synthetic world) whose extraction settings to use "
                        "for --image (default: the run's first training image store)")
    t.add_argument("--extractor", choices=ROUTES, default="",
                   help="extract --image with this route and --weights instead of a store's "
                        "recorded settings (butd: the BUTD Faster R-CNN)")
    t.add_argument("--weights", default="", metavar="FILE",
                   help="the --extractor's weights file (nothing is downloaded)")


def _batch_flags(t: argparse.ArgumentParser) -> None:
    t.add_argument("--input", default=None, metavar="FILE.jsonl",
                   help="predict every line of a JSONL file (see `vlkit predict --help`)")
    t.add_argument("--output", default=None, metavar="OUT.jsonl",
                   help="--input's results, one JSON line per input line")
    t.add_argument("--batch-size", type=int, default=16, metavar="N",
                   help="inputs per forward pass (default 16)")
    t.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar (--input)")


def _vcr_flags(t: argparse.ArgumentParser) -> None:
    t.add_argument("--answer", action="append", default=[],
                   help="an answer choice (4 times, in order)")
    t.add_argument("--rationale", action="append", default=[],
                   help="a rationale choice (4 times, in order)")
    t.add_argument("--objects", default="",
                   help="comma-separated class names of the image's objects, which [i] "
                        "references index (the record's 'objects')")


def _read_boxes(path: Path, image_id: str) -> list:
    """A --boxes file: a JSON list of pixel [x1, y1, x2, y2] boxes, or {image_id: list}."""
    from vlkit.utils.errors import ConfigError

    try:
        boxes = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ConfigError(f"--boxes {path}: cannot read a JSON list of boxes ({err})") from None
    if isinstance(boxes, dict):
        if image_id not in boxes:
            more = ", ..." if len(boxes) > 5 else ""
            raise ConfigError(f"--boxes {path}: no entry for image '{image_id}' (has "
                              f"{', '.join(sorted(boxes)[:5])}{more})")
        boxes = boxes[image_id]
    if not isinstance(boxes, list) or not all(isinstance(b, list) and len(b) == 4
                                              for b in boxes):
        raise ConfigError(f"--boxes {path}: expected a JSON list of [x1, y1, x2, y2] boxes, or "
                          "{image_id: [[x1, y1, x2, y2], ...]}")
    return boxes


def _extractor(args: argparse.Namespace):
    """What `vlkit.pipeline(extractor=...)` gets from the flags (None: the run's own)."""
    from vlkit.utils.errors import ConfigError

    if args.weights and not args.extractor:
        raise ConfigError("--weights goes with --extractor (e.g. --extractor butd)")
    if args.extractor and args.extract_from:
        raise ConfigError("give --extractor or --extract-from, not both")
    if args.extractor:
        return {"route": args.extractor, "weights": args.weights}
    return args.extract_from or None


def example_from_flags(args: argparse.Namespace) -> dict:
    """The one input the command line describes, as a pipeline input dict."""
    from vlkit.inference.inputs import NUM_IMAGES, TEXT_FIELDS
    from vlkit.utils.errors import ConfigError

    if bool(args.image) == bool(args.img_id):
        raise ConfigError("give the image(s) either by --img-id or by --image, not both")
    if args.boxes and len(args.boxes) != len(args.image):
        raise ConfigError(f"--boxes: give one file per --image ({len(args.image)}), "
                          f"got {len(args.boxes)}")
    two = NUM_IMAGES.get(args.task, 1) > 1
    item: dict = {}
    if args.img_id:
        item["img_ids" if two else "img_id"] = args.img_id if two else _one(args.img_id)
    else:
        item["images" if two else "image"] = args.image if two else _one(args.image)
        if args.boxes:
            item["boxes"] = _read_boxes(Path(args.boxes[0]), Path(args.image[0]).stem)
    name = TEXT_FIELDS[args.task]
    if name is not None:
        if args.text is None:
            raise ConfigError(f"{TASKS[args.task][0]} is required (or --input FILE.jsonl)")
        item[name] = args.text
    if args.task == "vcr":
        item |= {"answers": args.answer, "rationales": args.rationale,
                 "objects": args.objects}
    return item


def _one(values: list[str]) -> str:
    from vlkit.utils.errors import ConfigError

    if len(values) != 1:
        raise ConfigError(f"this task needs 1 image, got {len(values)}")
    return values[0]


def run(args: argparse.Namespace) -> int:
    from vlkit.inference.pipeline import Pipeline
    from vlkit.utils.errors import ConfigError

    if args.task == "caption" and args.beam is not None and args.beam < 1:
        raise ConfigError(f"--beam must be >= 1, got {args.beam}")
    if bool(args.input) != bool(args.output):
        raise ConfigError("--input and --output go together")
    pipe = Pipeline(args.task, args.checkpoint, extractor=_extractor(args), device=args.device,
                    img_stores=[str(Path(s).resolve()) for s in args.img_store] or None,
                    overrides=args.overrides)
    options = {"beam_size": args.beam} if args.task == "caption" else \
        {"top_k": args.top_k, "attention": args.attention}
    if args.input:
        from vlkit.cli.predict_file import predict_file

        return predict_file(pipe, Path(args.input), Path(args.output), args.batch_size,
                            not args.no_progress, options)
    if args.task == "caption":
        return _caption(pipe, args, options)
    result = pipe(example_from_flags(args), **options)
    _warn_unknown(result)
    print(json.dumps(result, indent=2))
    return 0


def _caption(pipe, args: argparse.Namespace, options: dict) -> int:
    """Several --img-id / --image at once: one caption each, decoded as one batch."""
    key, values = ("img_id", args.img_id) if args.img_id else ("image", args.image)
    if not values:
        from vlkit.utils.errors import ConfigError

        raise ConfigError("give the image(s) by --img-id or by --image")
    results = pipe([{key: v} for v in values], batch_size=len(values), **options)
    beam = options["beam_size"] or pipe.model.options.beam_size
    print(json.dumps({"task": "caption", "beam_size": beam, "captions": [
        {"img_id": v if key == "img_id" else Path(v).stem, "caption": r["caption"],
         "images": r["images"]} for v, r in zip(values, results, strict=True)]}, indent=2))
    return 0


def _warn_unknown(result: dict) -> None:
    if result.get("unknown_words"):
        print(f"vlkit predict: warning: read as [UNK] (not in the model's vocabulary): "
              f"{', '.join(result['unknown_words'])}", file=sys.stderr)
