"""Weight interpolation on the tiny model: the end points are exact, 0.5 is the mean, every non-weight file is
copied, shards keep their layout, and models that do not match fail naming the tensor and the fix."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file, save_file

from voc.model.loading import load_model
from voc.model.merge import INDEX, MergeError, interpolate, merge_models

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def pair(tmp_path_factory, build_tiny_model) -> tuple[Path, Path]:
    """A base and a 'fine-tuned' model of the same architecture with different weights (seeds 0 and 1)."""
    root = tmp_path_factory.mktemp("pair")
    return build_tiny_model(root / "base", seed=0), build_tiny_model(root / "sft", seed=1)


def _weights(d: Path) -> dict[str, torch.Tensor]:
    return load_file(str(d / "model.safetensors"))


@pytest.mark.parametrize("alpha", [0, 0.0, 1, 1.0])
def test_end_points_are_the_models_bit_for_bit(pair, tmp_path, alpha):
    base, sft = pair
    merge_models(base, sft, tmp_path / "m", alpha)
    want, got = _weights(base if alpha == 0 else sft), _weights(tmp_path / "m")
    assert set(got) == set(want)
    assert all(torch.equal(got[k].view(torch.int32), want[k].view(torch.int32)) for k in want)  # the bits
    if alpha == 1:  # a plain copy: DVC stores the same files once
        assert all((tmp_path / "m" / p.name).read_bytes() == p.read_bytes() for p in sft.iterdir())


def test_half_way_is_the_mean_and_the_model_loads(pair, tmp_path):
    base, sft = pair
    info = merge_models(base, sft, tmp_path / "m", 0.5)
    b, s, got = _weights(base), _weights(sft), _weights(tmp_path / "m")
    assert info == {"alpha": 0.5, "tensors": len(s), "files": 1}
    assert all(torch.allclose(got[k], (b[k] + s[k]) / 2, rtol=0, atol=1e-6) for k in s)
    assert any(not torch.equal(got[k], s[k]) for k in s)
    names = {p.name for p in sft.iterdir()}
    assert names == {p.name for p in (tmp_path / "m").iterdir()} and "chat_template.jinja" in names
    for name in names - {"model.safetensors"}:  # config, tokenizer, chat template: the fine-tuned model's
        assert (tmp_path / "m" / name).read_bytes() == (sft / name).read_bytes()
    model, tok = load_model(tmp_path / "m", device="cpu")
    assert tok.chat_template and torch.equal(model.lm_head.weight, model.get_input_embeddings().weight)


def test_interpolate_keeps_dtype_and_computes_in_fp32():
    b, s = torch.tensor([1.0, 2.0], dtype=torch.bfloat16), torch.tensor([3.0, 4.0], dtype=torch.bfloat16)
    out = interpolate(b, s, 0.25)
    assert out.dtype == torch.bfloat16 and out.tolist() == [1.5, 2.5]
    assert interpolate(torch.tensor([1, 2]), torch.tensor([1, 2]), 0.5).tolist() == [1, 2]
    with pytest.raises(ValueError, match="integer tensor differs"):
        interpolate(torch.tensor([1, 2]), torch.tensor([1, 3]), 0.5)


def test_sharded_models_keep_their_layout(pair, tmp_path):
    base, sft = pair
    shard_dir = tmp_path / "sharded"
    shutil.copytree(sft, shard_dir)
    (shard_dir / "model.safetensors").unlink()
    s = _weights(sft)
    names = sorted(s)
    half = {"model-00001-of-00002.safetensors": names[: len(names) // 2],
            "model-00002-of-00002.safetensors": names[len(names) // 2:]}
    for f, keys in half.items():
        save_file({k: s[k] for k in keys}, str(shard_dir / f), metadata={"format": "pt"})
    (shard_dir / INDEX).write_text(json.dumps({"metadata": {}, "weight_map": {k: f for f, ks in half.items()
                                                                              for k in ks}}))
    merge_models(base, shard_dir, tmp_path / "m", 0.5)
    assert {p.name for p in (tmp_path / "m").iterdir()} == {p.name for p in shard_dir.iterdir()}
    b = _weights(base)
    for f, keys in half.items():
        got = load_file(str(tmp_path / "m" / f))
        assert sorted(got) == keys and all(torch.allclose(got[k], (b[k] + s[k]) / 2, atol=1e-6) for k in keys)


def test_a_tied_copy_stored_on_one_side_only_is_no_mismatch(pair, tmp_path):
    base, sft = pair
    with_head = tmp_path / "with_head"
    shutil.copytree(sft, with_head)
    s = _weights(sft)
    save_file({**s, "lm_head.weight": s["model.embed_tokens.weight"].clone()}, str(with_head / "model.safetensors"),
              metadata={"format": "pt"})
    merge_models(base, with_head, tmp_path / "m", 0.5)
    assert "lm_head.weight" not in _weights(tmp_path / "m")  # the loader ties it to the merged embeddings


def test_mismatched_models_fail_naming_the_tensor_and_the_fix(pair, tmp_path, build_tiny_model):
    base, sft = pair
    other = tmp_path / "other"
    shutil.copytree(sft, other)
    s = _weights(sft)
    s["model.norm.weight"] = torch.ones(7)
    del s["model.layers.1.mlp.up_proj.weight"]
    save_file(s, str(other / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(MergeError, match=r"tensors missing from the fine-tuned model: model\.layers\.1\.mlp\.up_proj"
                                         r"\.weight.*Fix: merge a fine-tuned model with the base it was trained from"):
        merge_models(base, other, tmp_path / "m", 0.5)
    s = _weights(sft)
    s["model.norm.weight"] = torch.ones(7)
    save_file(s, str(other / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(MergeError, match=r"1 tensors differ in shape from the base: model\.norm\.weight \[7\] vs "
                                         r"base \[32\]"):
        merge_models(base, other, tmp_path / "m", 0.5)
    untied = build_tiny_model(tmp_path / "untied", seed=1, tie_word_embeddings=False)
    with pytest.raises(MergeError, match="tie_word_embeddings is False here but True"):
        merge_models(base, untied, tmp_path / "m", 0.5)
    with pytest.raises(MergeError, match=r"holds no \*\.safetensors weights"):
        merge_models(base, tmp_path, tmp_path / "m", 0.5)
    assert not (tmp_path / "m").exists()  # nothing half-written


def test_untied_models_merge_their_output_matrix(tmp_path, build_tiny_model):
    base = build_tiny_model(tmp_path / "b", seed=0, tie_word_embeddings=False)
    sft = build_tiny_model(tmp_path / "s", seed=1, tie_word_embeddings=False)
    merge_models(base, sft, tmp_path / "m", 0.25)
    b, s, got = _weights(base), _weights(sft), _weights(tmp_path / "m")
    assert torch.allclose(got["lm_head.weight"], 0.75 * b["lm_head.weight"] + 0.25 * s["lm_head.weight"], atol=1e-6)


def test_stage_reads_merge_alpha(pair, tmp_path):
    base, sft = pair
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["merge"] = {"alpha": 0}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    res = subprocess.run([sys.executable, "stages/merge.py", "--params", str(tmp_path / "params.yaml"), "--base",
                          str(base), "--sft", str(sft), "--out", str(tmp_path / "m")], cwd=ROOT, capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr
    assert "alpha=0" in res.stdout
    assert all(torch.equal(v, _weights(base)[k]) for k, v in _weights(tmp_path / "m").items())
    params["merge"] = {"alpha": 1.5}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    res = subprocess.run([sys.executable, "stages/merge.py", "--params", str(tmp_path / "params.yaml"), "--base",
                          str(base), "--sft", str(sft), "--out", str(tmp_path / "m2")], cwd=ROOT, capture_output=True,
                         text=True)
    assert res.returncode != 0 and "merge.alpha=1.5 is out of range" in res.stderr
