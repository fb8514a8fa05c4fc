"""`vlkit data import FORMAT ... --out DIR`: official annotations / features -> native stores.

One sub-command per official format (see docs/importers.md):
  vqa        --questions Q.json [--annotations A.json] [--ans2label F | --vocab-from STORE]
  nlvr2      FILE.jsonl              karpathy   dataset_{coco,flickr30k}.json (auto-detected)
  refcoco / refcoco+ / refcocog      --refs 'refs(unc).p' --instances instances.json
  snli-ve    FILE.jsonl              vcr        FILE.jsonl
  npz        FOLDER_OF_NPZ           tsv        FILE.tsv
"""

from __future__ import annotations

import argparse


def _common(p: argparse.ArgumentParser, text: bool = True) -> None:
    p.add_argument("--out", required=True, metavar="DIR", help="output store (or folder)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    if text:
        p.add_argument("--vocab", default="bert-base-uncased",
                       help="WordPiece vocabulary: shipped name or vocab.txt path")


def _vqa(formats: argparse._SubParsersAction) -> None:
    p = formats.add_parser("vqa", help="VQA v2 questions (+ annotations) JSON")
    p.add_argument("--questions", required=True, help="v2_OpenEnded_mscoco_*_questions.json")
    p.add_argument("--annotations", help="v2_mscoco_*_annotations.json (absent for test)")
    vocab = p.add_mutually_exclusive_group()
    vocab.add_argument("--ans2label", metavar="FILE",
                       help="answer vocabulary JSON ({answer: label} or [answers])")
    vocab.add_argument("--vocab-from", metavar="STORE", help="reuse a vqa store's vocabulary")
    p.add_argument("--top-k", type=int, default=3129, help="answers kept (default 3129)")
    p.add_argument("--min-count", type=int, default=1,
                   help="min questions per answer (BUTD/UNITER used 9 over train+val)")
    p.add_argument("--img-id-format", default="{image_id}",
                   help="image id pattern over {image_id} and {split} (data_subtype), e.g. "
                        "'COCO_{split}_{image_id:012d}'")
    p.add_argument("--soft-score", choices=("butd", "min3"), default="butd",
                   help="butd: {1:.3, 2:.6, 3:.9, 4+:1}; min3: min(1, n/3)")
    _common(p)


def _file_format(formats: argparse._SubParsersAction, name: str, help_: str,
                 img_id_format: str | None = None) -> argparse.ArgumentParser:
    p = formats.add_parser(name, help=help_)
    p.add_argument("src", metavar="FILE", help="official annotation file")
    if img_id_format is not None:
        p.add_argument("--img-id-format", default=img_id_format, help="image id pattern")
    _common(p)
    return p


def _refer(formats: argparse._SubParsersAction, name: str) -> None:
    p = formats.add_parser(name, help=f"{name}: refer-toolkit refs pickle + instances.json")
    p.add_argument("--refs", required=True, help="refs(unc).p / refs(umd).p / refs(google).p")
    p.add_argument("--instances", required=True, help="COCO-format instances.json")
    _common(p)


def _features(formats: argparse._SubParsersAction) -> None:
    for name, help_ in (("npz", "folder of BUTD/UNITER .npz region features"),
                        ("tsv", "bottom-up-attention .tsv region features")):
        p = formats.add_parser(name, help=help_)
        p.add_argument("src", metavar="FOLDER" if name == "npz" else "FILE")
        p.add_argument("--conf-th", type=float, default=0.2, help="UNITER: 0.2")
        p.add_argument("--min-bb", type=int, default=10, help="UNITER: 10")
        p.add_argument("--max-bb", type=int, default=100, help="UNITER: 100")
        p.add_argument("--fp32-boxes", action="store_true",
                       help="keep float32 boxes (default rounds through float16 as UNITER)")
        if name == "npz":
            p.add_argument("--no-soft-labels", action="store_true",
                           help="drop the (N, 1601) class distributions")
        else:
            p.add_argument("--fields", default=",".join(_tsv_fields()),
                           help="comma-separated TSV column names")
        _common(p, text=False)


def _tsv_fields() -> tuple[str, ...]:
    return ("image_id", "image_w", "image_h", "num_boxes", "boxes", "features")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="official annotations/features -> native stores")
    formats = p.add_subparsers(dest="format", metavar="FORMAT", required=True)
    _vqa(formats)
    _file_format(formats, "nlvr2", "NLVR2 JSON lines", "nlvr2_{pair}-img{side}")
    k = _file_format(formats, "karpathy", "COCO/Flickr30k captions, Karpathy split JSON")
    k.add_argument("--dataset", choices=("coco", "flickr30k", "flickr8k"),
                   help="default: the file's 'dataset' field")
    k.add_argument("--img-id-format", default=None,
                   help="default '{cocoid}' (coco) or '{stem}' (flickr)")
    k.add_argument("--restval", choices=("merge", "separate", "drop"), default="merge",
                   help="Karpathy restval images: into train (default), own store, or dropped")
    for name in ("refcoco", "refcoco+", "refcocog"):
        _refer(formats, name)
    _file_format(formats, "snli-ve", "SNLI-VE JSON lines")
    _file_format(formats, "vcr", "VCR JSON lines", "{stem}")
    _features(formats)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vlkit.utils.output_lock import claim_output

    with claim_output(args.out, "data import"):  # one writer per output
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from vlkit.data.importers import get_importer

    fmt, common = args.format, {"out": args.out, "overwrite": args.overwrite}
    if fmt == "vqa":
        out = get_importer(fmt)(
            args.questions, annotations=args.annotations, ans2label=args.ans2label or
            args.vocab_from, top_k=args.top_k, min_count=args.min_count,
            img_id_format=args.img_id_format, soft_score_convention=args.soft_score,
            vocab=args.vocab, **common)
    elif fmt in ("nlvr2", "vcr"):
        out = get_importer(fmt)(args.src, img_id_format=args.img_id_format, vocab=args.vocab,
                                **common)
    elif fmt == "karpathy":
        out = get_importer(fmt)(args.src, dataset=args.dataset, img_id_format=args.img_id_format,
                                restval=args.restval, vocab=args.vocab, **common)
    elif fmt.startswith("refcoco"):
        out = get_importer(fmt)(args.refs, args.instances, dataset=fmt, vocab=args.vocab,
                                **common)
    elif fmt == "snli-ve":
        out = get_importer(fmt)(args.src, vocab=args.vocab, **common)
    else:
        rule = {"conf_th": args.conf_th, "min_bb": args.min_bb, "max_bb": args.max_bb,
                "fp16_boxes": not args.fp32_boxes}
        if fmt == "npz":
            out = get_importer(fmt)(args.src, keep_soft_labels=not args.no_soft_labels,
                                    **rule, **common)
        else:
            fields = tuple(f.strip() for f in args.fields.split(",") if f.strip())
            out = get_importer(fmt)(args.src, fields=fields, **rule, **common)
    print(f"wrote {out}")
    return 0
