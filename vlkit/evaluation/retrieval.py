"""Score EVERY (text, image) pair with the cross-encoder, fast, and sharded over processes.

    data = RetrievalSet.from_pairs(pairs)             # texts and images, padded once
    scores = score_all_pairs(model, data, device)      # (num_txt, num_img) on every rank

Speed: each image's regions and each text's tokens are padded once into device tensors
(the cache); a scoring batch is a block of texts x a block of images gathered from them by
index, so nothing is re-read or re-collated per pair. Images are sorted by region count and
texts by length, so a block pads to near its own maximum. Under torch.distributed each rank
scores a contiguous slice of the texts against all images and the slices are all-gathered.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
import torch.distributed as tdist
from torch import nn

from vlkit.data.collate import pad_rows
from vlkit.data.datasets.pair import PairDataset
from vlkit.encoder_input import EncoderInput
from vlkit.objectives.itm_rank import rank_scores
from vlkit.train.precision import autocast, resolve_precision


@dataclass
class RetrievalSet:
    """Texts (T) and their distinct images (I), padded once.

    input_ids: (T, Lt) int64 [CLS] w [SEP] right-padded; txt_lens: (T,) int64.
    img_feat: (I, Nr, D) float16 (the stores' precision; half the memory of float32, cast
        per scoring batch); img_pos_feat: (I, Nr, 7) float32; num_bbs: (I,) int64.
    txt2img: (T,) int64 column of each text's image.
    """

    txt_ids: list[str]
    img_ids: list[str]
    input_ids: torch.Tensor
    txt_lens: torch.Tensor
    img_feat: torch.Tensor
    img_pos_feat: torch.Tensor
    num_bbs: torch.Tensor
    txt2img: torch.Tensor

    @classmethod
    def from_pairs(cls, pairs: PairDataset, max_images: int = 0) -> RetrievalSet:
        """Every text of `pairs` and every image they name (or the texts of the first
        `max_images` images only)."""
        img_ids = pairs.image_ids()
        if max_images:
            img_ids = img_ids[:max_images]
        col = {img: k for k, img in enumerate(img_ids)}
        rows = [i for i, rec in enumerate(pairs.records) if rec["img_id"] in col]
        texts = [pairs.input_ids(pairs.records[i]) for i in rows]
        images = [pairs.image(img) for img in img_ids]
        return cls(
            txt_ids=[pairs.records[i]["id"] for i in rows], img_ids=img_ids,
            input_ids=pad_rows(texts, torch.long), txt_lens=torch.tensor([len(t) for t in texts]),
            img_feat=pad_rows([im.img_feat for im in images], torch.float16),
            img_pos_feat=pad_rows([im.img_pos_feat for im in images], torch.float32),
            num_bbs=torch.tensor([len(im.img_feat) for im in images]),
            txt2img=torch.tensor([col[pairs.records[i]["img_id"]] for i in rows]))


class PairScorer:
    """Scores text x image blocks of a RetrievalSet whose tensors live on `device`."""

    def __init__(self, model: nn.Module, data: RetrievalSet, device: torch.device,
                 precision: str = "fp32", pairs_per_batch: int = 400):
        self.model, self.device = model, device
        self.precision = resolve_precision(precision, device)
        self.pairs_per_batch = max(1, pairs_per_batch)
        self.input_ids = data.input_ids.to(device)
        self.img_feat = data.img_feat.to(device)
        self.img_pos_feat = data.img_pos_feat.to(device)
        self.txt_lens_cpu, self.nbb_cpu = data.txt_lens.tolist(), data.num_bbs.tolist()
        self.txt_lens, self.num_bbs = data.txt_lens.to(device), data.num_bbs.to(device)

    def block_inputs(self, txt: list[int], img: list[int]) -> EncoderInput:
        """Inputs of the len(txt) * len(img) pairs, text-major (row a * len(img) + b)."""
        t = torch.tensor(txt, device=self.device).repeat_interleave(len(img))
        i = torch.tensor(img, device=self.device).repeat(len(txt))
        max_tl = max(self.txt_lens_cpu[k] for k in txt)
        max_nbb = max(self.nbb_cpu[k] for k in img)
        tl, nbb = self.txt_lens[t], self.num_bbs[i]
        pos = torch.arange(max_tl + max_nbb, device=self.device)[None]
        in_img = (pos >= tl[:, None]) & (pos < (tl + nbb)[:, None])
        gather = torch.where(in_img, pos - tl[:, None] + max_tl, pos)
        return EncoderInput(
            input_ids=self.input_ids[t, :max_tl],
            position_ids=torch.arange(max_tl, device=self.device)[None],
            img_feat=self.img_feat[i, :max_nbb].float(),
            img_pos_feat=self.img_pos_feat[i, :max_nbb],
            attn_masks=(pos < (tl + nbb)[:, None]).long(), gather_index=gather,
            txt_lens=tl, num_bbs=nbb)

    @torch.no_grad()
    def score(self, txt_rows: list[int]) -> torch.Tensor:
        """(len(txt_rows), I) float32 scores on the CPU."""
        num_img = len(self.nbb_cpu)
        out = torch.empty(len(txt_rows), num_img)
        if not txt_rows:
            return out
        img_order = sorted(range(num_img), key=self.nbb_cpu.__getitem__)
        txt_order = sorted(range(len(txt_rows)), key=lambda r: self.txt_lens_cpu[txt_rows[r]])
        img_block = min(num_img, self.pairs_per_batch)
        txt_block = max(1, self.pairs_per_batch // img_block)
        was_training = self.model.training
        self.model.eval()
        for a in range(0, len(txt_order), txt_block):
            local = txt_order[a:a + txt_block]
            txt = [txt_rows[r] for r in local]
            for b in range(0, num_img, img_block):
                img = img_order[b:b + img_block]
                with autocast(self.precision, self.device):
                    s = rank_scores(self.model, self.block_inputs(txt, img))
                out[torch.tensor(local)[:, None], torch.tensor(img)[None]] = (
                    s.view(len(txt), len(img)).float().cpu())
        self.model.train(was_training)
        return out


def shard(num: int, rank: int, world: int) -> range:
    """Contiguous slice of `num` rows scored by `rank` of `world`."""
    size = math.ceil(num / world)
    return range(min(rank * size, num), min((rank + 1) * size, num))


def score_all_pairs(model: nn.Module, data: RetrievalSet, device: torch.device,
                    precision: str = "fp32", pairs_per_batch: int = 400,
                    distributed: bool = True) -> tuple[torch.Tensor, dict[str, float]]:
    """(T, I) scores of every pair and {"pairs_per_s", "seconds"} of this process.

    With `distributed` and an initialised process group, every rank must call this; each
    scores its slice of the texts and all ranks get the full matrix.
    """
    on = distributed and tdist.is_available() and tdist.is_initialized()
    rank, world = (tdist.get_rank(), tdist.get_world_size()) if on else (0, 1)
    rows = list(shard(len(data.txt_ids), rank, world))
    start = time.perf_counter()
    part = PairScorer(model, data, device, precision, pairs_per_batch).score(rows)
    seconds = time.perf_counter() - start
    stats = {"pairs_per_s": part.numel() / max(seconds, 1e-9), "seconds": seconds}
    if not on:
        return part, stats
    size = math.ceil(len(data.txt_ids) / world)
    padded = torch.zeros(size, part.shape[1], device=device)
    padded[: len(part)] = part.to(device)
    slices = [torch.empty_like(padded) for _ in range(world)]
    tdist.all_gather(slices, padded)
    full = torch.cat([s.cpu() for s in slices])[: len(data.txt_ids)]
    return full, stats
