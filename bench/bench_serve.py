"""Load benchmark of `vlkit serve`: requests/s and latency with micro-batching on and off.

Starts `vlkit serve` on 127.0.0.1 (a free port) over a VQA run, runs `--clients` concurrent
clients that POST stored-image questions to /v1/vqa for `--seconds` (bounded), once with
micro-batching (`--max-batch`, `--max-wait-ms`) and once without (`--max-batch 1`), and prints
ONE JSON object: machine, config, and per mode requests, requests/s, p50/p95/p99 latency (ms)
and errors, plus the requests/s ratio batching on / off.

    python bench/bench_serve.py [--checkpoint RUN] [--size tiny|small|base] [--clients 16]
        [--seconds 20] [--max-batch 16] [--max-wait-ms 10]

Without --checkpoint it builds a 60-image synthetic world and a 1-step VQA run of the chosen
size in a temporary folder (weights untrained: speed does not depend on them).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import torch
from machine_info import describe_machine

SIZES = {"tiny": [], "small": ["model.num_layers=4", "model.hidden_size=256",
                               "model.num_heads=4", "model.intermediate_size=1024"],
         "base": ["model.num_layers=12", "model.hidden_size=768", "model.num_heads=12",
                  "model.intermediate_size=3072"]}


def build_run(folder: Path, size: str) -> Path:
    world, run = folder / "world", folder / "run"
    vlkit = [sys.executable, "-m", "vlkit"]
    subprocess.run([*vlkit, "data", "synth", "--out", str(world), "--images", "60",
                    ], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run([*vlkit, "train", "uniter-tiny-vqa", f"data.root={world}", f"out={run}",
                    "train.total_steps=1", "train.batch_size=2", "train.progress=false",
                    "train.val_every=100", "train.ckpt_every=100", "data.train_limit=8",
                    "data.test_txt=[]", *SIZES[size]],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return run


def questions(run: Path) -> list[dict]:
    """(img_id, question) pairs from the run's training text store."""
    from vlkit.config import build_config
    from vlkit.evaluation.eval_run import find_source, read_run_config
    from vlkit.runs.stores import open_text_store

    cfg = build_config(read_run_config(find_source(run).config))
    store = open_text_store(cfg, cfg.data.train_txt)
    return [{"img_id": r["img_id"], "question": r["text"]}
            for r in (store.get(i) for i in store.ids()[:64])]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(run: Path, port: int, max_batch: int, max_wait_ms: float) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "vlkit", "serve", "--checkpoint", str(run), "--port", str(port),
         "--max-batch", str(max_batch), "--max-wait-ms", str(max_wait_ms), "--device", "cpu"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"vlkit serve exited: {server.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("vlkit serve did not answer /healthz within 120 s")


def load(port: int, inputs: list[dict], clients: int, seconds: float) -> dict:
    """`clients` threads posting for `seconds`; latencies of the answered requests."""
    url = f"http://127.0.0.1:{port}/v1/vqa"
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(k: int) -> None:
        with httpx.Client(timeout=60) as http:
            n = k
            while time.monotonic() < stop:
                start = time.perf_counter()
                try:
                    ok = http.post(url, data=inputs[n % len(inputs)]).status_code == 200
                except httpx.HTTPError:
                    ok = False
                elapsed = time.perf_counter() - start
                with lock:
                    (latencies.append(elapsed) if ok else errors.__setitem__(0, errors[0] + 1))
                n += clients

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 120)
    wall = time.perf_counter() - started
    ms = sorted(x * 1000 for x in latencies)

    def pct(q: float) -> float:
        return round(ms[min(len(ms) - 1, int(q * len(ms)))], 1) if ms else float("nan")

    return {"requests": len(ms), "errors": errors[0], "wall_s": round(wall, 2),
            "requests_per_s": round(len(ms) / wall, 2), "p50_ms": pct(0.50),
            "p95_ms": pct(0.95), "p99_ms": pct(0.99),
            "mean_ms": round(statistics.fmean(ms), 1) if ms else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=None, help="a VQA run (default: build one)")
    ap.add_argument("--size", default="small", choices=sorted(SIZES))
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--max-batch", type=int, default=16)
    ap.add_argument("--max-wait-ms", type=float, default=10.0)
    args = ap.parse_args()
    if not 1 <= args.clients <= 256 or not 1 <= args.seconds <= 600:
        raise SystemExit("--clients must be in 1..256 and --seconds in 1..600")
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(args.checkpoint) if args.checkpoint else build_run(Path(tmp), args.size)
        inputs = questions(run)
        modes = {"batching": (args.max_batch, args.max_wait_ms), "one_at_a_time": (1, 0.0)}
        results = {}
        for name, (max_batch, wait) in modes.items():
            port = free_port()
            server = start_server(run, port, max_batch, wait)
            try:
                load(port, inputs, args.clients, min(3.0, args.seconds))  # warm-up
                results[name] = {"max_batch": max_batch, "max_wait_ms": wait,
                                 **load(port, inputs, args.clients, args.seconds)}
            finally:
                server.terminate()
                server.wait(timeout=30)
    ratio = results["batching"]["requests_per_s"] / max(
        results["one_at_a_time"]["requests_per_s"], 1e-9)
    print(json.dumps({"benchmark": "serve", "machine": describe_machine(torch.device("cpu")),
                      "torch": torch.__version__, "server_threads": torch.get_num_threads(),
                      "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
                      "config": {"size": args.size, "checkpoint": args.checkpoint,
                                 "clients": args.clients, "seconds": args.seconds},
                      **results, "requests_per_s_ratio": round(ratio, 2)}, indent=1))


if __name__ == "__main__":
    main()
