"""Loading `params.yaml` and checking every knob up front, so bad values fail before any expensive stage.

Each stage calls `load_params`; validation only reads, so a stage that checks `mix` does not depend on it.
"""

from __future__ import annotations

from pathlib import Path

from voc.errors import ParamsError
from voc.io import load_yaml

SFT_REQUIRED = ("method", "lr", "epochs", "max_steps", "batch_size", "grad_accum", "max_length", "warmup_ratio",
                "weight_decay", "lr_scheduler", "save_steps", "logging_steps", "seed")
CHOICES = {("mix_unit",): ("samples", "tokens"), ("prompt", "taxonomy"): ("names", "full"),
           ("decontam", "action"): ("fail", "drop"), ("eval", "backend"): ("hf", "vllm")}


def check_sft_params(sft: dict, where: str = "params.yaml") -> None:
    """Fail early, naming the key, rather than deep inside the Trainer."""
    missing = [k for k in SFT_REQUIRED if k not in sft]
    if missing:
        raise ParamsError(where, None, f"sft is missing {missing}", "add them to the sft: block")
    if sft["method"] not in ("full", "lora"):
        raise ParamsError(where, None, f"sft.method is {sft['method']!r}", "use 'full' or 'lora'")
    if sft["method"] == "lora" and not isinstance(sft.get("lora"), dict):
        raise ParamsError(where, None, "sft.method is lora but sft.lora is missing",
                          "add sft.lora with r, alpha, dropout, target_modules")
    if not 0 <= float(sft["warmup_ratio"]) < 1:
        raise ParamsError(where, None, f"sft.warmup_ratio is {sft['warmup_ratio']}", "use a value in [0, 1)")
    if int(sft["max_steps"]) <= 0 and float(sft["epochs"]) <= 0:
        raise ParamsError(where, None, "neither sft.epochs nor sft.max_steps is positive",
                          "set sft.epochs > 0 or sft.max_steps > 0")


def _get(p: dict, keys: tuple[str, ...]) -> object:
    for k in keys:
        p = p.get(k) if isinstance(p, dict) else None
    return p


def validate_params(p: dict, where: str = "params.yaml") -> dict:
    """Check the whole params file (cheap: no downloads, no model loading)."""
    from voc.assets_source import parse_source
    from voc.general import validate_sources
    from voc.mixing import validate_mix

    if not isinstance(p, dict):
        raise ParamsError(where, None, "the params file is empty or not a mapping", "restore params.yaml")
    validate_mix(p.get("mix"), where)
    for keys, allowed in CHOICES.items():
        value = _get(p, keys)
        if value not in allowed:
            raise ParamsError(where, None, f"{'.'.join(keys)} is {value!r}", f"use one of {', '.join(allowed)}")
    parse_source(_get(p, ("model", "source")), "model.source")
    parse_source(_get(p, ("mmlu", "source")), "mmlu.source")
    validate_sources(_get(p, ("general", "sources")), where)
    check_sft_params(p.get("sft") or {}, where)
    return p


def load_params(path: str | Path = "params.yaml") -> dict:
    """safe_load the params file and validate it."""
    return validate_params(load_yaml(path), str(path))
