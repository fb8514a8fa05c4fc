"""The machine description every benchmark prints beside its figures (imported by the
bench/*.py scripts, which run as `python bench/<script>.py`)."""

from __future__ import annotations

import os
import platform
import statistics
import time

import torch


def describe_machine(device: torch.device) -> dict:
    """Platform, processor, CPU count, 1-minute load average and the device's name."""
    return {"platform": platform.platform(), "processor": platform.processor()
            or platform.machine(), "cpus": os.cpu_count(), "load_avg_1m": os.getloadavg()[0],
            "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"}


def cpu_isa() -> list[str]:
    """The CPU's matrix instruction sets (what bf16 speed depends on)."""
    flags = ""
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    return [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f" {f}" in flags]


def matmul_peak(precision: str, device: torch.device, n: int = 2048, repeats: int = 5,
                best: bool = False) -> float:
    """Median (or, with `best`, the highest: the closest to the machine's peak on shared
    cores) FLOP/s of an n x n x n matrix product in fp32 or bf16."""
    rates = matmul_rates(precision, device, n, repeats)
    return max(rates) if best else statistics.median(rates)


def matmul_rates(precision: str, device: torch.device, n: int = 2048, repeats: int = 5
                 ) -> list[float]:
    """FLOP/s of `repeats` n x n x n matrix products in fp32 or bf16 (after one warm-up)."""
    dtype = torch.float32 if precision == "fp32" else torch.bfloat16
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    rates = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        a @ b
        if device.type == "cuda":
            torch.cuda.synchronize()
        rates.append(2 * n**3 / (time.perf_counter() - start))
    return rates[1:]
