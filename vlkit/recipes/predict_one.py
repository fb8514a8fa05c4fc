"""`vlkit predict`: one example from the command line through a saved model.

    model = PredictModel.load("runs/vqa", "vqa")
    model.predict("what color is the circle ?", [img_store], ["synth-000001"], top_k=5)

The text goes through the run's tokenizer into a one-record in-memory text store, and then
through the same dataset, collate and scoring functions as training and evaluation, so the
one example is encoded exactly as a stored one would be. Images are looked up by id in the
given image stores (anything with the ImageSource interface).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from vlkit.config import RunConfig
from vlkit.data.collate import COLLATE, collate_inputs
from vlkit.data.collate_nlvr2 import NLVR2_COLLATE
from vlkit.data.datasets import PairDataset, VqaDataset
from vlkit.data.datasets.nlvr2 import Nlvr2Dataset
from vlkit.data.datasets.snli_ve import VeDataset
from vlkit.models.io import read_state_dict
from vlkit.objectives.itm_rank import rank_scores
from vlkit.objectives.nlvr2 import nlvr2_logits
from vlkit.objectives.refer import region_scores
from vlkit.objectives.vqa import vqa_logits
from vlkit.recipes import common
from vlkit.recipes.eval_run import find_source, load_config, load_eval_model
from vlkit.recipes.text_vocab import predict_tokenizer
from vlkit.text.tokenizer import BertTokenizer
from vlkit.utils.errors import CheckpointError, ConfigError

# task -> (head module the model must have, number of images)
TASKS = {"vqa": ("vqa_output", 1), "ve": ("vqa_output", 1), "nlvr2": ("nlvr2_output", 2),
         "itm": ("rank_output", 1), "re": ("re_output", 1),
         "vcr": ("vcr_output", 1)}  # vcr: vlkit.recipes.predict_vcr
RECORD_ID = "input"


class MemoryTextStore:
    """A text store of one record (the TextSource interface datasets read)."""

    def __init__(self, record: dict, vocab: str, meta: dict | None = None):
        self.path = "<command line>"
        self.record = record
        self.manifest = {"vocab": vocab, "meta": meta or {}}
        self.meta = self.manifest["meta"]

    def ids(self) -> list[str]:
        return [RECORD_ID]

    def get(self, rid: str) -> dict:
        return self.record


@dataclass
class PredictModel:
    """A saved model loaded for one task, with the run config it was trained with and the
    tokenizer of its vocabulary (the run's text.vocab, or a `text.vocab=PATH` override that
    must agree with it)."""

    task: str
    model: nn.Module
    cfg: RunConfig
    tokenizer: BertTokenizer

    @classmethod
    def load(cls, source: str | Path, task: str, overrides: Sequence[str] = ()) -> PredictModel:
        if task not in TASKS:
            raise ConfigError(f"unknown task '{task}': expected one of {', '.join(TASKS)}")
        found = find_source(source)
        sd = read_state_dict(found.weights)
        cfg = load_config(found, [f"recipe={task}", *overrides], sd)
        recorded = load_config(found, [f"recipe={task}"], sd).text.vocab
        tokenizer = predict_tokenizer(cfg, recorded)
        model = load_eval_model(cfg, sd)
        if not hasattr(model, TASKS[task][0]):
            raise CheckpointError(f"{found.weights}: no '{TASKS[task][0]}' head, so this model "
                                  f"cannot answer task '{task}'")
        return cls(task, model.eval(), cfg, tokenizer)

    def labels(self) -> list[str] | None:
        """Answer (VQA) or class (SNLI-VE) names from the run's training text store's meta."""
        try:
            meta = common.open_text_store(self.cfg, self.cfg.data.train_txt,
                                          {"ve": "snli_ve"}.get(self.task, self.task)
                                          ).manifest["meta"]
        except Exception:  # noqa: BLE001 - the run's stores may live on another machine
            return None
        names = meta.get("label2ans") if self.task == "vqa" else meta.get("label_names")
        if isinstance(names, dict):
            names = [names[str(i)] for i in range(len(names))]
        return list(names) if names else None

    def _store(self, text: str, img_ids: list[str], meta: dict | None = None
               ) -> MemoryTextStore:
        record = {"id": RECORD_ID, "text": text, "input_ids": self.tokenizer.encode(text)}
        if len(img_ids) == 2:
            record["img_ids"] = list(img_ids)
        else:
            record["img_id"] = img_ids[0]
        return MemoryTextStore(record, self.cfg.text.vocab, meta)

    @torch.no_grad()
    def predict(self, text: str, img_stores: list, img_ids: list[str], top_k: int = 5) -> dict:
        """The task's answer for `text` about the image(s) `img_ids`, as a JSON-able dict."""
        need = TASKS[self.task][1]
        if len(img_ids) != need:
            raise ConfigError(f"task '{self.task}' needs {need} image id(s), got {len(img_ids)}")
        if not text.strip():
            raise ConfigError("the text is empty")
        store = self._store(text, img_ids)
        max_len = self.cfg.data.max_txt_len
        out = {"task": self.task, "text": text, "img_ids": list(img_ids)}
        if self.task == "nlvr2":
            data = Nlvr2Dataset(store, img_stores, max_len,
                                paired=self.cfg.model.nlvr2_variant != "triplet")
            batch = NLVR2_COLLATE[self.cfg.model.nlvr2_variant]([data[0]])
            prob = nlvr2_logits(self.model, batch).softmax(-1)[0]
            return {**out, "prediction": bool(prob[1] > prob[0]), "p_true": float(prob[1])}
        pairs = PairDataset(store, img_stores, max_len)
        if self.task == "itm":
            score = float(rank_scores(self.model, collate_inputs([pairs[0]]))[0])
            return {**out, "score": score, "sigmoid_score": float(torch.sigmoid(torch.tensor(
                score)))}
        if self.task == "re":
            return {**out, **self._regions(pairs, top_k)}
        return {**out, **self._classes(pairs, top_k)}

    def _classes(self, pairs: PairDataset, top_k: int) -> dict:
        """VQA: top-k answers by sigmoid score (UNITER's BCE); SNLI-VE: softmax over classes."""
        num = self.model.vqa_output[-1].out_features
        data = VqaDataset(pairs, num) if self.task == "vqa" else VeDataset(pairs)
        logits = vqa_logits(self.model, COLLATE["vqa"]([data[0]]))[0]
        labels = self.labels()
        names = labels or [str(k) for k in range(num)]
        if self.task == "ve":  # the store's class names, else UNITER's order (VeDataset)
            names = labels if labels and len(labels) == num else list(data.label_names)
            probs = logits.softmax(-1)
            return {"label": names[int(probs.argmax())],
                    "scores": {names[k]: float(p) for k, p in enumerate(probs)}}
        probs = torch.sigmoid(logits)
        best = probs.topk(min(top_k, num))
        return {"answers": [{"answer": names[int(k)], "score": float(p)}
                            for p, k in zip(best.values, best.indices, strict=True)]}

    def _regions(self, pairs: PairDataset, top_k: int) -> dict:
        """Every region scored; the best one's box, and the top-k regions."""
        example = {**pairs[0], "re_target": -1, "target_box": [0.0, 0.0, 0.0, 0.0]}
        batch = COLLATE["re"]([example])
        scores = region_scores(self.model, batch)[0]
        probs = scores.softmax(-1)
        order = probs.argsort(descending=True)[: min(top_k, len(probs))]
        regions = [{"region": int(k), "box": batch.region_boxes[0, k].tolist(),
                    "prob": float(probs[k])} for k in order]
        return {"region": regions[0]["region"], "box": regions[0]["box"], "regions": regions}
