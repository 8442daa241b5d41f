"""Weight interpolation (WiSE-FT, LM-Cocktail): θ = (1 − α)·θ_base + α·θ_sft, saved as a plain safetensors model.

Moving the fine-tuned weights back towards the base trades some of the task gain for general ability, at no
training cost; `merge.alpha` sweeps that trade on the same `models/sft`.

Why plain safetensors + torch and not mergekit: a linear merge of two checkpoints of one architecture is one
`torch.lerp` per tensor. mergekit 0.1.5 (its `linear` method does the same arithmetic) would add sentencepiece,
protobuf, immutables and more to the training environment for that one line, and reads the models through its
own loaders; here the tensors are read by name from the safetensors files the assets and sft stages wrote.

The output keeps the fine-tuned model's file layout (one file, or shards with their index) and every other file
of it (config, generation config, tokenizer, chat template). α = 1 copies `models/sft` byte for byte (the default
costs a file copy, and DVC stores the identical files once); α = 0 gives the base weights bit for bit.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from voc.core.errors import InputError
from voc.core.files import atomic_path

log = logging.getLogger("voc.model.merge")

INDEX = "model.safetensors.index.json"
SHOWN = 5  # mismatches named in an error; the rest are counted


class MergeError(InputError):
    """The two models cannot be interpolated (different tensors, shapes or tying)."""


def weight_map(model_dir: str | Path) -> dict[str, str]:
    """Tensor name -> the safetensors file holding it (through the shard index when there is one)."""
    d = Path(model_dir)
    if (d / INDEX).is_file():
        return dict(json.loads((d / INDEX).read_text(encoding="utf-8"))["weight_map"])
    files = sorted(p.name for p in d.glob("*.safetensors"))
    if not files:
        raise MergeError(str(d), None, "holds no *.safetensors weights",
                         "point --base and --sft at model folders the assets and sft stages wrote")
    names: dict[str, str] = {}
    for f in files:
        with safe_open(str(d / f), "pt") as s:
            names.update(dict.fromkeys(s.keys(), f))
    return names


def _shapes(model_dir: Path, names: dict[str, str]) -> dict[str, list[int]]:
    """Every tensor's shape, read from the file headers only (no weights loaded)."""
    shapes: dict[str, list[int]] = {}
    for f in sorted(set(names.values())):
        with safe_open(str(model_dir / f), "pt") as s:
            shapes.update({k: s.get_slice(k).get_shape() for k, where in names.items() if where == f})
    return shapes


def _tied(model_dir: Path) -> bool:
    """transformers' default is tied input and output embeddings unless config.json says otherwise."""
    config = model_dir / "config.json"
    return bool(json.loads(config.read_text(encoding="utf-8")).get("tie_word_embeddings", True)) \
        if config.is_file() else True


def _listed(items: list[str]) -> str:
    more = f" and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return ", ".join(items[:SHOWN]) + more


def check_compatible(base_dir: str | Path, sft_dir: str | Path) -> tuple[dict[str, str], dict[str, str]]:
    """The base and fine-tuned weight maps (tensor -> file), once every tensor matches the base by name and shape.

    With tied embeddings the output matrix is the input one, so a tied copy (`lm_head.weight`) stored on one side
    only is no mismatch: it is left out and the loader ties it again, to the merged embeddings.
    """
    base_dir, sft_dir = Path(base_dir), Path(sft_dir)
    base_tied, sft_tied = _tied(base_dir), _tied(sft_dir)
    if base_tied != sft_tied:
        raise MergeError(str(sft_dir / "config.json"), None,
                         f"tie_word_embeddings is {sft_tied} here but {base_tied} in {base_dir}",
                         "merge a fine-tuned model with the base it was trained from")
    base_map, sft_map = weight_map(base_dir), weight_map(sft_dir)
    if sft_tied:
        for extra in (set(base_map) ^ set(sft_map)):
            if extra.endswith("lm_head.weight"):
                base_map.pop(extra, None)
                sft_map.pop(extra, None)
    only_sft, only_base = sorted(set(sft_map) - set(base_map)), sorted(set(base_map) - set(sft_map))
    if only_sft or only_base:
        problem = "; ".join(p for p in (only_sft and f"tensors missing from the base: {_listed(only_sft)}",
                                        only_base and f"tensors missing from the fine-tuned model: "
                                                      f"{_listed(only_base)}") if p)
        raise MergeError(str(sft_dir), None, f"the models do not hold the same tensors ({problem})",
                         f"merge a fine-tuned model with the base it was trained from ({base_dir}); a LoRA run must "
                         "save its merged full model, as the sft stage does")
    base_shapes, sft_shapes = _shapes(base_dir, base_map), _shapes(sft_dir, sft_map)
    bad = [f"{k} {sft_shapes[k]} vs base {base_shapes[k]}" for k in sorted(sft_map) if sft_shapes[k] != base_shapes[k]]
    if bad:
        raise MergeError(str(sft_dir), None, f"{len(bad)} tensors differ in shape from the base: {_listed(bad)}",
                         f"merge a fine-tuned model with the base it was trained from ({base_dir}), e.g. one whose "
                         "vocabulary was not resized")
    return base_map, sft_map


def interpolate(base: torch.Tensor, sft: torch.Tensor, alpha: float) -> torch.Tensor:
    """(1 − α)·base + α·sft in at least fp32, returned in the fine-tuned tensor's dtype; the end points are exact."""
    if alpha == 1:
        return sft
    if alpha == 0:
        return base.to(sft.dtype)
    if not sft.is_floating_point():  # an integer buffer: nothing to interpolate, it must agree
        if torch.equal(base, sft):
            return sft
        raise ValueError("an integer tensor differs between the models")
    work = torch.promote_types(torch.promote_types(base.dtype, sft.dtype), torch.float32)
    return torch.lerp(base.to(work), sft.to(work), alpha).to(sft.dtype)


@contextlib.contextmanager
def _open_all(model_dir: Path, files: set[str]) -> Iterator[dict]:
    with contextlib.ExitStack() as stack:
        yield {f: stack.enter_context(safe_open(str(model_dir / f), "pt")) for f in files}


def _merge_shards(base_dir: Path, sft_dir: Path, out: Path, maps: tuple[dict[str, str], dict[str, str]],
                  alpha: float) -> None:
    """One output file per fine-tuned file (a shard's tensors are held in memory once, not the whole model)."""
    base_map, sft_map = maps
    with _open_all(base_dir, {base_map[k] for k in sft_map}) as base_files:
        for f in sorted(set(sft_map.values())):
            with safe_open(str(sft_dir / f), "pt") as s:
                merged = {}
                for k in (k for k, where in sft_map.items() if where == f):
                    try:
                        merged[k] = interpolate(base_files[base_map[k]].get_tensor(k), s.get_tensor(k), alpha)
                    except ValueError as e:
                        raise MergeError(str(sft_dir / f), None, f"tensor {k}: {e}",
                                         "merge a fine-tuned model with the base it was trained from") from None
                metadata = s.metadata() or {"format": "pt"}
            save_file(merged, str(out / f), metadata=metadata)


def merge_models(base_dir: str | Path, sft_dir: str | Path, out_dir: str | Path, alpha: float) -> dict:
    """Write (1 − α)·base + α·sft to `out_dir` atomically, with the fine-tuned model's other files; return a summary."""
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    base_dir, sft_dir = Path(base_dir), Path(sft_dir)
    maps = check_compatible(base_dir, sft_dir)
    sft_map = maps[1]
    weights = set(sft_map.values())  # the index (if sharded) is copied with the other files
    with atomic_path(out_dir) as tmp:
        if alpha == 1:  # the fine-tuned model itself: a plain copy, byte for byte
            shutil.copytree(sft_dir, tmp)
        else:
            tmp.mkdir()
            for p in sft_dir.iterdir():
                if p.is_file() and p.name not in weights:
                    shutil.copy2(p, tmp / p.name)
            _merge_shards(base_dir, sft_dir, tmp, maps, alpha)
    log.info("merged %d tensors with alpha=%s into %s", len(sft_map), alpha, out_dir)
    return {"alpha": alpha, "tensors": len(sft_map), "files": len(set(sft_map.values()))}
