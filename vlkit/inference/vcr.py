"""`vlkit predict vcr`: one VCR example (question, 4 answers, 4 rationales) from the command line.

    predict_vcr(model, "what color is the [2] ?", ["[2] is red .", ...], ["...", ...],
                ["background", "circle", "square"], [img_store], ["synth-000001"])

An object reference is written as in VCR's token lists, a bracketed list of indices into the
image's objects (`[2]`, `[0, 2]`); it is rendered the way `vlkit data import vcr` and the
synthetic world render it (the objects' class names joined by "and", each WordPiece aligned to
its object), so the example is encoded exactly as a stored record is. Then it goes through the
evaluation's dataset (`VcrEvalDataset`, rationales conditioned on every answer), collate and
scoring (`vlkit.evaluation.vcr.predict`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from vlkit.data.datasets.vcr import NUM_CHOICES, VcrEvalDataset
from vlkit.data.importers.vcr import render
from vlkit.evaluation.vcr import predict
from vlkit.inference.predict_model import RECORD_ID, MemoryTextStore, PredictModel
from vlkit.utils.errors import ConfigError, DataError

REFERENCE = re.compile(r"(\[\s*\d+(?:\s*,\s*\d+)*\s*\])")


def vcr_tokens(text: str) -> list:
    """'what is [0, 2] doing ?' -> ['what', 'is', [0, 2], 'doing', '?'] (VCR's token list)."""
    tokens: list = []
    for k, part in enumerate(REFERENCE.split(text)):
        if k % 2:
            tokens.append([int(i) for i in part.strip("[] ").split(",")])
        else:
            tokens += part.split()
    return tokens


def vcr_record(question: str, answers: Sequence[str], rationales: Sequence[str],
               objects: Sequence[str], img_id: str, encode) -> dict:
    """A `vcr` record (no labels) from command-line texts; `encode(word) -> WordPiece ids`."""
    for name, choices in (("--answer", answers), ("--rationale", rationales)):
        if len(choices) != NUM_CHOICES or not all(c.strip() for c in choices):
            raise ConfigError(f"{name}: give {NUM_CHOICES} non-empty choices, got "
                              f"{len(choices)}")
    if not question.strip():
        raise ConfigError("--question: the question is empty")
    objects = list(objects)

    def rendered(text: str, flag: str) -> tuple[str, list[int], list[int]]:
        try:
            return render(vcr_tokens(text), objects, encode, "<command line>", flag)
        except DataError as err:
            raise ConfigError(f"{err} (name the image's objects with --objects)") from None

    q_text, q_ids, q_obj = rendered(question, "--question")
    a = [rendered(t, f"--answer {k}") for k, t in enumerate(answers)]
    r = [rendered(t, f"--rationale {k}") for k, t in enumerate(rationales)]
    return {"id": RECORD_ID, "text": q_text, "input_ids": q_ids, "img_id": img_id,
            "objects": objects, "question_ids": q_ids, "question_obj": q_obj,
            "answer_ids": [x[1] for x in a], "answer_obj": [x[2] for x in a],
            "rationale_ids": [x[1] for x in r], "rationale_obj": [x[2] for x in r],
            "answer_label": -1, "rationale_label": -1}


def predict_vcr(predictor: PredictModel, question: str, answers: Sequence[str],
                rationales: Sequence[str], objects: Sequence[str], img_stores: list,
                img_ids: list[str]) -> dict:
    """The chosen answer, the rationale chosen given it, and every choice's probability.

    answer_probs: 4 (softmax of the answers' scores); rationale_probs: 4 x 4, row a = the
    rationales given answer a (the leaderboard csv's layout).
    """
    if len(img_ids) != 1:
        raise ConfigError(f"task 'vcr' needs 1 image id, got {len(img_ids)}")
    cfg = predictor.cfg
    record = vcr_record(question, answers, rationales, objects, img_ids[0],
                        predictor.tokenizer.encode)
    store = MemoryTextStore(record, cfg.text.vocab)
    data = VcrEvalDataset(store, img_stores, cfg.data.max_txt_len, conditioned="all")
    device = next(predictor.model.parameters()).device
    scored = predict(predictor.model, cfg, data, device, batch_size=1)
    answer_probs = scored["answer_probs"][0]  # (4,)
    rationale_probs = scored["rationale_probs"][0]  # (4 answers, 4 rationales)
    a = int(np.argmax(answer_probs))
    r = int(np.argmax(rationale_probs[a]))
    return {"task": "vcr", "text": record["text"], "img_ids": list(img_ids),
            "answer": a, "answer_text": answers[a], "rationale": r,
            "rationale_text": rationales[r], "answer_probs": answer_probs.tolist(),
            "rationale_probs": rationale_probs.tolist()}
