"""Decontamination: planted test items are caught, clean data passes, drop/fail behave, the stage writes files."""

from __future__ import annotations

import csv
import importlib.util
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from voc.core.errors import InputError, VocError
from voc.data.decontam import ContaminationError, decontaminate, find_hits, normalize, split_overlap
from voc.data.decontam_sets import load_test_sets

_spec = importlib.util.spec_from_file_location(
    "stage_decontam", Path(__file__).resolve().parents[3] / "stages" / "decontam.py")
stage = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(stage)

MMLU_Q = (
    "Which of the following best describes the primary function of the mitochondria "
    "in eukaryotic cells during aerobic respiration?"
)  # 19 words
VOC_COMMENT = (
    "The checkout page kept timing out when I tried to pay with my saved card, "
    "so I gave up and ordered from another shop."
)  # 25 words
SYSTEM = {"role": "system", "content": "Label the comment. " + MMLU_Q}  # system text is never checked


def row(rid: str, source: str, user: str, assistant: str = "ok") -> dict:
    return {"id": rid, "source": source, "messages": [
        SYSTEM, {"role": "user", "content": user}, {"role": "assistant", "content": assistant}]}


TEST_SETS = {"voc": ["Great app.", VOC_COMMENT], "mmlu": ["What is 2 + 2?", MMLU_Q]}
CLEAN = [
    row("c1", "voc", "Delivery was quick and the driver was friendly.", '[{"content": "Delivery was quick"}]'),
    row("g1", "replay", "Write a haiku about autumn leaves.", "Red leaves drift slowly."),
]


def test_normalize_folds_case_punctuation_width_and_space() -> None:
    assert normalize("  Ｈello,\tWORLD!!  it's\n2+2 ") == "hello world it s 2 2"


def test_clean_data_has_no_hits() -> None:
    # CLEAN rows carry MMLU_Q in their system prompt: system messages are not training units.
    assert find_hits(CLEAN, TEST_SETS, 13) == []


def test_planted_mmlu_question_in_replay_data_is_caught_exact_and_ngram() -> None:
    words = MMLU_Q.split()
    paraphrase = "Quiz time! " + " ".join(words[2:16]) + " -- answer in one word."  # 14 shared words
    rows = [row("g-exact", "replay", MMLU_Q.upper().replace("?", " ?")), row("g-ngram", "replay", paraphrase)]
    hits = find_hits(rows, TEST_SETS, 13)
    assert [(h.train_id, h.test_set, h.test_index, h.kind) for h in hits] == [
        ("g-exact", "mmlu", 1, "exact"), ("g-ngram", "mmlu", 1, "ngram")]
    assert hits[1].overlap == normalize(" ".join(words[2:15]))  # the first shared 13-gram
    assert hits[0].train_source == "replay"


def test_planted_voc_comment_in_customer_data_is_caught_exact_and_ngram() -> None:
    quoted = f"My friend wrote: \"{VOC_COMMENT}\" and I agree."  # contains the whole item (>= 8 words)
    edited = VOC_COMMENT.replace("another shop", "a rival store")  # 13-grams at the start still shared
    in_answer = row("v3", "voc", "Nothing to add.", json.dumps([{"content": VOC_COMMENT}]))
    hits = find_hits([row("v1", "voc", quoted), row("v2", "voc", edited), in_answer], TEST_SETS, 13)
    assert [(h.train_id, h.kind) for h in hits] == [("v1", "exact"), ("v2", "ngram"), ("v3", "exact")]
    assert all((h.test_set, h.test_index) == ("voc", 1) for h in hits)


def test_short_items_are_caught_only_by_exact_match() -> None:
    short = {"mmlu": ["What is 2 + 2?"], "voc": ["Great app, would buy again, five stars."]}  # 4 and 7 words
    rows = [
        row("eq", "replay", "what is 2+2"),  # equal after normalisation: hit
        row("in", "replay", "Tell me: what is 2 + 2? Think step by step."),  # contains 4-word item: no hit
        row("in7", "voc", "Honestly great app would buy again five stars overall"),  # 7-word item inside: no
    ]
    hits = find_hits(rows, short, 13)
    assert [(h.train_id, h.kind) for h in hits] == [("eq", "exact")]


def test_items_of_eight_to_n_words_are_caught_when_contained() -> None:
    item = "the refund took three weeks to reach my account"  # 9 words < 13
    hits = find_hits([row("r", "voc", "Ugh. The refund took three weeks to reach my account! Never again.")],
                     {"voc": [item]}, 13)
    assert [(h.kind, h.overlap) for h in hits] == [("exact", item)]


def test_a_shared_ngram_is_credited_to_every_test_item_that_has_it() -> None:
    """Two test items with the same 13-word stem: a row quoting the stem overlaps both, and both sets count it."""
    stem = " ".join(MMLU_Q.split()[:14])
    tests = {"mmlu": [stem + " Pick one.", "Unrelated question?", stem + " Choose two."], "voc": [stem + " meh"]}
    rows = [row("g", "replay", "Background: " + stem + " and so on.")]
    hits = find_hits(rows, tests, 13)
    assert [(h.test_set, h.test_index, h.kind) for h in hits] == [
        ("mmlu", 0, "ngram"), ("mmlu", 2, "ngram"), ("voc", 0, "ngram")]
    _, report, _ = decontaminate(rows, tests, 13, "drop")
    assert report["hits"] == {"mmlu": {"exact": 0, "ngram": 2}, "voc": {"exact": 0, "ngram": 1}}
    assert (report["rows_hit"], report["rows_dropped"]) == (1, 1)


def test_configurable_ngram_size() -> None:
    rows = [row("x", "replay", "mitochondria in eukaryotic cells is a phrase")]
    assert find_hits(rows, TEST_SETS, 13) == []
    assert [h.kind for h in find_hits(rows, TEST_SETS, 4)] == ["ngram"]


def test_drop_removes_exactly_the_hit_rows_and_counts_per_source() -> None:
    bad = [row("g-bad", "replay", MMLU_Q), row("v-bad", "voc", VOC_COMMENT), row("v-bad2", "voc", VOC_COMMENT)]
    kept, report, hits = decontaminate(CLEAN + bad, TEST_SETS, 13, "drop")
    assert [r["id"] for r in kept] == ["c1", "g1"]
    assert report["rows_dropped_per_source"] == {"replay": 1, "voc": 2}
    assert (report["rows_checked"], report["rows_dropped"], report["rows_kept"]) == (5, 3, 2)
    assert report["hits"] == {"voc": {"exact": 2, "ngram": 0}, "mmlu": {"exact": 1, "ngram": 0}}
    assert len(hits) == 3


def test_fail_raises_after_writing_report_and_csv(tmp_path: Path) -> None:
    report_path, hits_path = tmp_path / "m" / "decontam.json", tmp_path / "m" / "hits.csv"
    with pytest.raises(ContaminationError) as err:
        decontaminate(CLEAN + [row("g-bad", "replay", MMLU_Q)], TEST_SETS, 13, "fail", report_path, hits_path)
    assert isinstance(err.value, VocError)
    assert "g-bad" in str(err.value) and str(hits_path) in str(err.value)
    report = json.loads(report_path.read_text())
    assert report["rows_hit"] == 1 and report["rows_dropped"] == 0 and report["action"] == "fail"
    lines = list(csv.reader(hits_path.open()))
    assert lines[0] == ["train_id", "train_source", "test_set", "test_index", "kind", "overlap"]
    assert lines[1][:5] == ["g-bad", "replay", "mmlu", "1", "exact"]


def test_fail_passes_clean_data() -> None:
    kept, report, hits = decontaminate(CLEAN, TEST_SETS, 13, "fail")
    assert kept == CLEAN and hits == [] and report["hits_total"] == 0


def test_split_overlap_finds_duplicates_and_near_duplicates() -> None:
    base = "the app crashes every time I open the settings page on my phone"  # 13 words, 9 shingles
    near = base + " today"  # 10 shingles, 9 shared: Jaccard 9/10 = 0.9
    far = "the app crashes every time I open the camera on my tablet"  # 4 of 13 shingles shared: Jaccard 0.31
    train = ["The App crashes, every time I open the settings page on my phone!", far, "unrelated text"]
    assert split_overlap(train, [base, near], n=5) == [(0, 0, "exact"), (0, 1, "near")]
    assert split_overlap([near], [base], n=5, threshold=0.95) == []


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


REPLAY_PROMPT = "Write a short thank-you note to a neighbour who watered your plants while you were away on holiday."
PROBE_PROMPT = ("List three reasons why regular exercise improves sleep quality for adults who work long office "
                "hours. Answer in exactly three bullet points.")


@pytest.fixture
def stage_files(tmp_path: Path) -> dict[str, Path]:
    ge = tmp_path / "tasks"
    _write_jsonl(ge / "hellaswag.jsonl", [{"id": "h0", "context": "A man is washing dishes in the sink and",
                                           "choices": ["a", "b"], "gold": 0}])
    _write_jsonl(ge / "winogrande.jsonl", [{"id": "w0", "contexts": ["Sam gave Pat the keys because Sam left",
                                            "Sam gave Pat the keys because Pat left"], "choices": ["x"], "gold": 1}])
    probe = _write_jsonl(tmp_path / "prompts.jsonl", [
        {"id": "r0", "category": "writing", "prompt": REPLAY_PROMPT, "split": "replay"},
        {"id": "p0", "category": "format", "prompt": PROBE_PROMPT, "split": "probe",
         "constraint": {"type": "bullets", "n": 3}}])
    return {
        "probe": probe,
        "voc": _write_jsonl(tmp_path / "voc_test.jsonl", [{"id": "t0", "text": VOC_COMMENT, "segments": []}]),
        "mmlu": _write_jsonl(tmp_path / "mmlu.jsonl", [{"subject": "bio", "question": MMLU_Q,
                                                        "choices": ["a", "b", "c", "d"], "answer": 1}]),
        "ge": ge, "params": tmp_path / "params.yaml", "out": tmp_path / "clean.jsonl",
        "report": tmp_path / "metrics" / "decontam.json", "hits": tmp_path / "metrics" / "hits.csv",
    }


def _run_stage(f: dict[str, Path], train: list[dict], action: str, ifeval: Path | None = None) -> object:
    f["params"].write_text(f"decontam:\n  action: {action}\n  ngram: 13\n"
                           f"probe:\n  path: {f['probe']}\n  max_new_tokens: 8\n  batch_size: 1\n"
                           f"  ifeval: {{source: {json.dumps(str(ifeval)) if ifeval else 'null'}}}\n")
    train_path = _write_jsonl(f["voc"].parent / "train.jsonl", train)
    args = ["--params", f["params"], "--train", train_path, "--voc-test", f["voc"], "--mmlu-test", f["mmlu"],
            "--tasks", f["ge"], "--probe", f["probe"], "--out", f["out"], "--report", f["report"],
            "--hits", f["hits"]]
    return CliRunner().invoke(stage.main, [str(a) for a in args])


def test_stage_drop_writes_clean_set_report_and_csv(stage_files: dict[str, Path]) -> None:
    train = CLEAN + [row("w", "replay", "Sam gave Pat the keys because Pat left")]
    result = _run_stage(stage_files, train, "drop")
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["id"] for x in stage_files["out"].read_text().splitlines()] == ["c1", "g1"]
    report = json.loads(stage_files["report"].read_text())
    assert report["test_items"] == {"voc": 1, "mmlu": 1, "tasks/hellaswag": 1,
                                    "tasks/winogrande": 2, "probe": 1}
    assert report["hits"]["tasks/winogrande"] == {"exact": 1, "ngram": 0}
    assert list(csv.reader(stage_files["hits"].open()))[1][2:4] == ["tasks/winogrande", "1"]


def test_stage_fail_exits_nonzero_and_writes_header_only_csv_when_clean(stage_files: dict[str, Path]) -> None:
    assert _run_stage(stage_files, CLEAN, "fail").exit_code == 0
    assert stage_files["hits"].read_text().strip() == "train_id,train_source,test_set,test_index,kind,overlap"
    stage_files["out"].unlink()
    result = _run_stage(stage_files, CLEAN + [row("g-bad", "replay", MMLU_Q)], "fail")
    assert result.exit_code == 1 and "g-bad" in result.output
    assert not stage_files["out"].exists() and stage_files["report"].exists()


def test_stage_rejects_bad_params_naming_the_key(stage_files: dict[str, Path]) -> None:
    result = _run_stage(stage_files, CLEAN, "ignore")
    assert result.exit_code == 1 and "decontam.action: unknown action 'ignore'" in result.output
    assert "use one of fail, drop" in result.output and not stage_files["out"].exists()



def test_stage_checks_the_held_out_probe_prompts_not_the_replay_ones(stage_files: dict[str, Path]) -> None:
    """Probe prompts are held out like any test set; replay prompts are training data by design."""
    train = CLEAN + [row("rp", "replay", REPLAY_PROMPT), row("pb", "replay", "Q: " + PROBE_PROMPT.lower())]
    result = _run_stage(stage_files, train, "drop")
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["id"] for x in stage_files["out"].read_text().splitlines()] == ["c1", "g1", "rp"]
    report = json.loads(stage_files["report"].read_text())
    assert report["hits"]["probe"] == {"exact": 1, "ngram": 0} and report["test_items"]["probe"] == 1
    assert list(csv.reader(stage_files["hits"].open()))[1][:4] == ["pb", "replay", "probe", "0"]


def test_stage_refuses_a_missing_tasks_folder(stage_files: dict[str, Path]) -> None:
    """A missing folder would silently check nothing against the task suite."""
    shutil.rmtree(stage_files["ge"])
    result = _run_stage(stage_files, CLEAN, "drop")
    assert result.exit_code == 1 and not stage_files["out"].exists()
    assert str(stage_files["ge"]) in result.output and "Fix:" in result.output and "assets" in result.output


def test_load_test_sets_refuses_an_empty_tasks_folder(stage_files: dict[str, Path]) -> None:
    for task in stage_files["ge"].glob("*.jsonl"):
        task.unlink()
    with pytest.raises(InputError, match="no task file"):
        load_test_sets(stage_files["voc"], stage_files["mmlu"], stage_files["ge"], stage_files["probe"])


IFEVAL_PROMPT = ("Write a short story about a lighthouse keeper who finds a message in a bottle, "
                 "and do not use any commas in your reply.")


def test_stage_checks_ifeval_prompts_where_the_probe_runs_ifeval(stage_files: dict[str, Path]) -> None:
    ifeval = _write_jsonl(stage_files["voc"].parent / "ifeval.jsonl", [
        {"key": 7, "prompt": IFEVAL_PROMPT, "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}])
    train = CLEAN + [row("synth-1", "synth", IFEVAL_PROMPT)]
    assert _run_stage(stage_files, train, "fail").exit_code == 0  # not checked unless probe.ifeval is set
    result = _run_stage(stage_files, train, "drop", ifeval)
    assert result.exit_code == 0, result.output
    report = json.loads(stage_files["report"].read_text())
    assert report["test_items"]["ifeval"] == 1 and report["hits"]["ifeval"]["exact"] == 1
    assert "synth-1" not in stage_files["out"].read_text()
