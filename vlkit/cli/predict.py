"""`vlkit predict TASK --checkpoint C ...`: answer one example, print JSON.

    vlkit predict vqa --checkpoint RUN --question "what color is the circle ?" --img-id synth-000001
    vlkit predict nlvr2 --checkpoint RUN --statement "..." --img-id LEFT --img-id RIGHT
    vlkit predict ve --checkpoint RUN --hypothesis "the red circle is small ." --img-id ID
    vlkit predict itm --checkpoint RUN --caption "..." --img-id ID
    vlkit predict re --checkpoint RUN --expression "the small red circle" --img-id ID
    vlkit predict vcr --checkpoint RUN --question "what color is the [2] ?" \
        --answer "[2] is red ." (x4) --rationale "..." (x4) --objects OBJ,OBJ,.. --img-id ID
    vlkit predict caption --checkpoint RUN --img-id ID [--beam N]   (a VLP captioning model)

Images are read from --img-store (default: the image stores the run was trained on), or
extracted from raw image files with --image (repeatable), the way the run's image store was
made (`vlkit extract`'s recorded options, or the synthetic world's extractor, which pools
given boxes: pass --boxes FILE per image, or take them from the store that holds the image's
id), or with the extractor named by --extractor/--weights (e.g. the BUTD Faster R-CNN that
released UNITER / VL-BERT / VLP checkpoints were trained on):

    vlkit predict vqa --checkpoint RUN --question "what color is the circle ?" --image photo.jpg
    vlkit predict vqa --checkpoint uniter-vqa --question "what is she holding ?" \
        --image photo.jpg --extractor butd --weights frcnn-vg-finetuned.bin
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
    p = sub.add_parser("predict", help="answer one example with a fine-tuned model (JSON)",
                       description="Run one example through a fine-tuned model.")
    tasks = p.add_subparsers(dest="task", metavar="TASK", required=True)
    for task, (flag, text_help, images) in TASKS.items():
        t = tasks.add_parser(task, help=HELP[task])
        t.add_argument("--checkpoint", required=True,
                       help="run directory, model folder or RUN/checkpoints/step_*.pt")
        if flag:
            t.add_argument(flag, dest="text", required=True, help=text_help)
        t.add_argument("--img-store", action="append", default=[],
                       help="image store holding the image(s) (repeatable; default: the "
                            "run's data.val_img or data.train_img)")
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
                       help="image store (or synthetic world) whose extraction settings to "
                            "use for --image (default: the run's first training image store)")
        t.add_argument("--extractor", choices=ROUTES, default="",
                       help="extract --image with this route and --weights instead of a "
                            "store's recorded settings (butd: the BUTD Faster R-CNN)")
        t.add_argument("--weights", default="", metavar="FILE",
                       help="the --extractor's weights file (nothing is downloaded)")
        if task == "caption":
            t.add_argument("--beam", type=int, default=None, metavar="N",
                           help="beam size (1: greedy; default: the run's task.beam_size)")
        else:
            t.add_argument("--top-k", type=int, default=5, help="answers / regions listed")
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


def _read_boxes(path: Path, image_id: str) -> list:
    """A --boxes file: a JSON list of pixel [x1, y1, x2, y2] boxes, or {image_id: list}."""
    from vlkit.utils.errors import ConfigError

    try:
        boxes = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ConfigError(f"--boxes {path}: cannot read a JSON list of boxes ({err})") from None
    if isinstance(boxes, dict):
        if image_id not in boxes:
            raise ConfigError(f"--boxes {path}: no entry for image '{image_id}' (has "
                              f"{', '.join(sorted(boxes)[:5])}{', ...' if len(boxes) > 5 else ''})")
        boxes = boxes[image_id]
    if not isinstance(boxes, list) or not all(isinstance(b, list) and len(b) == 4
                                              for b in boxes):
        raise ConfigError(f"--boxes {path}: expected a JSON list of [x1, y1, x2, y2] boxes, or "
                          "{image_id: [[x1, y1, x2, y2], ...]}")
    return boxes


def _store_boxes(image: Path, source: Path) -> list:
    """Pixel boxes of the record in the image store at `source` (or a world's `img` store)
    whose id is the image file's name: the synthetic world's PNGs and their store."""
    from PIL import Image

    from vlkit.data.stores.open import open_store
    from vlkit.utils.errors import ConfigError, DataError

    image_id = image.stem
    for path in (source, source / "img"):
        try:
            store = open_store(path)
        except DataError:
            continue
        if hasattr(store, "num_boxes") and image_id in store:
            with Image.open(image) as img:
                width, height = img.size
            scale = [width, height, width, height]
            print(f"vlkit predict: {image}: regions from the boxes of record '{image_id}' in "
                  f"{path}", file=sys.stderr)
            return [[float(v) * s for v, s in zip(box[:4], scale, strict=True)]
                    for box in store.get(image_id).boxes]
    raise ConfigError(f"--image {image}: the image store {source} was extracted from given "
                      f"boxes and holds no record '{image_id}'; pass --boxes FILE (a JSON list "
                      "of pixel [x1, y1, x2, y2] boxes, or {image_id: [...]})")


def _extract_images(args: argparse.Namespace, cfg):
    """--image files -> an in-memory image store, extracted like the run's image store."""
    from vlkit.data.stores.memory import MemoryImageStore
    from vlkit.extract.api import extractor_for, image_record
    from vlkit.extract.options import ExtractOptions
    from vlkit.recipes import common
    from vlkit.utils.errors import ConfigError

    if args.boxes and len(args.boxes) != len(args.image):
        raise ConfigError(f"--boxes: give one file per --image ({len(args.image)}), "
                          f"got {len(args.boxes)}")
    images = [Path(p) for p in args.image]
    if args.extractor:
        extractor = extractor_for(ExtractOptions(route=args.extractor, weights=args.weights))
        source = None
    else:
        if args.weights:
            raise ConfigError("--weights goes with --extractor (e.g. --extractor butd)")
        if not (args.extract_from or cfg.data.train_img):
            raise ConfigError("--image: the run names no image store; pass --extract-from "
                              "STORE or --extractor ROUTE --weights FILE")
        source = Path(args.extract_from or common.data_path(cfg, cfg.data.train_img[0]))
        extractor = extractor_for(source)
    boxes = [_read_boxes(Path(b), img.stem) for b, img in zip(args.boxes, images, strict=True)
             ] if args.boxes else []
    if not boxes and extractor.needs_boxes:
        if source is None:
            raise ConfigError(f"--extractor {args.extractor} pools given boxes: pass --boxes")
        boxes = [_store_boxes(img, source) for img in images]
    boxes = boxes or [None] * len(images)
    records = [image_record(img, extractor, boxes=b) for img, b in zip(images, boxes,
                                                                       strict=True)]
    return MemoryImageStore(records, path=", ".join(args.image))


def run(args: argparse.Namespace) -> int:
    from vlkit.recipes.predict_one import PredictModel

    if args.task == "caption":
        return _caption(args)
    predictor = PredictModel.load(args.checkpoint, args.task)
    stores, img_ids = resolve_images(args, predictor.cfg)
    if args.task == "vcr":
        from vlkit.recipes.predict_vcr import predict_vcr

        objects = [o.strip() for o in args.objects.split(",")] if args.objects else []
        print(json.dumps(predict_vcr(predictor, args.text, args.answer, args.rationale,
                                     objects, stores, img_ids), indent=2))
        return 0
    print(json.dumps(predictor.predict(args.text, stores, img_ids, args.top_k), indent=2))
    return 0


def _caption(args: argparse.Namespace) -> int:
    from vlkit.recipes.predict_caption import Captioner

    captioner = Captioner.load(args.checkpoint)
    stores, img_ids = resolve_images(args, captioner.cfg)
    beam = captioner.options.beam_size if args.beam is None else args.beam
    captions = captioner.caption(stores, img_ids, beam)
    print(json.dumps({"task": "caption", "img_ids": img_ids, "beam_size": beam,
                      "captions": [{"img_id": i, "caption": captions[i]} for i in img_ids]},
                     indent=2))
    return 0
