"""UNITER pre-training objectives: MLM, MRFR, MRC, MRC-kl and ITM with WRA (optimal transport).

One task per batch (the data layer samples it); `PretrainObjective` dispatches on `batch.task`
and returns the loss UNITER's pretrain.py optimises for that task. The `*_outputs` functions
return every intermediate (logits, unreduced losses, the transport plan) as typed outputs; the
`*_step` functions reduce them to the training loss and its logs. The UNITER parity check
(`vlkit.interop.uniter.reproduce_fixture`) runs these same functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from vlkit.data.batch import ItmBatch, MlmBatch, MrmBatch
from vlkit.losses.ot import UNITER_OT, OtSettings, optimal_transport, ot_loss
from vlkit.losses.pretrain import itm_loss, mlm_loss, mrc_kl_loss, mrc_loss, mrfr_loss
from vlkit.models.encoder import split_compact, text_positions
from vlkit.utils.errors import ConfigError

PRETRAIN_TASKS = ("mlm", "mrfr", "mrc", "mrc-kl", "itm")


@dataclass
class MlmOutputs:
    """logits (n, V) over the vocabulary (or (n, K) over `MlmVocab`), labels (n,) as positions
    in those logits, losses (n,) unreduced, for the n masked tokens in row-major order."""

    logits: torch.Tensor
    labels: torch.Tensor
    losses: torch.Tensor


@dataclass
class MrmOutputs:
    """prediction (M, D) regressed features (mrfr) or (M, C) class logits (mrc, mrc-kl), and
    losses (M,) unreduced, for the M masked regions."""

    prediction: torch.Tensor
    losses: torch.Tensor


@dataclass
class ItmOutputs:
    """scores (B, 2), losses (B,) unreduced ITM; with WRA: distance (B,), plan (B, Nr, Lt)
    and the scalar wra_loss (else None)."""

    scores: torch.Tensor
    losses: torch.Tensor
    distance: torch.Tensor | None = None
    plan: torch.Tensor | None = None
    wra_loss: torch.Tensor | None = None


def mlm_outputs(model: nn.Module, batch: MlmBatch, vocab: MlmVocab | None = None
                ) -> MlmOutputs:
    txt_len = batch.txt_labels.shape[1]
    masked = batch.txt_labels != -1  # (B, Lt)
    out = model(batch.inputs, needed=text_positions(masked, batch.inputs.attn_masks.shape[1]))
    hidden = out.sequence[:, :txt_len][masked]
    labels = batch.txt_labels[masked]
    if vocab is None:
        logits = model.head("mlm")(hidden)  # (n_masked, V)
    else:
        logits = model.head("mlm")(hidden, vocab.ids.to(hidden.device))  # (n_masked, K)
        labels = vocab.position(labels)
    return MlmOutputs(logits, labels, mlm_loss(logits.float(), labels))


def mlm_step(model: nn.Module, batch: MlmBatch, vocab: MlmVocab | None = None
             ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    out = mlm_outputs(model, batch, vocab)
    loss = out.losses.mean()
    acc = (out.logits.argmax(-1) == out.labels).float().mean()
    return loss, {"mlm_loss": loss.detach(), "mlm_acc": acc.detach()}


def mrm_outputs(model: nn.Module, batch: MrmBatch, task: str) -> MrmOutputs:
    out = model(batch.inputs, needed=batch.img_mask_tgt)
    masked_out = out.sequence[batch.img_mask_tgt]  # (M, H)
    if task == "mrfr":
        pred = model.head("mrfr")(masked_out)  # (M, D)
        return MrmOutputs(pred, mrfr_loss(pred.float(), batch.feat_targets))
    if batch.label_targets is None:
        raise ConfigError(f"task {task} needs soft labels, but the image store has none; "
                          "drop it from data.tasks or use a store with soft_labels")
    logits = model.head("mrc")(masked_out)  # (M, C)
    loss = mrc_loss if task == "mrc" else mrc_kl_loss
    return MrmOutputs(logits, loss(logits.float(), batch.label_targets))


def mrm_step(model: nn.Module, batch: MrmBatch, task: str
             ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    loss = mrm_outputs(model, batch, task).losses.mean()
    return loss, {f"{task.replace('-', '_')}_loss": loss.detach()}


def itm_outputs(model: nn.Module, batch: ItmBatch, ot: OtSettings | None = UNITER_OT
                ) -> ItmOutputs:
    """ITM scores and losses; with `ot` (None: no WRA) the word-region alignment as well."""
    out = model(batch.inputs)
    scores = model.head("itm")(out.pooled)  # (B, 2)
    result = ItmOutputs(scores, itm_loss(scores.float(), batch.targets))
    if ot is not None:
        txt_len, img_len = batch.txt_pad.shape[1], batch.img_pad.shape[1]
        txt_emb, img_emb = split_compact(out.sequence, batch.ot_scatter, txt_len, img_len)
        result.distance, result.plan = optimal_transport(
            txt_emb, img_emb, batch.txt_pad, batch.img_pad, ot.beta, ot.iteration, ot.k)
        result.wra_loss = ot_loss(result.distance.float(), batch.targets)
    return result


def itm_step(model: nn.Module, batch: ItmBatch, ot: OtSettings | None = UNITER_OT
             ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    out = itm_outputs(model, batch, ot)
    loss = out.losses.mean()
    logs = {"itm_loss": loss.detach(),
            "itm_acc": (out.scores.argmax(-1) == batch.targets).float().mean().detach()}
    if ot is not None:
        loss = loss + ot.weight * out.wra_loss
        logs["wra_loss"] = out.wra_loss.detach()
    return loss, logs


class MlmVocab:
    """The token ids MLM may predict (`data.mlm_vocab=corpus`): the softmax runs over these K
    ids instead of the whole vocabulary. Exact for targets inside the set, which is every
    target when the set holds every token of the text the masks are drawn from."""

    def __init__(self, token_ids: list[int], vocab_size: int):
        self.ids = torch.tensor(sorted(set(token_ids)), dtype=torch.long)
        self.lookup = torch.full((vocab_size,), -1, dtype=torch.long)
        self.lookup[self.ids] = torch.arange(len(self.ids))

    def position(self, labels: torch.Tensor) -> torch.Tensor:
        """Vocabulary ids (N,) -> positions (N,) in `ids`."""
        pos = self.lookup.to(labels.device)[labels]
        if bool((pos < 0).any()):
            missing = sorted(set(labels[pos < 0].tolist()))[:10]
            raise ConfigError(f"MLM targets {missing} are outside data.mlm_vocab=corpus (the "
                              "token ids of the train and val text stores)")
        return pos


class PretrainObjective:
    """Dispatch on `batch.task` to the matching UNITER pre-training loss (ITM with WRA by
    `ot`'s settings unless `wra` is off)."""

    def __init__(self, wra: bool = True, mlm_vocab: MlmVocab | None = None,
                 ot: OtSettings = UNITER_OT):
        self.wra = wra
        self.mlm_vocab = mlm_vocab
        self.ot = ot

    def __call__(self, model: nn.Module, batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        task = batch.task
        if task == "mlm":
            return mlm_step(model, batch, self.mlm_vocab)
        if task in ("mrfr", "mrc", "mrc-kl"):
            return mrm_step(model, batch, task)
        if task == "itm":
            return itm_step(model, batch, self.ot if self.wra else None)
        raise ConfigError(f"unknown pre-training task '{task}'; expected one of {PRETRAIN_TASKS}")
