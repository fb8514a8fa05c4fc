"""A resumable extraction of a folder of images into a native image store.

The images (sorted by id) are cut into shards of `shard_size`. Each shard is written into a
work folder (default: `.STORE.extract` beside STORE) as its own small store plus the list of
its unreadable images, atomically, so a killed run loses at most the shard it was in. When
every shard is there they are merged, in order, into STORE (also atomically) and the work
folder is removed. Re-running the same command continues from the finished shards; the
work folder's `job.json` (options, weights and boxes-file hashes, the image list) must
match, or the run stops with an error instead of mixing two extractions.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vlkit.data.stores.native_img import NativeImageStore, NativeImageStoreWriter
from vlkit.data.stores.uniter_img_db import UniterImageDbWriter
from vlkit.extract.boxes import check_box_coverage, read_box_file
from vlkit.extract.extractor import Extractor
from vlkit.extract.images import list_images, load_pixels
from vlkit.extract.options import OUT_FORMATS, ExtractOptions
from vlkit.extract.weights import file_sha256
from vlkit.utils.atomic import atomic_dir, atomic_write_json
from vlkit.utils.errors import ConfigError, DataError

log = logging.getLogger(__name__)

JOB_VERSION = 1
SHARD_SIZE = 64
Progress = Callable[[int, int], None]  # (images done, images in all)


@dataclass
class ExtractResult:
    """What one `run_extraction` did. skipped: [{"id", "file", "error"}] unreadable images."""

    out: Path
    num_images: int
    num_regions: int
    feat_dim: int
    resumed: int  # images already done by an earlier, interrupted run
    skipped: list[dict] = field(default_factory=list)


def default_work_dir(out: Path) -> Path:
    return out.parent / f".{out.name}.extract"


def run_extraction(images: str | Path, out: str | Path, opts: ExtractOptions, *,
                   boxes_file: str | Path | None = None, work_dir: str | Path | None = None,
                   shard_size: int = SHARD_SIZE, overwrite: bool = False,
                   progress: Progress | None = None, out_format: str = "native"
                   ) -> ExtractResult:
    """Extract every image under `images` into the image store `out` (resumable), written as
    vlkit's native store or (`out_format="uniter"`) as a UNITER img_db."""
    out, images = Path(out), Path(images)
    if out_format not in OUT_FORMATS:
        raise ConfigError(f"--format: unknown value {out_format!r}; expected one of "
                          f"{', '.join(OUT_FORMATS)}")
    work = Path(work_dir) if work_dir else default_work_dir(out)
    if out.exists() and not overwrite:
        leftover = (f" (and {work} is left over from a run killed after it finished: delete it)"
                    if work.exists() else "")
        raise ConfigError(f"--out: {out} already exists; choose another path or pass "
                          f"--overwrite{leftover}")
    if shard_size < 1:
        raise ConfigError(f"--shard-size must be >= 1, got {shard_size}")
    files = list_images(images)
    boxes = _boxes(opts, boxes_file, [image_id for image_id, _ in files])
    extractor = Extractor(opts)
    job = {"version": JOB_VERSION, "extraction": extractor.describe(), "shard_size": shard_size,
           "boxes_sha256": file_sha256(boxes_file) if boxes_file else "",
           "images": [[image_id, path.relative_to(images).as_posix()] for image_id, path in files]}
    _open_work(work, job, out)
    done = resumed = 0
    for s, start in enumerate(range(0, len(files), shard_size)):
        chunk = files[start:start + shard_size]
        shard = work / f"shard-{s:05d}"
        if shard.is_dir():
            done += len(chunk)
            resumed += len(chunk)
        else:
            done = _write_shard(shard, chunk, extractor, boxes, done, len(files), progress)
        if progress:
            progress(done, len(files))
    meta = {"extraction": extractor.describe(), "source": str(images),
            "num_image_files": len(files)}
    result = _merge(work, out, meta, overwrite, out_format)
    result.resumed = resumed
    return result


def _boxes(opts: ExtractOptions, boxes_file: str | Path | None,
           image_ids: list[str]) -> dict[str, np.ndarray] | None:
    if opts.route != "boxes":
        if boxes_file:
            raise ConfigError(f"--boxes is only used by --route boxes, not {opts.route}")
        return None
    if not boxes_file:
        raise ConfigError("--route boxes needs --boxes FILE (JSON {image_id: [[x1, y1, x2, y2], "
                          "...]}); see docs/extraction.md")
    boxes = read_box_file(boxes_file, opts.box_format)
    check_box_coverage(image_ids, boxes, boxes_file)
    return boxes


def _open_work(work: Path, job: dict, out: Path) -> None:
    """Create the work folder, or check that the one there is for the same job."""
    job_file = work / "job.json"
    if job_file.is_file():
        if json.loads(job_file.read_text()) != job:
            raise ConfigError(f"{work} holds an interrupted extraction with other options, "
                              "weights, boxes or images; re-run it with the same command, or "
                              f"delete {work} to start afresh")
        log.info("resuming the extraction in %s", work)
        for stale in [*work.glob(".shard-*.partial-*"), *out.parent.glob(f".{out.name}.partial-*")]:
            shutil.rmtree(stale, ignore_errors=True)  # left by a run killed mid-shard
        return
    if work.exists() and any(work.iterdir()):
        raise ConfigError(f"work folder {work} exists but has no job.json; delete it or pass "
                          "another --work-dir")
    atomic_write_json(work / "job.json", job)


def _write_shard(shard: Path, chunk: list[tuple[str, Path]], extractor: Extractor,
                 boxes: dict[str, np.ndarray] | None, done: int, total: int,
                 progress: Progress | None) -> int:
    skipped = []
    with atomic_dir(shard) as tmp:
        with NativeImageStoreWriter(tmp / "store") as writer:
            for image_id, path in chunk:
                try:
                    pixels = load_pixels(path)
                except DataError as err:
                    skipped.append({"id": image_id, "file": str(path), "error": str(err)})
                else:
                    writer.add(extractor.record(image_id, pixels,
                                                boxes[image_id] if boxes else None))
                done += 1
                if progress:
                    progress(done, total)
        (tmp / "skipped.json").write_text(json.dumps(skipped, indent=1))
    return done


def _writer(out: Path, meta: dict, overwrite: bool, out_format: str):
    if out_format == "native":
        return NativeImageStoreWriter(out, overwrite=overwrite, meta=meta)
    opts = meta["extraction"]["options"]
    return UniterImageDbWriter(out, opts["conf_threshold"], opts["min_boxes"], opts["max_boxes"],
                               overwrite=overwrite, meta=meta)


def _merge(work: Path, out: Path, meta: dict, overwrite: bool,
           out_format: str = "native") -> ExtractResult:
    shards = sorted(work.glob("shard-*"))
    skipped = [s for shard in shards for s in json.loads((shard / "skipped.json").read_text())]
    stores = [NativeImageStore(shard / "store") for shard in shards]
    if not any(len(store) for store in stores):
        shutil.rmtree(work)
        raise DataError(f"no readable image among {meta['num_image_files']} files: "
                        + "; ".join(s["error"] for s in skipped[:3]))
    meta["skipped"] = skipped
    regions = 0
    with _writer(out, meta, overwrite, out_format) as writer:
        for store in stores:
            for image_id in store.ids():
                rec = store.get(image_id)
                writer.add(rec)
                regions += rec.num_boxes
    shutil.rmtree(work)
    feat_dim = meta["extraction"]["feat_dim"]
    return ExtractResult(out, sum(len(s) for s in stores), regions, feat_dim, 0, skipped)

