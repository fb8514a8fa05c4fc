"""Which objective trains a task for each model family, so recipes look the family up by
`model.arch` instead of branching on it.

A task whose families train differently (the head reads another position, the loss is the
paper's own) has one `TaskParts` per family: the training objective, the scoring function
prediction uses, and the collate when the family lays out its input itself (VLP's region
slots and masks). Tasks that every family trains alike are not listed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from vlkit.data.collate.vlp import collate_vlp_vqa
from vlkit.objectives.refer import ReObjective, region_scores
from vlkit.objectives.vcr import VcrObjective, row_choice_scores
from vlkit.objectives.vlbert_tasks import (
    VlBertReObjective,
    VlBertVqaObjective,
    vlbert_region_scores,
)
from vlkit.objectives.vlbert_vcr import VlBertVcrObjective, vlbert_choice_scores
from vlkit.objectives.vlp import VlpVqaObjective, vlp_vqa_logits
from vlkit.objectives.vqa import VqaObjective, vqa_logits
from vlkit.utils.errors import ConfigError


@dataclass(frozen=True)
class TaskParts:
    """objective(model, batch) -> (loss, logs); scores(model, batch) -> the task's scores
    ((B, A) answers, (B, Nr) regions, (B, S) choices); collate: None = the task's default."""

    objective: Callable[..., Any]
    scores: Callable[..., Any]
    collate: Callable[..., Any] | None = None


def _pick(table: dict[str, Callable[[], TaskParts]], arch: str, task: str) -> TaskParts:
    if arch not in table:
        raise ConfigError(f"config key 'model.arch': task '{task}' trains {sorted(table)} "
                          f"models, not '{arch}'")
    return table[arch]()


def _vlbert_vqa(mask_id: int, sep_id: int) -> TaskParts:
    objective = VlBertVqaObjective(mask_id, sep_id)
    return TaskParts(objective, objective.logits)


def vqa_parts(arch: str, *, mask_id: int, sep_id: int, label_dim: int) -> TaskParts:
    """UNITER: MLP on the pooled output; VL-BERT: the [MASK] answer slot (mask_id, sep_id
    build it); VLP: bidirectional mask, h[CLS] * h[SEP] (region slots of label_dim classes)."""
    return _pick({
        "uniter": lambda: TaskParts(VqaObjective(), vqa_logits),
        "vlbert": lambda: _vlbert_vqa(mask_id, sep_id),
        "vlp": lambda: TaskParts(VlpVqaObjective(), vlp_vqa_logits,
                                 partial(collate_vlp_vqa, label_dim=label_dim)),
    }, arch, "vqa")


def re_parts(arch: str) -> TaskParts:
    """UNITER: softmax over regions, cross entropy; VL-BERT: per-region BCE at IoU > 0.5."""
    return _pick({
        "uniter": lambda: TaskParts(ReObjective(), region_scores),
        "vlbert": lambda: TaskParts(VlBertReObjective(), vlbert_region_scores),
    }, arch, "re")


def vcr_parts(arch: str, *, loss: str) -> TaskParts:
    """UNITER: 2-way cross entropy per row; VL-BERT: `loss` ("sigmoid" or "softmax") over an
    example's choices."""
    return _pick({
        "uniter": lambda: TaskParts(VcrObjective(), row_choice_scores),
        "vlbert": lambda: TaskParts(VlBertVcrObjective(loss), vlbert_choice_scores),
    }, arch, "vcr")
