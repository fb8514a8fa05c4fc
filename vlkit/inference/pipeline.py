"""`vlkit.pipeline(task, checkpoint)`: a saved model as a callable over images and text.

    vqa = Pipeline("vqa", "runs/vqa", extractor=None, device="auto")
    vqa(image="photo.jpg", question="what is on the table ?")            # one dict
    vqa([{"img_id": "synth-000001", "question": "..."}, ...], batch_size=32)  # a list

Images given as pixels (a path, a PIL image, an array) go through an extractor: by default
the one the run's training image store was made with (its recorded `vlkit extract` options,
or the synthetic world's), or `extractor=` (a store or world path, `ExtractOptions`, a dict
of them such as {"route": "butd", "weights": "frcnn.bin"}, or an `Extractor`). Images given by
id are read from `img_stores=` (paths or store objects; default the run's val/train image
stores). A batch is extracted, tokenised and run through the model in one forward pass (VCR:
one example at a time) under `torch.inference_mode`, in the run's precision (`precision=`
overrides it; `auto`: bf16 where the device has it natively); the answers are those
`vlkit eval` computes for stored records.

Each result is JSON-ready: the task's answers (`answers`: [{"answer", "score"}], best first,
for every task but caption and vcr), `tokens` (the WordPiece tokens the text became),
`unknown_words` (words read as [UNK]), `images` (per image: its id or file name, size when
given as pixels, and `regions` [{"region", "box"}] with normalised [x1, y1, x2, y2] boxes) and,
with `attention=True` (vqa, ve, itm, re), `attention`: [layer][head][region] = the attention
[CLS] pays to each region.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vlkit.data.datasets.pair import ImageLookup
from vlkit.data.records import ImageRecord
from vlkit.data.stores.memory import MemoryImageStore
from vlkit.data.stores.open import open_store
from vlkit.extract.api import extractor_for, pixels_record
from vlkit.extract.extractor import Extractor
from vlkit.extract.images import load_pixels
from vlkit.extract.options import ExtractOptions
from vlkit.inference.inputs import Example, InputError, RawImage, parse_example
from vlkit.runs.stores import data_path, open_image_stores
from vlkit.train.precision import autocast, resolve_precision
from vlkit.utils.errors import ConfigError, DataError

TASKS = ("vqa", "itm", "re", "ve", "nlvr2", "vcr", "caption")
ATTENTION_TASKS = ("vqa", "ve", "itm", "re")
Progress = Callable[[int], None]  # called with the number of inputs just finished


def resolve_device(device: str | torch.device) -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class Pipeline:
    """One task of one saved model; load once, call many times. See the module docstring."""

    def __init__(self, task: str, checkpoint: str | Path, *, extractor: Any = None,
                 device: str | torch.device = "auto", img_stores: Iterable | None = None,
                 overrides: Iterable[str] = (), precision: str | None = None):
        from vlkit.inference.captioner import Captioner
        from vlkit.inference.predict_model import PredictModel

        if task not in TASKS:
            raise ConfigError(f"unknown task '{task}': expected one of {', '.join(TASKS)}")
        self.task = task
        self.checkpoint = str(checkpoint)
        self.device = resolve_device(device)
        if task == "caption":
            self.model = Captioner.load(checkpoint, self.device)
        else:
            self.model = PredictModel.load(checkpoint, task, list(overrides), device=self.device)
        self.cfg = self.model.cfg
        # the run's precision unless told (auto: bf16 where the device has it natively)
        self.precision = resolve_precision(precision or self.cfg.train.precision, self.device)
        self._extractor_spec = extractor
        self._extractor: Extractor | None = None
        self._store_spec = list(img_stores) if img_stores is not None else None
        self._stores: list | None = None

    # ------------------------------------------------------------------ images
    @property
    def image_stores(self) -> list:
        """The stores `img_id` inputs are read from (opened on first use)."""
        if self._stores is None:
            if self._store_spec is not None:
                self._stores = [open_store(s) if isinstance(s, (str, Path)) else s
                                for s in self._store_spec]
            else:
                names = self.cfg.data.val_img or self.cfg.data.train_img
                self._stores = open_image_stores(self.cfg, list(names))
        return self._stores

    @property
    def extractor(self) -> Extractor:
        """The extractor pixel inputs go through (built on first use)."""
        if self._extractor is None:
            spec = self._extractor_spec
            if isinstance(spec, Extractor):
                self._extractor = spec
            elif isinstance(spec, dict):
                self._extractor = extractor_for(ExtractOptions(**spec))
            elif spec is not None:
                self._extractor = extractor_for(spec)
            elif self.cfg.data.train_img:
                self._extractor = extractor_for(self._extraction_source())
            else:
                raise ConfigError("images given as pixels need an extractor: the run names no "
                                  "image store; pass extractor= (vlkit predict: --extractor "
                                  "ROUTE --weights FILE, or --extract-from STORE)")
        return self._extractor

    def _extraction_source(self) -> Path | None:
        spec = self._extractor_spec
        if isinstance(spec, (str, Path)):
            return Path(spec)
        if spec is None and self.cfg.data.train_img:
            return data_path(self.cfg, self.cfg.data.train_img[0])
        return None

    def _raw_record(self, image: RawImage, image_id: str) -> tuple[ImageRecord, dict]:
        """The image's regions, and what the result says about it (name, size)."""
        extractor = self.extractor
        pixels = (load_pixels(image.source) if isinstance(image.source, (str, Path))
                  else _pixels(image.source))
        height, width = pixels.shape[:2]
        boxes = image.boxes
        if boxes is None and extractor.needs_boxes:
            boxes = self._stored_boxes(image, width, height)
        rec = pixels_record(pixels, extractor, boxes, image_id)
        if rec.feat.shape[1] != self.cfg.model.img_dim:
            raise InputError("image", f"the extractor gives {rec.feat.shape[1]}-d region "
                             f"features but the model reads {self.cfg.model.img_dim}-d ones: "
                             "extract as the model's training features were made (e.g. "
                             "--extractor butd --weights FILE for released checkpoints)")
        return rec, {"image": image.name, "width": width, "height": height}

    def _stored_boxes(self, image: RawImage, width: int, height: int) -> list:
        """Pixel boxes of the extraction store's record named like the image file (the
        synthetic world's PNGs and their store): the given-boxes extractors need boxes."""
        store = self._box_store
        if store is not None and image.name and image.name in store:
            scale = np.array([width, height, width, height], dtype=np.float32)
            return (store.get(image.name).boxes[:, :4] * scale).tolist()
        raise InputError("boxes", f"image '{image.name}': this extractor pools given boxes, "
                         "and no store record has that name: give its pixel [x1, y1, x2, y2] "
                         "boxes (vlkit predict: --boxes FILE)")

    @cached_property
    def _box_store(self) -> Any:
        """The image store the extraction settings came from (or the world's `img`), opened
        once; None when there is none."""
        source = self._extraction_source()
        for path in (source, source / "img") if source is not None else ():
            try:
                store = open_store(path)
            except DataError:
                continue
            if hasattr(store, "num_boxes"):
                return store
        return None

    def _resolve_images(self, example: Example, position: int, memory: list[ImageRecord]
                        ) -> tuple[list[str], list[dict]]:
        """Ids of the example's images (extracting pixel inputs into `memory`) and what the
        result says about each."""
        ids, described = [], []
        for j, image in enumerate(example.images):
            if isinstance(image, str):
                try:  # the datasets' lookup: also "gt+det" ids (UNITER's VCR) and .npz hints
                    ImageLookup(self.image_stores, "<input>").store(image, f"#{position}")
                except DataError as err:
                    raise InputError("img_id", str(err)) from None
                ids.append(image)
                described.append({"img_id": image})
                continue
            rec, about = self._raw_record(image, f"input-{position}-{j}")
            memory.append(rec)
            ids.append(rec.id)
            described.append(about)
        return ids, described

    # ------------------------------------------------------------------ calls
    def __call__(self, inputs: dict | Iterable[dict] | None = None, /, *, top_k: int = 5,
                 attention: bool = False, batch_size: int = 16, beam_size: int | None = None,
                 **fields: Any) -> dict | list[dict]:
        """One input (a dict, or keyword fields) -> one result; a list -> a list."""
        single = inputs is None or isinstance(inputs, dict)
        items = [fields] if inputs is None else [inputs] if single else list(inputs)
        results = self.run(items, top_k=top_k, attention=attention, batch_size=batch_size,
                           beam_size=beam_size, errors="raise")
        return results[0] if single else results

    def run(self, items: list, *, top_k: int = 5, attention: bool = False,
            batch_size: int = 16, beam_size: int | None = None, errors: str = "raise",
            progress: Progress | None = None) -> list[dict]:
        """Results in input order. errors="return": a bad input gives {"error", "field"} in
        its place and the others still run; "raise": the first bad input raises."""
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        if top_k < 1:
            raise InputError("top_k", f"must be >= 1, got {top_k}")
        if attention and self.task not in ATTENTION_TASKS:
            raise InputError("attention", f"attention maps are given for "
                             f"{', '.join(ATTENTION_TASKS)}, not {self.task}")
        results: list[dict] = []
        for start in range(0, len(items), batch_size):
            chunk = items[start:start + batch_size]
            results += self._run_chunk(chunk, start, top_k, attention, beam_size, errors)
            if progress:
                progress(len(chunk))
        return results

    def _run_chunk(self, chunk: list, start: int, top_k: int, attention: bool,
                   beam_size: int | None, errors: str) -> list[dict]:
        out: list[dict | None] = [None] * len(chunk)
        memory: list[ImageRecord] = []
        ready = []  # (position in chunk, example, image ids, image descriptions)
        for k, item in enumerate(chunk):
            try:
                example = parse_example(self.task, item)
                ids, described = self._resolve_images(example, start + k, memory)
            except (ConfigError, DataError) as err:
                if errors == "raise":
                    raise
                out[k] = {"error": str(err), "field": getattr(err, "field", None)}
                continue
            ready.append((k, example, ids, described))
        if ready:
            stores = ([MemoryImageStore(memory, "<given images>")] if memory else []) + \
                list(self.image_stores if any(isinstance(i, str) for _, e, _, _ in ready
                                              for i in e.images) else [])
            with torch.inference_mode(), autocast(self.precision, self.device):
                answers = self._answer(ready, stores, top_k, attention, beam_size)
            for (k, *_), result in zip(ready, answers, strict=True):
                out[k] = result
        return out  # type: ignore[return-value]

    def _answer(self, ready: list, stores: list, top_k: int, attention: bool,
                beam_size: int | None) -> list[dict]:
        """Model outputs for the checked examples, with their tokens and regions."""
        if self.task == "caption":
            captions = self.model.caption(stores, [ids[0] for _, _, ids, _ in ready], beam_size)
            answers = [{"caption": captions[ids[0]]} for _, _, ids, _ in ready]
        elif self.task == "vcr":
            answers = [self._vcr(example, stores, ids) for _, example, ids, _ in ready]
        else:
            records = [self.model.record(f"input-{n}", example.text, ids)
                       for n, (_, example, ids, _) in enumerate(ready)]
            answers = self.model.predict_batch(records, stores, top_k)
            if attention:
                maps = self._attention(records, stores)
                answers = [{**a, "attention": m} for a, m in zip(answers, maps, strict=True)]
        # VCR answers carry the question as rendered (object references -> their names)
        return [self._describe(answer.get("text", example.text), ids, described, stores)
                | answer
                for (_, example, ids, described), answer in zip(ready, answers, strict=True)]

    def _vcr(self, example: Example, stores: list, ids: list[str]) -> dict:
        from vlkit.inference.vcr import predict_vcr

        result = predict_vcr(self.model, example.text, example.vcr["answers"],
                             example.vcr["rationales"], example.vcr["objects"], stores, ids)
        return {k: v for k, v in result.items() if k not in ("task", "img_ids")}

    def _describe(self, text: str, ids: list[str], described: list[dict],
                  stores: list) -> dict:
        tok = self.model.tokenizer if self.task != "caption" else None
        images = []
        lookup = ImageLookup(stores, "<input>")
        for img_id, about in zip(ids, described, strict=True):
            rec = lookup.store(img_id).get(img_id)
            regions = [{"region": k, "box": [round(float(v), 5) for v in box[:4]]}
                       for k, box in enumerate(rec.boxes)]
            images.append({**about, "regions": regions})
        names = [about.get("img_id") or about["image"] for about in described]
        out = {"task": self.task, "img_ids": names, "images": images}
        if tok is not None:
            out |= {"text": text, "tokens": tok.tokenize(text),
                    "unknown_words": tok.unknown_words(text)}
        return out

    def _attention(self, records: list[dict], stores: list) -> list[list]:
        """[example][layer][head][region]: the attention [CLS] pays to each region."""
        from vlkit.data.collate import collate_inputs
        from vlkit.data.datasets import PairDataset
        from vlkit.inference.predict_model import MemoryTextStore

        pairs = PairDataset(MemoryTextStore(records, self.cfg.text.vocab), stores,
                            self.cfg.data.max_txt_len)
        inputs = collate_inputs([pairs[i] for i in range(len(pairs))])
        out = self.model.model(inputs.to(self.device), output_attentions=True)
        maps = torch.stack([a.float().cpu() for a in out.attentions], dim=1)  # (B, L, H, Q, K)
        result = []
        for b in range(len(records)):
            t, n = int(inputs.txt_lens[b]), int(inputs.num_bbs[b])
            result.append(maps[b, :, :, 0, t:t + n].round(decimals=5).tolist())
        return result


def pipeline(task: str, checkpoint: str | Path, *, extractor: Any = None,
             device: str | torch.device = "auto", img_stores: Iterable | None = None,
             overrides: Iterable[str] = (), precision: str | None = None) -> Pipeline:
    """A `Pipeline` for `task` over the saved model at `checkpoint` (see the module doc);
    `overrides`: run-config `key=value`s, e.g. "text.vocab=PATH/vocab.txt"; `precision`:
    fp32, bf16 or auto (default: the run's)."""
    return Pipeline(task, checkpoint, extractor=extractor, device=device,
                    img_stores=img_stores, overrides=overrides, precision=precision)


def _pixels(image: Any) -> np.ndarray:
    """(H, W, 3) uint8 RGB of an array (checked already) or a PIL image (EXIF-rotated)."""
    if isinstance(image, np.ndarray):
        return image
    from PIL import ImageOps

    return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
