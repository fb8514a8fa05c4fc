"""`vlkit data inspect PATH [--json] [--limit N]`: look inside any supported store.

With --json, one JSON object per record and line:
  image stores: {"id", "num_boxes", "boxes" (N x 7), "features_shape", "features_sum",
                 "<name>_shape" for every other array (soft_labels, conf, ...)}
  text stores:  {"id", ...every stored field} (arrays as lists)
Without --json, a short readable summary of the store.
"""

from __future__ import annotations

import argparse
import json
import sys
from itertools import islice
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", help="print a store's records (--json) or a summary")
    p.add_argument("path", help="store folder (vlkit native, UNITER txt_db or img_db)")
    p.add_argument("--json", action="store_true", help="one JSON object per record and line")
    p.add_argument("--limit", type=int, default=None, metavar="N",
                   help="only the first N records (default: all with --json, 1000 for a summary)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vlkit.data.stores.open import open_store, store_kind
    from vlkit.utils.errors import ConfigError

    if args.limit is not None and args.limit < 0:
        raise ConfigError(f"--limit must be >= 0, got {args.limit}")
    store = open_store(args.path)
    kind = store_kind(store)
    if args.json:
        describe = image_json if kind == "image" else text_json
        for rid in islice(store.ids(), args.limit):
            sys.stdout.write(json.dumps(describe(store.get(rid)), ensure_ascii=False) + "\n")
        return 0
    limit = 1000 if args.limit is None else args.limit
    lines = image_summary(store, limit) if kind == "image" else text_summary(store, limit)
    print("\n".join([f"{args.path}: {type(store).__name__} ({kind} store)", *lines]))
    return 0


def image_json(rec: Any) -> dict[str, Any]:
    """The inspect contract for one ImageRecord."""
    import numpy as np

    out: dict[str, Any] = {
        "id": rec.id,
        "num_boxes": rec.num_boxes,
        "boxes": np.asarray(rec.boxes, dtype=np.float32).tolist(),
        "features_shape": list(rec.feat.shape),
        "features_sum": float(np.sum(rec.feat, dtype=np.float64)),
    }
    arrays = dict(rec.extras)
    if rec.soft_labels is not None:
        arrays = {"soft_labels": rec.soft_labels, **arrays}
    for name, arr in arrays.items():
        out[f"{name}_shape"] = list(np.shape(arr))
    return out


def text_json(rec: dict[str, Any]) -> dict[str, Any]:
    """The inspect contract for one text record: id first, numpy values as lists."""
    return {"id": rec.get("id"), **{k: to_jsonable(v) for k, v in rec.items() if k != "id"}}


def to_jsonable(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def image_summary(store: Any, limit: int) -> list[str]:
    ids = store.ids()
    lines = [f"  records: {len(ids)}"]
    counts, fields = [], {}
    for rid in islice(ids, limit):
        rec = store.get(rid)
        counts.append(rec.num_boxes)
        fields = {"feat": rec.feat, "boxes": rec.boxes}
        if rec.soft_labels is not None:
            fields["soft_labels"] = rec.soft_labels
        fields.update(rec.extras)
    if counts:
        lines.append(f"  feat dim: {store.feat_dim}")
        lines.append(f"  boxes per image (first {len(counts)}): min {min(counts)}, "
                     f"mean {sum(counts) / len(counts):.1f}, max {max(counts)}")
        lines.append("  arrays: " + ", ".join(f"{k} {tuple(v.shape[1:])} {v.dtype}"
                                              for k, v in fields.items()))
        lines.append(f"  first id: {ids[0]}")
    return lines


def text_summary(store: Any, limit: int) -> list[str]:
    ids = store.ids()
    lines = [f"  records: {len(ids)}", f"  task: {store.task or '?'}"]
    keys: dict[str, int] = {}
    for rid in islice(ids, limit):
        for key in store.get(rid):
            keys[key] = keys.get(key, 0) + 1
    if keys:
        seen = min(limit, len(ids))
        lines.append(f"  fields (records having them, of the first {seen}): "
                     + ", ".join(f"{k} {n}" for k, n in keys.items()))
        first = json.dumps(text_json(store.get(ids[0])), ensure_ascii=False)
        lines.append(f"  first record: {first[:300]}{'...' if len(first) > 300 else ''}")
    return lines
