"""Shared set-up of the training tests: the tiny model's tokenizer, a labelled chat row, and a valid sft: block."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from voc.model.loading import load_tokenizer

TARGET = '[{"content": "app crashes", "L1": "App", "emotion": "negative"}]'


@pytest.fixture(scope="module")
def tok(tiny_model_dir):
    return load_tokenizer(tiny_model_dir)


@pytest.fixture(scope="session")
def chat() -> Callable[..., list[dict]]:
    """`chat(user, target)`: a system + user + assistant conversation, the shape every training row has."""
    def make(user: str = "The camera app crashes after the update.", target: str = TARGET) -> list[dict]:
        return [{"role": "system", "content": "Label the comment."}, {"role": "user", "content": user},
                {"role": "assistant", "content": target}]
    return make


@pytest.fixture
def write_train_file(chat, tmp_path) -> Callable[[int], Path]:
    """`write_train_file(n)`: a train.jsonl of n labelled customer rows (distinct texts), as the mix stage writes."""
    def write(n: int) -> Path:
        p = tmp_path / "train.jsonl"
        rows = [{"id": str(i), "source": "voc", "messages": chat(f"The camera app crashes {i}.")} for i in range(n)]
        p.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return p
    return write


@pytest.fixture(scope="session")
def sft_params() -> Callable[..., dict]:
    """`sft_params(**over)`: a valid sft: block sized for the tiny model (3 steps of 2 rows), with overrides."""
    def make(**over) -> dict:
        base = dict(method="full", accelerate_config="configs/accelerate/cpu.yaml", lr=1e-3, epochs=1, max_steps=3,
                    batch_size=2, grad_accum=1, max_length=128, warmup_ratio=0.0, weight_decay=0.0,
                    lr_scheduler="linear", save_steps=2, logging_steps=1, seed=7,
                    lora={"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": "all-linear"})
        return {**base, **over}
    return make
