"""IFEval through the probe stage and params: where a user points at it, what is pinned, what the stage writes."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from voc.core.errors import ParamsError
from voc.core.params import load_params
from voc.eval.ifeval import METRICS

ROOT = Path(__file__).resolve().parents[3]
ROW = {"key": 3, "prompt": "Say hi.", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}


def _params(tmp_path, repo_params, ifeval: dict) -> Path:
    p = repo_params()
    p["probe"]["ifeval"] = ifeval
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(p, sort_keys=False), encoding="utf-8")
    return path


def test_the_demo_keeps_the_projects_probe(repo_params):
    assert repo_params()["probe"]["ifeval"]["source"] is None


@pytest.mark.parametrize(("ifeval", "words"), [
    ({"source": "hf:google/IFEval"}, "without probe.ifeval.revision"),
    ({"source": "hf:google/IFEval", "revision": "main"}, "is not a commit hash"),
    ({"source": None, "revision": "a" * 40}, "probe.ifeval.revision is set but"),
])
def test_an_unpinned_hub_source_is_refused(tmp_path, repo_params, ifeval, words):
    with pytest.raises(ParamsError, match=words):
        load_params(_params(tmp_path, repo_params, ifeval), "probe")


def test_a_pinned_hub_source_and_a_local_file_are_accepted(tmp_path, repo_params):
    p = load_params(_params(tmp_path, repo_params, {"source": "hf:google/IFEval", "revision": "a" * 40}), "probe")
    assert (p.probe.ifeval.revision, p.probe.ifeval.max_new_tokens) == ("a" * 40, 1280)
    p = load_params(_params(tmp_path, repo_params, {"source": "x.jsonl", "limit": 5}), "probe")
    assert (p.probe.ifeval.source, p.probe.ifeval.limit) == ("x.jsonl", 5)


def test_the_stage_writes_the_four_metrics_and_per_prompt_outcomes(tmp_path, repo_params, tiny_model_dir):
    data = tmp_path / "ifeval.jsonl"
    data.write_text(json.dumps(ROW) + "\n" + json.dumps({**ROW, "key": 4}) + "\n", encoding="utf-8")
    params = _params(tmp_path, repo_params, {"source": str(data), "limit": 1, "max_new_tokens": 4})
    spec = importlib.util.spec_from_file_location("stage_eval_probe", ROOT / "stages" / "eval_probe.py")
    stage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stage)
    out, details = tmp_path / "probe.json", tmp_path / "probe.jsonl"
    res = CliRunner().invoke(stage.main, ["--params", str(params), "--model", str(tiny_model_dir), "--out", str(out),
                                          "--details", str(details)])
    assert res.exit_code == 0, res.output
    report = json.loads(out.read_text())
    assert report["benchmark"] == "ifeval" and report["n"] == 1 and report["source"] == str(data)
    assert report["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest() and report["revision"] is None
    for metric in METRICS:
        assert {metric, f"{metric}_stderr", f"{metric}_ci95"} <= set(report)
    [item] = [json.loads(line) for line in details.read_text().splitlines()]
    assert item["key"] == 3 and [i["id"] for i in item["instructions"]] == ["punctuation:no_comma"]


def test_the_benchmark_reads_ifeval_from_shared_in_place():
    from benchmarks.memd.scratch import SHARED, profile_params, run_params

    bench = yaml.safe_load((ROOT / "benchmarks/memd/params.yaml").read_text())
    params = run_params(profile_params(bench, "cpu", None), bench, bench["runs"][0])
    assert params["probe"]["ifeval"]["source"] == str((SHARED / "data/ifeval/input_data.jsonl").resolve())
