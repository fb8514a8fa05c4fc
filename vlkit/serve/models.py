"""The models a server answers with: one `Pipeline` per checkpoint, loaded once at start-up.

A model's task is the recipe its run was trained with (vqa, nlvr2, ve, itm, re, vcr, caption);
its name is the run (or model) folder's name, made unique with a numeric suffix. Stored images
that a request may name by `img_id` are the model's image stores; when they come from a
synthetic world with saved pixels (`vlkit data synth --png N`), the page can show them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vlkit.evaluation.eval_run import find_source, read_run_config
from vlkit.inference.pipeline import TASKS, Pipeline
from vlkit.utils.errors import CheckpointError, VlkitError

log = logging.getLogger(__name__)

SAMPLE_IMAGES = 24  # stored image ids listed per model for the page's picker


@dataclass
class ServedModel:
    name: str
    task: str
    checkpoint: str
    pipeline: Pipeline
    sample_img_ids: list[str] = field(default_factory=list)
    pixels: dict[str, Path] = field(default_factory=dict)  # img_id -> PNG (synthetic world)

    def describe(self) -> dict[str, Any]:
        cfg = self.pipeline.cfg
        return {"name": self.name, "task": self.task, "checkpoint": self.checkpoint,
                "arch": cfg.model.arch, "layers": cfg.model.num_layers,
                "heads": cfg.model.num_heads, "sample_img_ids": self.sample_img_ids,
                "img_ids_with_pixels": sorted(set(self.sample_img_ids) & set(self.pixels))}


def run_task(checkpoint: str | Path) -> str:
    """The task a checkpoint's run was trained for (its recipe)."""
    found = find_source(checkpoint)
    recipe = str(read_run_config(found.config).get("recipe", ""))
    if recipe not in TASKS:
        raise CheckpointError(f"{checkpoint}: trained with recipe '{recipe}', which vlkit serve "
                              f"cannot answer; serve a model fine-tuned for one of "
                              f"{', '.join(TASKS)}")
    return recipe


def load_models(checkpoints: list[str], extractor: Any = None, device: str = "auto"
                ) -> dict[str, ServedModel]:
    """Every checkpoint loaded; a failure stops start-up with an error naming the file."""
    models: dict[str, ServedModel] = {}
    for checkpoint in checkpoints:
        try:
            task = run_task(checkpoint)
            pipe = Pipeline(task, checkpoint, extractor=extractor, device=device)
        except (VlkitError, OSError) as err:
            raise CheckpointError(f"cannot serve {checkpoint}: {err}") from err
        _load_extractor(pipe, checkpoint, given=extractor is not None)
        name = _unique(_name_of(checkpoint), models)
        models[name] = ServedModel(name, task, str(checkpoint), pipe, *_stored_images(pipe))
    return models


def _load_extractor(pipe: Pipeline, checkpoint: str, given: bool) -> None:
    """Build the extractor for uploads now, not at the first upload: a given extractor that
    fails stops start-up; a run whose stores record no extraction serves stored ids only."""
    try:
        pipe.extractor  # noqa: B018 - built and cached on first access
    except (VlkitError, OSError) as err:
        if given:
            raise CheckpointError(f"cannot serve {checkpoint}: extractor: {err}") from err
        log.warning("%s: uploads cannot be extracted (%s); stored img_ids still work",
                    checkpoint, err)


def _name_of(checkpoint: str | Path) -> str:
    path = Path(checkpoint).resolve()
    if path.name in ("model", "checkpoints") or path.is_file():
        path = path.parent.parent if path.parent.name == "checkpoints" else path.parent
    return path.name or "model"


def _unique(name: str, taken: dict) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}-{n}", n + 1
    return candidate


def _stored_images(pipe: Pipeline) -> tuple[list[str], dict[str, Path]]:
    """A few stored image ids, and the PNGs of a synthetic world's saved pixels."""
    try:
        stores = pipe.image_stores
    except VlkitError:
        return [], {}
    ids = [i for store in stores for i in store.ids()[:SAMPLE_IMAGES]][:SAMPLE_IMAGES]
    pixels: dict[str, Path] = {}
    for store in stores:
        folder = Path(str(store.path)).parent / "pixels"
        if folder.is_dir():
            pixels |= {p.stem: p for p in folder.glob("*.png")}
    with_pixels = [i for i in pixels if any(i in s for s in stores)][:SAMPLE_IMAGES]
    return list(dict.fromkeys(with_pixels + ids))[:SAMPLE_IMAGES], pixels
