"""Shared helpers for the speed benchmarks: the tiny test model, timing, and a one-line machine description."""

from __future__ import annotations

import importlib.util
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def tiny_model_dir() -> Path:
    """Build the 2-layer test Llama into a temp folder (seconds, no network). tests/ is no package, so its tiny.py
    is loaded from its file rather than by putting tests/ on the import path."""
    spec = importlib.util.spec_from_file_location("voc_tests_tiny", ROOT / "tests/tiny.py")
    tiny = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tiny)
    return tiny.build_tiny_model(Path(tempfile.mkdtemp(prefix="voc-bench-")) / "tiny")


def load(model: str | None):
    """(model, tokenizer, label): `model` dir through voc.model.loading.load_model, else the tiny model."""
    import torch

    from voc.model.loading import load_model

    torch.manual_seed(0)
    path = Path(model) if model else tiny_model_dir()
    m, tok = load_model(path)
    return m, tok, (str(model) if model else "tiny 2-layer Llama (tests/tiny.py)")


def best_time(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Fastest of `repeat` calls (after one warm-up call) and the last result: the least noisy estimate on a
    shared machine."""
    result = fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def machine() -> str:
    """The GPU when CUDA is up, else the CPU model, cores and torch threads: what a timing depends on."""
    import torch

    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}"
    name = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [ln.split(":", 1)[1].strip() for ln in cpuinfo.read_text().splitlines() if ln.startswith("model name")]
        name = names[0] if names else name
    return f"{name}, {os.cpu_count()} logical cores, torch {torch.__version__} threads={torch.get_num_threads()}"
