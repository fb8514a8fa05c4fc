"""keep_freed_memory: a training step's freed blocks stay in the process, so the next step
stops faulting its memory in again page by page."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

PROBE = """
import json, resource, sys, torch
from vlkit.utils.allocator import keep_freed_memory
applied = keep_freed_memory() if sys.argv[1] == "on" else False
torch.set_num_threads(1)
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(64, 4096), torch.nn.GELU(),
                            torch.nn.Linear(4096, 64))
x = torch.randn(4096, 64)  # 64 MiB activations: above glibc's largest default mmap threshold
def step():
    model(x).square().mean().backward()
    model.zero_grad(set_to_none=True)
for _ in range(3):
    step()
start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    step()
faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start) / 5
print(json.dumps({"applied": applied, "faults_per_step": faults}))
"""


def _faults(mode: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="glibc's mallopt only")
def test_training_steps_stop_faulting_their_memory_in_again():
    off, on = _faults("off"), _faults("on")
    assert on["applied"] and not off["applied"]
    pages_per_step = 5 * 64 * 2**20 // 4096  # the step touches ~5 activation-sized blocks
    assert off["faults_per_step"] > pages_per_step / 2  # glibc's default re-faults them
    assert on["faults_per_step"] < off["faults_per_step"] / 4
