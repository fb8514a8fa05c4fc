"""A saved model loaded for one task: what `vlkit.pipeline` (and so `vlkit predict` and
`vlkit serve`) runs examples through.

    model = PredictModel.load("runs/vqa", "vqa")
    records = [model.record("q0", "what color is the circle ?", ["synth-000001"])]
    model.predict_batch(records, [img_store], top_k=5)

The texts go through the run's tokenizer into an in-memory text store, and then through the
same dataset, collate and scoring functions as training and evaluation, so an example is
encoded exactly as a stored one would be. Images are looked up by id in the
given image stores (anything with the ImageSource interface).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import torch
from torch import nn

from vlkit.config import RunConfig
from vlkit.data.collate import COLLATE, collate_inputs
from vlkit.data.collate.nlvr2 import NLVR2_COLLATE
from vlkit.data.datasets import PairDataset, VqaDataset
from vlkit.data.datasets.nlvr2 import Nlvr2Dataset
from vlkit.data.datasets.snli_ve import VeDataset
from vlkit.data.examples import ReExample
from vlkit.evaluation.eval_run import find_source, load_config, load_eval_model
from vlkit.models.io import read_state_dict
from vlkit.objectives.itm_rank import rank_scores
from vlkit.objectives.nlvr2 import nlvr2_logits
from vlkit.objectives.refer import region_scores
from vlkit.objectives.vqa import vqa_logits
from vlkit.runs.stores import open_text_store
from vlkit.runs.text_vocab import predict_tokenizer
from vlkit.text.tokenizer import BertTokenizer
from vlkit.utils.errors import CheckpointError, ConfigError

# task -> (head module the model must have, number of images)
TASKS = {"vqa": ("vqa_output", 1), "ve": ("vqa_output", 1), "nlvr2": ("nlvr2_output", 2),
         "itm": ("rank_output", 1), "re": ("re_output", 1),
         "vcr": ("vcr_output", 1)}  # vcr: vlkit.inference.vcr
RECORD_ID = "input"


class MemoryTextStore:
    """An in-memory text store (the TextSource interface datasets read) of one record or
    several."""

    def __init__(self, records: dict | Sequence[dict], vocab: str, meta: dict | None = None):
        self.path = "<command line>"
        self.records = {r["id"]: r for r in ([records] if isinstance(records, dict)
                                             else records)}
        self.manifest = {"vocab": vocab, "meta": meta or {}}
        self.meta = self.manifest["meta"]

    def ids(self) -> list[str]:
        return list(self.records)

    def get(self, rid: str) -> dict:
        return self.records[rid]


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
    def load(cls, source: str | Path, task: str, overrides: Sequence[str] = (),
             device: str | torch.device = "cpu") -> PredictModel:
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
        return cls(task, model.eval().to(device), cfg, tokenizer)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @cached_property
    def label_names(self) -> list[str] | None:
        """Answer (VQA) or class (SNLI-VE) names from the run's training text store's meta."""
        try:
            meta = open_text_store(self.cfg, self.cfg.data.train_txt,
                                          {"ve": "snli_ve"}.get(self.task, self.task)
                                          ).manifest["meta"]
        except Exception:  # noqa: BLE001 - the run's stores may live on another machine
            return None
        names = meta.get("label2ans") if self.task == "vqa" else meta.get("label_names")
        if isinstance(names, dict):
            names = [names[str(i)] for i in range(len(names))]
        return list(names) if names else None

    def record(self, rid: str, text: str, img_ids: Sequence[str]) -> dict:
        """A text record of `text` about `img_ids`, tokenised as the run's stores were."""
        need = TASKS[self.task][1]
        if len(img_ids) != need:
            raise ConfigError(f"task '{self.task}' needs {need} image id(s), got {len(img_ids)}")
        if not text.strip():
            raise ConfigError("the text is empty")
        record = {"id": rid, "text": text, "input_ids": self.tokenizer.encode(text)}
        if need == 2:
            record["img_ids"] = list(img_ids)
        else:
            record["img_id"] = img_ids[0]
        return record

    @torch.inference_mode()
    def predict_batch(self, records: Sequence[dict], img_stores: list, top_k: int = 5
                      ) -> list[dict]:
        """The task's answer for each record (from `record()`), in one forward pass."""
        store = MemoryTextStore(list(records), self.cfg.text.vocab)
        max_len = self.cfg.data.max_txt_len
        if self.task == "nlvr2":
            data = Nlvr2Dataset(store, img_stores, max_len,
                                paired=self.cfg.model.nlvr2_variant != "triplet")
            batch = NLVR2_COLLATE[self.cfg.model.nlvr2_variant]([data[i] for i in
                                                                 range(len(data))])
            probs = nlvr2_logits(self.model, batch.to(self.device)).softmax(-1).cpu()
            return [_binary(float(p[1])) for p in probs]
        pairs = PairDataset(store, img_stores, max_len)
        if self.task == "itm":
            batch = collate_inputs([pairs[i] for i in range(len(pairs))]).to(self.device)
            return [_match(float(score)) for score in rank_scores(self.model, batch).cpu()]
        if self.task == "re":
            return self._regions(pairs, top_k)
        return self._classes(pairs, top_k)

    def _classes(self, pairs: PairDataset, top_k: int) -> list[dict]:
        """VQA: top-k answers by sigmoid score (UNITER's BCE); SNLI-VE: softmax over classes."""
        num = self.model.head("vqa")[-1].out_features
        data = VqaDataset(pairs, num) if self.task == "vqa" else VeDataset(pairs)
        batch = COLLATE["vqa"]([data[i] for i in range(len(data))]).to(self.device)
        logits = vqa_logits(self.model, batch).cpu()
        labels = self.label_names
        names = labels or [str(k) for k in range(num)]
        if self.task == "ve":  # the store's class names, else UNITER's order (VeDataset)
            names = labels if labels and len(labels) == num else list(data.label_names)
            return [_ranked(names, row.softmax(-1), num, label=True) for row in logits]
        return [_ranked(names, torch.sigmoid(row), top_k) for row in logits]

    def _regions(self, pairs: PairDataset, top_k: int) -> list[dict]:
        """Every region scored; the best one's box, and the top-k regions."""
        examples = [ReExample(pair=pairs[i], re_target=-1, target_box=[0.0, 0.0, 0.0, 0.0])
                    for i in range(len(pairs))]
        batch = COLLATE["re"](examples)
        scores = region_scores(self.model, batch.to(self.device)).cpu()
        out = []
        for row, (scored, n) in enumerate(zip(scores, batch.inputs.num_bbs, strict=True)):
            probs = scored[: int(n)].softmax(-1)
            order = probs.argsort(descending=True)[: min(top_k, len(probs))]
            regions = [{"region": int(k), "box": batch.region_boxes[row, k].tolist(),
                        "prob": float(probs[k])} for k in order]
            out.append({"region": regions[0]["region"], "box": regions[0]["box"],
                        "regions": regions})
        return out


def _ranked(names: list[str], probs: torch.Tensor, top_k: int, label: bool = False) -> dict:
    """{"answers": top-k [{"answer", "score"}]} (+ SNLI-VE's "label" and "scores")."""
    best = probs.topk(min(top_k, len(probs)))
    out = {"answers": [{"answer": names[int(k)], "score": float(p)}
                       for p, k in zip(best.values, best.indices, strict=True)]}
    if label:
        out = {"label": names[int(probs.argmax())],
               "scores": {names[k]: float(p) for k, p in enumerate(probs)}, **out}
    return out


def _binary(p_true: float) -> dict:
    return {"prediction": p_true > 0.5, "p_true": p_true,
            "answers": sorted([{"answer": "True", "score": p_true},
                               {"answer": "False", "score": 1.0 - p_true}],
                              key=lambda a: -a["score"])}


def _match(score: float) -> dict:
    prob = float(torch.sigmoid(torch.tensor(score)))
    return {"score": score, "sigmoid_score": prob,
            "answers": [{"answer": "match", "score": prob}]}
