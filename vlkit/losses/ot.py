"""Word-region alignment by optimal transport (UNITER's WRA), solved with IPOT.

Cost: cosine distance between every text token and every region (padding rows/cols set to 0).
Plan: IPOT (inexact proximal point OT, Xie et al. 2019) with proximal strength `beta`,
`iteration` outer steps and `k` inner Sinkhorn-like steps, uniform marginals over the real
(unpadded) tokens and regions; computed without gradient. Distance: <cost, plan>, whose
gradient flows into the embeddings through the cost only.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

OT_WEIGHT = 0.1  # UNITER's itm_ot_lambda: total = itm.mean() + 0.1 * ot_loss


@dataclass(frozen=True)
class OtSettings:
    """WRA's IPOT solver and loss weight; the defaults are UNITER's pre-training settings
    (checked against the parity fixture's `settings.ot` and `settings.pretrain_loss`)."""

    beta: float = 0.5
    iteration: int = 50
    k: int = 1
    weight: float = OT_WEIGHT


UNITER_OT = OtSettings()


def cosine_cost(x: torch.Tensor, y: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """1 - cos(x_i, y_j): x (B, M, D), y (B, N, D) -> (B, M, N)."""
    x = F.normalize(x, p=2, dim=-1, eps=eps)
    y = F.normalize(y, p=2, dim=-1, eps=eps)
    return 1 - x.matmul(y.transpose(1, 2))


@torch.no_grad()
def ipot(cost: torch.Tensor, txt_pad: torch.Tensor, img_pad: torch.Tensor, beta: float = 0.5,
         iteration: int = 50, k: int = 1) -> torch.Tensor:
    """Transport plan for cost (B, M, N) with pads (B, M), (B, N) -> plan (B, N, M), image-major.

    Rows/columns of padding are zero; the real block has marginals ~1/n_txt and ~1/n_img.
    """
    b, m, n = cost.shape
    txt_len = (m - txt_pad.sum(1)).to(cost.dtype)  # (B,)
    img_len = (n - img_pad.sum(1)).to(cost.dtype)
    joint_pad = (txt_pad.unsqueeze(-1) | img_pad.unsqueeze(-2)).transpose(1, 2)  # (B, N, M)
    kernel = torch.exp(-cost.transpose(1, 2) / beta).masked_fill(joint_pad, 0)  # (B, N, M)
    plan = torch.ones(b, n, m, dtype=cost.dtype, device=cost.device).masked_fill(joint_pad, 0)
    sigma = (torch.ones(b, m, 1, dtype=cost.dtype, device=cost.device)
             / txt_len.view(b, 1, 1)).masked_fill(txt_pad.unsqueeze(-1), 0)  # (B, M, 1)
    # a large denominator at padding keeps the scalings finite and ~0 there
    txt_big = (txt_pad.to(cost.dtype) * 1e4).unsqueeze(1)  # (B, 1, M)
    img_big = (img_pad.to(cost.dtype) * 1e4).unsqueeze(1)  # (B, 1, N)
    txt_len, img_len = txt_len.view(b, 1, 1), img_len.view(b, 1, 1)
    # the same arithmetic as q = kernel * plan; delta = 1 / (img_len * (q @ sigma) + img_big);
    # sigma = 1 / (txt_len * (delta @ q) + txt_big); plan = delta * q * sigma, written into
    # buffers allocated once (the loop runs ~50 x a dozen small kernels)
    q = torch.empty_like(kernel)  # (B, N, M)
    q_sigma = cost.new_empty(b, n, 1)  # delta lives in it as (B, 1, N)
    delta_q = cost.new_empty(b, 1, m)  # sigma lives in it as (B, M, 1)
    delta = q_sigma.view(b, 1, n)
    for _ in range(iteration):
        torch.mul(kernel, plan, out=q)
        for _ in range(k):
            torch.bmm(q, sigma, out=q_sigma)
            delta.mul_(img_len).add_(img_big).reciprocal_()
            torch.bmm(delta, q, out=delta_q)
            sigma = delta_q.mul_(txt_len).add_(txt_big).reciprocal_().view(b, m, 1)
        torch.mul(q, delta.view(b, n, 1), out=plan).mul_(sigma.view(b, 1, m))
    return plan.masked_fill_(joint_pad, 0)


def optimal_transport(txt_emb: torch.Tensor, img_emb: torch.Tensor, txt_pad: torch.Tensor,
                      img_pad: torch.Tensor, beta: float = 0.5, iteration: int = 50, k: int = 1
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """WRA distance per pair and its plan.

    txt_emb (B, M, D), img_emb (B, N, D), txt_pad (B, M) / img_pad (B, N) bool (True = pad)
    -> distance (B,) (differentiable through the cost), plan (B, N, M) (no gradient).
    Runs in fp32 whatever the input dtype, as UNITER does for stability.
    """
    cost = cosine_cost(txt_emb.float(), img_emb.float())  # (B, M, N)
    joint_pad = txt_pad.unsqueeze(-1) | img_pad.unsqueeze(-2)
    cost = cost.masked_fill(joint_pad, 0)
    plan = ipot(cost.detach(), txt_pad, img_pad, beta, iteration, k)  # (B, N, M)
    distance = torch.einsum("bmn,bnm->b", cost, plan)  # trace(cost @ plan)
    return distance.to(txt_emb.dtype), plan


def ot_pos_neg(distance: torch.Tensor, targets: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Distances of matched (targets == 1) and unmatched (targets == 0) pairs."""
    return distance[targets == 1], distance[targets == 0]


def ot_loss(distance: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Scalar WRA loss: pull matched pairs together, push negatives apart.

    (sum of positive distances - sum of negative distances) / (n_pos + n_neg).
    """
    pos, neg = ot_pos_neg(distance, targets)
    return (pos.sum() - neg.sum()) / (pos.numel() + neg.numel())
