"""Fixtures for the generation tests: a tiny model whose greedy replies differ from prompt to prompt and step to
step, and a batch of classification-style conversations sharing one system prompt."""

from __future__ import annotations

import pytest
import torch

from voc.model.generate import chat_prompt
from voc.model.loading import load_model

COMMENTS = ["The camera app keeps crashing", "Night vision is blurry.",
            "Die Kamera ist super, aber die App stürzt ab. La livraison était rapide.", "def add(a, b)",
            "12 + 7 = 19", "Write a haiku about the sea. Answer in exactly 3 bullet points."]
SYSTEM = "Label each comment with the taxonomy. Taxonomy: " + " | ".join(f"App {i}" for i in range(30))


@pytest.fixture(scope="session")
def sharp_model_dir(tmp_path_factory, build_tiny_model):
    """The tiny Llama with untied, larger random weights: the default init's near-flat logits make every reply
    one repeated token, which would let a broken cache or mask pass unnoticed. Here replies vary by prompt and
    by step, and the top logits are far apart (no near-ties for rounding to flip)."""
    out = build_tiny_model(tmp_path_factory.mktemp("sharp") / "m", tie_word_embeddings=False)
    model, tok = load_model(out)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 2:
                p.copy_(torch.randn(p.shape, generator=gen) * (3.0 / p.shape[1] ** 0.5))
    model.save_pretrained(out, safe_serialization=True)
    return out


@pytest.fixture
def sharp_model(sharp_model_dir):
    """A fresh (model, tokenizer) per test: tests change its config."""
    return load_model(sharp_model_dir)


@pytest.fixture
def shared_prompts(sharp_model) -> list[str]:
    """Six prompts sharing the system message, with user turns of different token lengths."""
    tok = sharp_model[1]
    return [chat_prompt(tok, [{"role": "system", "content": SYSTEM}, {"role": "user", "content": c}])
            for c in COMMENTS]
