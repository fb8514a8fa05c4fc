"""Optimisation and run-loop settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal


@dataclass
class TrainConfig:
    # valid values, checked at config load (vlkit.configtools.check_ranges)
    RANGES: ClassVar[dict[str, str]] = {
        "lr": ">= 0", "betas": "[0, 1)", "eps": ">= 0", "weight_decay": ">= 0",
        "lr_mult": ">= 0", "warmup_steps": ">= 0", "total_steps": ">= 0", "batch_size": ">= 1",
        "grad_accum": ">= 1", "grad_clip": ">= 0", "num_threads": ">= 0", "log_every": ">= 1",
        "val_every": ">= 1", "ckpt_every": ">= 1", "keep_checkpoints": ">= 0",
        "early_stop_patience": ">= 0",
    }
    lr: float = 5e-5
    betas: list[float] = field(default_factory=lambda: [0.9, 0.98])
    eps: float = 1e-6
    weight_decay: float = 0.01
    lr_mult: dict[str, float] = field(default_factory=dict)  # param-name prefix -> lr factor
    schedule: Literal["warmup_linear", "constant"] = "warmup_linear"
    warmup_steps: int = 1000
    total_steps: int = 10000
    batch_size: int = 32
    grad_accum: int = 1
    grad_clip: float = 2.0
    # auto: bf16 where the hardware computes it natively (CUDA with bf16, CPUs with AVX512-BF16
    # or AMX), else fp32 -- bf16 emulated on an AVX2-only CPU was measured 30-80x slower.
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    num_threads: int = 0  # 0: torch default
    # torch.compile the model in place (opt-in: the first steps compile for 30-60 s, and on
    # GEMM-bound CPU runs it was measured to give no speed-up; see docs/performance.md)
    compile: bool = False
    log_every: int = 50
    val_every: int = 1000
    ckpt_every: int = 1000
    keep_checkpoints: int = 2
    # a validation metric (e.g. vqa_acc; names ending in "loss" are minimised): the run ends
    # with, evaluates and saves the weights of its best validation (final_metrics.json:
    # train.best says which step). Empty: the last step's weights.
    keep_best: str = ""
    early_stop_patience: int = 0  # with keep_best: stop after N validations without improvement
    init_from: str = ""  # vlkit checkpoint (dir or .safetensors) to initialise weights from
    seed: int = 42
    # a non-finite loss or gradient: "error" stops the run naming the step, task and record
    # ids; "skip_batch" drops that optimizer step (weights untouched) and goes on
    on_nonfinite: Literal["error", "skip_batch"] = "error"
    progress: bool = True
