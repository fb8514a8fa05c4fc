"""Optimizer construction: UNITER's no-decay rule and per-prefix learning-rate multipliers.

Groups are keyed by (lr multiplier, decay or not). A parameter is exempt from weight decay when
its name contains any of `NO_DECAY` as a substring (UNITER's rule, so e.g.
`img_embeddings.img_layer_norm.weight` and `vqa_output.2.weight` ARE decayed). A parameter's
multiplier comes from the longest `lr_mult` prefix its name starts with (default 1.0).
Each group stores `base_lr` (the run's lr) and `lr_mult`; `vlkit.train.schedule.set_lr` sets
`lr = schedule(step, base_lr) * lr_mult`, as UNITER's finetuning scripts do.
"""

from __future__ import annotations

from torch import nn
from torch.optim import Optimizer

from vlkit.train.adamw import AdamW
from vlkit.utils.errors import ConfigError

NO_DECAY = ("bias", "LayerNorm.bias", "LayerNorm.weight")


def _multiplier(name: str, lr_mult: dict[str, float]) -> float:
    matches = [prefix for prefix in lr_mult if name.startswith(prefix)]
    return float(lr_mult[max(matches, key=len)]) if matches else 1.0


def param_groups(model: nn.Module, lr: float, weight_decay: float,
                 lr_mult: dict[str, float] | None = None,
                 no_decay: tuple[str, ...] = NO_DECAY) -> list[dict]:
    """Named parameters (tied ones once, under their first name) split into optimizer groups."""
    lr_mult = dict(lr_mult or {})
    names = [name for name, p in model.named_parameters() if p.requires_grad]
    for prefix in lr_mult:
        if not any(name.startswith(prefix) for name in names):
            raise ConfigError(f"config key 'train.lr_mult': prefix '{prefix}' matches no "
                              f"parameter (e.g. '{names[0] if names else ''}')")
    groups: dict[tuple[float, bool], dict] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        mult = _multiplier(name, lr_mult)
        decay = not any(nd in name for nd in no_decay)
        group = groups.setdefault((mult, decay), {
            "params": [], "names": [], "weight_decay": weight_decay if decay else 0.0,
            "lr": lr * mult, "base_lr": lr, "lr_mult": mult,
        })
        group["params"].append(p)
        group["names"].append(name)
    return list(groups.values())


def build_optimizer(model: nn.Module, lr: float, betas: tuple[float, float] = (0.9, 0.98),
                    eps: float = 1e-6, weight_decay: float = 0.01,
                    lr_mult: dict[str, float] | None = None,
                    no_decay: tuple[str, ...] = NO_DECAY) -> Optimizer:
    """UNITER's AdamW (vlkit.train.adamw) over `param_groups(...)`; group["names"] lists names."""
    groups = param_groups(model, lr, weight_decay, lr_mult, no_decay)
    return AdamW(groups, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)


def optimizer_for(model: nn.Module, cfg) -> Optimizer:
    """The optimizer `vlkit train` uses for `cfg` (a TrainConfig: lr, betas, eps, weight_decay,
    lr_mult)."""
    return build_optimizer(model, lr=cfg.lr, betas=tuple(cfg.betas), eps=cfg.eps,
                           weight_decay=cfg.weight_decay, lr_mult=cfg.lr_mult)
