"""Writers of UNITER txt_dbs in the layout UNITER released them (for tests only): an LMDB of
LZ4-framed MessagePack values (what UNITER's TxtLmdb.__setitem__ writes), meta.json with the
tokenizer's special ids and v_range, id2len.json, txt2img.json, img2txts.json and any other
side files a task reads (images.json for referring expressions).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import lmdb
import lz4.frame
import msgpack

from vlkit.data.stores.lmdb_reader import LmdbReader

FIXTURE_TXT = "uniter_db/txt_db/nlvr2_dev_sample.db"
FIXTURE_IMG = "uniter_db/img_db/nlvr2_dev_sample"
FIXTURE_NBB = FIXTURE_IMG + "/nbb_th0.2_max100_min10.json"
# meta.json of a txt_db made with bert-base-uncased (the fixture's tokenizer)
UNCASED_META = {"toker": "bert-base-uncased", "UNK": 100, "CLS": 101, "SEP": 102, "MASK": 103,
                "v_range": [999, 30522]}


def fixture_images(fixtures_dir: Path) -> list[str]:
    """The image file names of the fixture's img_db (sorted)."""
    return sorted(json.loads((fixtures_dir / FIXTURE_NBB).read_text()))


def write_txt_db(out: Path, records: dict[str, dict], task: str | None = None,
                 meta: dict | None = None, side: dict[str, object] | None = None) -> Path:
    """A UNITER txt_db at `out` holding `records` (id -> UNITER record, with `input_ids` and
    `img_fname`); meta.json = `meta` (default: bert-base-uncased's) plus `task`."""
    out.mkdir(parents=True)
    env = lmdb.open(str(out), map_size=1 << 26)
    with env.begin(write=True) as txn:
        for rid, rec in records.items():
            txn.put(rid.encode(), lz4.frame.compress(msgpack.packb(rec, use_bin_type=True)))
    env.close()
    (out / "lock.mdb").unlink(missing_ok=True)  # as the fixture: no lock file
    full_meta = {**(meta or UNCASED_META), **({"task": task} if task else {})}
    (out / "meta.json").write_text(json.dumps(full_meta))
    (out / "id2len.json").write_text(json.dumps(
        {rid: len(rec["input_ids"]) for rid, rec in records.items()}))
    txt2img = {rid: rec["img_fname"] for rid, rec in records.items() if "img_fname" in rec}
    img2txts: dict[str, list[str]] = {}
    for rid, fname in txt2img.items():
        for name in fname if isinstance(fname, list) else [fname]:
            img2txts.setdefault(name, []).append(rid)
    files = {"txt2img": txt2img, "img2txts": img2txts, **(side or {})}
    for name, value in files.items():
        (out / f"{name}.json").write_text(json.dumps(value))
    return out


def copy_txt_db(src: Path, out: Path, keep: Iterable[str]) -> Path:
    """The txt_db `src` restricted to the ids `keep`: values copied byte for byte, meta.json as
    is, id2len / txt2img filtered (what UNITER's prepro.py --missing_imgs would have kept)."""
    keep = list(keep)
    out.mkdir(parents=True)
    source = LmdbReader(src)  # one LMDB environment per file and process: share vlkit's
    env = lmdb.open(str(out), map_size=1 << 26)
    with env.begin(write=True) as write:
        for rid in keep:
            write.put(rid.encode(), source.get(rid))
    env.close()
    (out / "lock.mdb").unlink(missing_ok=True)
    (out / "meta.json").write_bytes((src / "meta.json").read_bytes())
    for name in ("id2len", "txt2img"):
        table = json.loads((src / f"{name}.json").read_text())
        (out / f"{name}.json").write_text(json.dumps({rid: table[rid] for rid in keep}))
    return out
