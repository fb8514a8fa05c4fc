"""`vlkit predict TASK --checkpoint C ...`: answer one example, print JSON.

    vlkit predict vqa --checkpoint RUN --question "what color is the circle ?" --img-id synth-000001
    vlkit predict nlvr2 --checkpoint RUN --statement "..." --img-id LEFT --img-id RIGHT
    vlkit predict ve --checkpoint RUN --hypothesis "the red circle is small ." --img-id ID
    vlkit predict itm --checkpoint RUN --caption "..." --img-id ID
    vlkit predict re --checkpoint RUN --expression "the small red circle" --img-id ID
    vlkit predict vcr --checkpoint RUN --question "what color is the [2] ?" \
        --answer "[2] is red ." (x4) --rationale "..." (x4) --objects OBJ,OBJ,.. --img-id ID

Images are read from --img-store (default: the image stores the run was trained on), or
extracted from raw image files with --image (repeatable), the way the run's image store was
made (`vlkit extract`'s recorded options, or the synthetic world's extractor, which pools
given boxes: pass --boxes FILE, a JSON list of [x1, y1, x2, y2] pixel boxes, per image):

    vlkit predict vqa --checkpoint RUN --question "what color is the circle ?" --image photo.jpg

`key=value` overrides apply to the run's config; a model trained on a UNITER txt_db of
bert-base-cased ids (which vlkit does not ship) needs `text.vocab=PATH/vocab.txt`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

# task -> (text flag, its help, images)
TASKS = {
    "vqa": ("--question", "the question", 1),
    "nlvr2": ("--statement", "the statement about the image pair", 2),
    "ve": ("--hypothesis", "the hypothesis about the image (premise)", 1),
    "itm": ("--caption", "the caption to match against the image", 1),
    "re": ("--expression", "the referring expression", 1),
    "vcr": ("--question", "the question; an object reference is [i] or [i, j]", 1),
}
HELP = {"vqa": "top-k answers with scores", "nlvr2": "True/False with P(True)",
        "ve": "entailment / contradiction / neutral with probabilities",
        "itm": "image-text match score", "re": "best region and its box, top-k regions",
        "vcr": "answer and rationale with the choices' probabilities"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="answer one example with a fine-tuned model (JSON)",
                       description="Run one example through a fine-tuned model.")
    tasks = p.add_subparsers(dest="task", metavar="TASK", required=True)
    for task, (flag, text_help, images) in TASKS.items():
        t = tasks.add_parser(task, help=HELP[task])
        t.add_argument("--checkpoint", required=True,
                       help="run directory, model folder or RUN/checkpoints/step_*.pt")
        t.add_argument(flag, dest="text", required=True, help=text_help)
        t.add_argument("--img-store", action="append", default=[],
                       help="image store holding the image(s) (repeatable; default: the "
                            "run's data.val_img or data.train_img)")
        t.add_argument("--img-id", action="append", default=[],
                       help="image id" + (" (twice: left, then right)" if images == 2 else ""))
        t.add_argument("--image", action="append", default=[],
                       help="raw image file (JPEG/PNG) instead of --img-id; features are "
                            "extracted like the run's image store (repeatable)")
        t.add_argument("--boxes", action="append", default=[],
                       help="JSON file of pixel [x1, y1, x2, y2] boxes for the matching "
                            "--image (needed when the store was extracted from given boxes)")
        t.add_argument("--extract-from", default="",
                       help="image store (or synthetic world) whose extraction settings to "
                            "use for --image (default: the run's first training image store)")
        t.add_argument("--top-k", type=int, default=5, help="answers / regions listed")
        t.add_argument("overrides", nargs="*", metavar="key=value",
                       help="run config overrides, e.g. text.vocab=PATH/vocab.txt (the "
                            "vocabulary of a model trained on UNITER's bert-base-cased ids)")
        if task == "vcr":
            _vcr_flags(t)
        t.set_defaults(func=run)


def _vcr_flags(t: argparse.ArgumentParser) -> None:
    t.add_argument("--answer", action="append", required=True,
                   help="an answer choice (4 times, in order)")
    t.add_argument("--rationale", action="append", required=True,
                   help="a rationale choice (4 times, in order)")
    t.add_argument("--objects", default="",
                   help="comma-separated class names of the image's objects, which [i] "
                        "references index (the record's 'objects')")


def resolve_images(args: argparse.Namespace, cfg) -> tuple[list, list[str]]:
    """The example's image stores and ids: every image input is resolved here."""
    from pathlib import Path

    from vlkit.recipes import common
    from vlkit.utils.errors import ConfigError

    if bool(args.image) == bool(args.img_id):
        raise ConfigError("give the image(s) either by --img-id or by --image, not both")
    if args.image:
        return [_extract_images(args, cfg)], [Path(p).stem for p in args.image]
    names = [str(Path(n).resolve()) for n in args.img_store]  # relative to the shell, not data.root
    return common.open_image_stores(cfg, names or cfg.data.val_img or cfg.data.train_img), \
        list(args.img_id)


def _read_boxes(path: Path) -> list:
    """A --boxes file: a JSON list of pixel [x1, y1, x2, y2] boxes."""
    from vlkit.utils.errors import ConfigError

    try:
        boxes = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ConfigError(f"--boxes {path}: cannot read a JSON list of boxes ({err})") from None
    if not isinstance(boxes, list) or not all(isinstance(b, list) and len(b) == 4
                                              for b in boxes):
        raise ConfigError(f"--boxes {path}: expected a JSON list of [x1, y1, x2, y2] boxes")
    return boxes


def _extract_images(args: argparse.Namespace, cfg):
    """--image files -> an in-memory image store, extracted like the run's image store."""
    from vlkit.data.stores.memory import MemoryImageStore
    from vlkit.extract.api import extractor_for, image_record
    from vlkit.recipes import common
    from vlkit.utils.errors import ConfigError

    if args.boxes and len(args.boxes) != len(args.image):
        raise ConfigError(f"--boxes: give one file per --image ({len(args.image)}), "
                          f"got {len(args.boxes)}")
    if not (args.extract_from or cfg.data.train_img):
        raise ConfigError("--image: the run names no image store; pass --extract-from STORE")
    source = args.extract_from or common.data_path(cfg, cfg.data.train_img[0])
    extractor = extractor_for(source)
    boxes = [_read_boxes(Path(b)) for b in args.boxes] or [None] * len(args.image)
    records = [image_record(img, extractor, boxes=b) for img, b in zip(args.image, boxes,
                                                                       strict=True)]
    return MemoryImageStore(records, path=", ".join(args.image))


def run(args: argparse.Namespace) -> int:
    from vlkit.recipes.predict_one import PredictModel

    predictor = PredictModel.load(args.checkpoint, args.task, args.overrides)
    stores, img_ids = resolve_images(args, predictor.cfg)
    if args.task == "vcr":
        from vlkit.recipes.predict_vcr import predict_vcr

        objects = [o.strip() for o in args.objects.split(",")] if args.objects else []
        print(json.dumps(predict_vcr(predictor, args.text, args.answer, args.rationale,
                                     objects, stores, img_ids), indent=2))
        return 0
    print(json.dumps(predictor.predict(args.text, stores, img_ids, args.top_k), indent=2))
    return 0
