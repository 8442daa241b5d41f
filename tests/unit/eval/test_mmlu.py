"""MMLU: materialisation from every source kind, validation errors, the exact prompt, and scoring."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from voc.assets.mmlu import materialize_mmlu
from voc.core.errors import MMLUError
from voc.core.files import read_jsonl
from voc.eval import mmlu as mmlu_mod
from voc.eval.mmlu import evaluate_mmlu, format_prompt, limit_rows
from voc.model.loading import load_model

CSV_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "evals" / "mmlu_csv"


@pytest.fixture
def csv_dir(tmp_path) -> Path:
    """A writable copy of the 2-subject Hendrycks CSV fixture (tests corrupt it)."""
    return Path(shutil.copytree(CSV_DIR, tmp_path / "mmlu_csv"))


def test_hendrycks_csv_is_normalised_and_sorted(tmp_path):
    info = materialize_mmlu(str(CSV_DIR), tmp_path / "out", None, tmp_path / "cache")
    assert info | {"source": None} == {"source": None, "sha256": None, "subjects": 2, "dev": 3, "test": 5}
    test = read_jsonl(tmp_path / "out" / "test.jsonl")
    assert [r["subject"] for r in test] == ["astronomy"] * 3 + ["high_school_biology"] * 2
    assert test[0] == {"subject": "astronomy", "question": "How many planets are in the Solar System?",
                       "choices": ["7", "8", "9", "10"], "answer": 1}
    assert test[2]["question"] == 'Which is larger, a "red giant" or a white dwarf?' and test[2]["answer"] == 0
    assert [r["answer"] for r in read_jsonl(tmp_path / "out" / "dev.jsonl")] == [1, 2, 2]


def _save_subject(root: Path, subject: str, split: str, rows: list[dict]) -> None:
    from datasets import ClassLabel, Dataset, Features, Sequence, Value

    feats = Features({"question": Value("string"), "subject": Value("string"),
                      "choices": Sequence(Value("string")), "answer": ClassLabel(names=list("ABCD"))})
    Dataset.from_list(rows, features=feats).save_to_disk(str(root / subject / split))


def _q(subject: str, text: str, answer: int) -> dict:
    return {"question": text, "subject": subject, "choices": ["w", "x", "y", "z"], "answer": answer}


def test_save_to_disk_layout(tmp_path):
    root = tmp_path / "mmlu_no_train"
    _save_subject(root, "virology", "dev", [_q("virology", "dv", 0)])
    _save_subject(root, "virology", "test", [_q("virology", "t1", 3), _q("virology", "t2", 2)])
    _save_subject(root, "anatomy", "dev", [_q("anatomy", "da", 1)])
    _save_subject(root, "anatomy", "test", [_q("anatomy", "ta", 1)])
    info = materialize_mmlu(str(root), tmp_path / "out", None, tmp_path / "cache")
    assert (info["subjects"], info["dev"], info["test"]) == (2, 2, 3)
    test = read_jsonl(tmp_path / "out" / "test.jsonl")
    assert [(r["subject"], r["question"], r["answer"]) for r in test] == [
        ("anatomy", "ta", 1), ("virology", "t1", 3), ("virology", "t2", 2)]


def test_hf_source_uses_load_dataset(tmp_path, monkeypatch):
    from datasets import Dataset, DatasetDict

    calls = []

    def fake_load_dataset(repo, config, revision):
        calls.append((repo, config, revision))
        return DatasetDict({"dev": Dataset.from_list([_q("nutrition", "d", 0)]),
                            "test": Dataset.from_list([_q("nutrition", "t", 2)])})

    import datasets

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    rev = "a" * 40  # hf: sources are pinned to a commit (tests/unit/assets/test_assets.py: the refusal without one)
    info = materialize_mmlu("hf:cais/mmlu", tmp_path / "out", None, tmp_path / "cache", revision=rev)
    assert calls == [("cais/mmlu", "all", rev)] and (info["dev"], info["test"]) == (1, 1)
    assert read_jsonl(tmp_path / "out" / "test.jsonl")[0]["answer"] == 2


def test_subject_missing_from_dev_names_the_split(csv_dir, tmp_path):
    (csv_dir / "dev" / "astronomy_dev.csv").unlink()
    with pytest.raises(MMLUError, match=r"\['astronomy'\] have test questions but no dev") as e:
        materialize_mmlu(str(csv_dir), tmp_path / "out", None, tmp_path)
    assert e.value.path.endswith("/dev") and "astronomy_dev.csv" in e.value.fix
    assert not (tmp_path / "out").exists()


def test_subject_missing_from_test(csv_dir, tmp_path):
    (csv_dir / "test" / "high_school_biology_test.csv").unlink()
    with pytest.raises(MMLUError, match="high_school_biology.*no test"):
        materialize_mmlu(str(csv_dir), tmp_path / "out", None, tmp_path)


@pytest.mark.parametrize(("csv", "edit", "error", "line"), [
    ("test/astronomy_test.csv", lambda t: t.replace("Speed,C", "Speed,E"), "answer 'E' is out of range", 2),
    ("dev/high_school_biology_dev.csv", lambda t: t.replace("Ribosome", " "), "choice B is empty", 1),
    ("test/high_school_biology_test.csv", lambda t: t + "Too,few,columns\n", "expected 6 columns", 3),
], ids=["answer_out_of_range", "empty_choice", "wrong_column_count"])
def test_bad_csv_row_names_file_and_line(csv_dir, tmp_path, csv, edit, error, line):
    p = csv_dir / csv
    p.write_text(edit(p.read_text()))
    with pytest.raises(MMLUError, match=error) as e:
        materialize_mmlu(str(csv_dir), tmp_path / "out", None, tmp_path)
    assert (e.value.path, e.value.line) == (str(p), line)


def test_save_to_disk_answer_out_of_range(tmp_path):
    from datasets import Dataset

    root = tmp_path / "mmlu"
    _save_subject(root, "anatomy", "dev", [_q("anatomy", "d", 0)])
    Dataset.from_list([_q("anatomy", "ok", 1), _q("anatomy", "bad", 7)]).save_to_disk(str(root / "anatomy" / "test"))
    with pytest.raises(MMLUError, match="answer 7 is out of range") as e:
        materialize_mmlu(str(root), tmp_path / "out", None, tmp_path)
    assert (e.value.path, e.value.line) == (str(root / "anatomy" / "test"), 2)


ROW = {"subject": "high_school_biology", "question": " What carries oxygen? ",
       "choices": ["Hb", "Insulin", "DNA", "Fat"], "answer": 0}
DEV = [{"subject": "astronomy", "question": "Skip me", "choices": list("abcd"), "answer": 3},
       {"subject": "high_school_biology", "question": "Cell powerhouse?", "choices": ["Nucleus", "Mito", "ER", "Golgi"],
        "answer": 1},
       {"subject": "high_school_biology", "question": "Second?", "choices": list("pqrs"), "answer": 2}]


def test_prompt_zero_shot_exact():
    assert format_prompt(ROW, DEV, 0) == (
        "The following are multiple choice questions (with answers) about high school biology.\n\n"
        "What carries oxygen?\nA. Hb\nB. Insulin\nC. DNA\nD. Fat\nAnswer:")


def test_prompt_one_shot_uses_first_dev_example_of_the_subject():
    assert format_prompt(ROW, DEV, 1) == (
        "The following are multiple choice questions (with answers) about high school biology.\n\n"
        "Cell powerhouse?\nA. Nucleus\nB. Mito\nC. ER\nD. Golgi\nAnswer: B\n\n"
        "What carries oxygen?\nA. Hb\nB. Insulin\nC. DNA\nD. Fat\nAnswer:")
    with pytest.raises(ValueError, match="only 2"):
        format_prompt(ROW, DEV, 3)


def test_limit_rows_takes_first_n_per_subject():
    rows = [{"subject": s, "i": i} for i, s in enumerate("aabab")]
    assert [r["i"] for r in limit_rows(rows, 1)] == [0, 2]
    assert limit_rows(rows, None) == rows


def test_evaluate_scores_letters_as_continuations(monkeypatch, tiny_model_dir):
    seen, seen_groups = [], []
    # likelihoods chosen per request: row 1 -> C (wrong, gold A), row 2 -> B (right), row 3 (other subject) -> D (right)
    table = {0: [-3, -2, -1, -4], 1: [-5, -1, -2, -3], 2: [-9, -8, -7, -1]}

    def fake_loglik(model, tok, requests, batch_size=16, desc="", groups=None):
        seen.extend(requests)
        seen_groups.extend(groups)
        return [(float(table[i // 4][i % 4]), False) for i in range(len(requests))]

    monkeypatch.setattr(mmlu_mod, "loglikelihoods", fake_loglik)
    rows = [dict(ROW), {**ROW, "question": "Q2", "answer": 1}, {**ROW, "question": "ignored by limit"},
            {**ROW, "subject": "astronomy", "question": "Q3", "answer": 3}]
    res, items = evaluate_mmlu(None, None, rows, DEV, k_shot=0, limit_per_subject=2)
    assert [c for _, c in seen] == [" A", " B", " C", " D"] * 3
    # one cache group per subject: its header and shots are encoded once (tests/unit/model/test_loglik.py)
    assert seen_groups == ["high_school_biology"] * 8 + ["astronomy"] * 4
    assert seen[0][0] == format_prompt(ROW, DEV, 0)
    assert seen[4][0].endswith("Q2\nA. Hb\nB. Insulin\nC. DNA\nD. Fat\nAnswer:")
    assert res["n"] == 3 and res["accuracy"] == pytest.approx(2 / 3)
    assert res["per_subject"] == [{"subject": "astronomy", "accuracy": 1.0, "n": 1},
                                  {"subject": "high_school_biology", "accuracy": 0.5, "n": 2}]
    assert res["macro_accuracy"] == pytest.approx(0.75)
    # 2 of 3: lm-eval's stderr sqrt(p(1-p)/(n-1)) = sqrt(2/9 / 2) = 1/3; Wilson [0.2077, 0.9385]; chance 1 in 4
    assert res["accuracy_stderr"] == pytest.approx(1 / 3)
    assert res["accuracy_ci95"] == {"lo": pytest.approx(0.2077, abs=1e-4), "hi": pytest.approx(0.9385, abs=1e-4)}
    assert res["chance"] == 0.25
    # per-question outcomes under ids that do not depend on the run: the report pairs base and SFT on them
    assert items == [{"id": "high_school_biology/0", "subject": "high_school_biology", "gold": 0, "pred": 2,
                      "correct": 0},
                     {"id": "high_school_biology/1", "subject": "high_school_biology", "gold": 1, "pred": 1,
                      "correct": 1},
                     {"id": "astronomy/0", "subject": "astronomy", "gold": 3, "pred": 3, "correct": 1}]


def test_evaluate_runs_on_tiny_model(tiny_model_dir):
    model, tok = load_model(tiny_model_dir, device="cpu")
    rows = read_jsonl_fixture()
    res, items = evaluate_mmlu(model, tok, rows, rows, k_shot=1, batch_size=2)
    assert res["n"] == len(rows) == len(items) and 0.0 <= res["accuracy"] <= 1.0
    assert sum(v["n"] for v in res["per_subject"]) == len(rows)


def read_jsonl_fixture() -> list[dict]:
    return [{"subject": "astronomy", "question": "How many planets?", "choices": ["7", "8", "9", "10"], "answer": 1},
            {"subject": "astronomy", "question": "A light-year measures?", "choices": list("abcd"), "answer": 2}]
