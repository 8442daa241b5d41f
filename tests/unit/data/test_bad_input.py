"""The bad-input matrix: every case names the file, the line and the fix; lenient mode accounts for every row.

MMLU-source cases (missing subject, answer out of range, empty choice) live beside their loader in
tests/unit/eval/test_mmlu.py; model-output fuzzing in tests/unit/eval/test_fuzz_outputs.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voc.core.errors import CommentError, InputError, ParamsError, TaxonomyError
from voc.core.files import iter_jsonl
from voc.core.taxonomy import load_taxonomy
from voc.data.comments import load_comments

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "bad_input"


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy(FIX / "taxonomy.csv")


@pytest.mark.parametrize(("fixture", "line", "words"), [
    ("tax_empty.csv", 1, "empty"),
    ("tax_missing_description.csv", 2, "no description"),
    ("tax_duplicate.csv", 4, "duplicate leaf path App/Login/Password reset (first on line 2)"),
    ("tax_ragged.csv", 3, "row has 3 columns, header has 4"),
    ("tax_bad_header.csv", 1, "do not match ['L1', 'L2', 'L3']"),
    ("tax_latin1.csv", 2, "not UTF-8"),
])
def test_taxonomy_errors_name_file_line_and_fix(fixture, line, words):
    with pytest.raises(TaxonomyError) as e:
        load_taxonomy(FIX / fixture)
    msg = str(e.value)
    assert msg.startswith(f"{FIX / fixture}:{line}: ")
    assert words in msg
    assert "Fix: " in msg and e.value.line == line


def test_taxonomy_accepts_bom_and_crlf():
    tax = load_taxonomy(FIX / "tax_bom_crlf.csv")
    assert tax.levels == ("L1", "L2", "L3")
    assert tax.leaves == (("App", "Login", "Password reset"), ("App", "Alerts", "Motion"))


CASES = [
    # fixture, reason, error words, lenient accepted count
    ("c_invalid_json.jsonl", "invalid_json", "invalid JSON", 1),
    ("c_missing_text.jsonl", "missing_text", "has no 'text'", 1),
    ("c_empty_text.jsonl", "empty_text", "empty text", 1),
    ("c_duplicate_id.jsonl", "duplicate_id", "duplicate id 'c1'", 1),
    ("c_unknown_label.jsonl", "unknown_label", "closest valid label: 'Motion'", 1),
    ("c_wrong_level.jsonl", "wrong_level", "'Motion' is a level-L3 label", 1),
    ("c_bad_emotion.jsonl", "bad_emotion", "emotion 'angry'", 1),
    ("c_not_utf8.jsonl", "not_utf8", "the line is not valid UTF-8 (byte 0xe9", 1),
    ("c_not_an_object.jsonl", "not_an_object", "not a JSON object (it is an array)", 1),
    ("c_missing_id.jsonl", "missing_id", "the comment has no id", 1),
    ("c_missing_segments.jsonl", "missing_segments", "comment 'c2' has no 'segments' list", 1),
    ("c_bad_segment.jsonl", "bad_segment", "segment 'Alerts come late.' is not an object", 1),
    ("c_missing_label.jsonl", "missing_label", "segment has no L2 label", 1),
    ("c_missing_content.jsonl", "missing_content", "segment has no content", 1),
    ("c_lone_surrogate.jsonl", "lone_surrogate", "lone UTF-16 surrogate \\ud83d", 1),
    ("c_too_deep.jsonl", "too_deep", "nested too deeply", 1),
    ("c_extra_level.jsonl", "extra_level", "has a L4 label but the taxonomy has 3 levels (L1, L2, L3). Fix: add an L4"
     " column to taxonomy.csv, or remove L4", 1),
]


@pytest.mark.parametrize(("fixture", "reason", "words", "_accepted"), CASES)
def test_comment_errors_strict(taxonomy, fixture, reason, words, _accepted):
    with pytest.raises(CommentError) as e:
        load_comments(FIX / fixture, taxonomy, strict=True)
    assert str(e.value).startswith(f"{FIX / fixture}:2: ")
    assert words in str(e.value) and "Fix: " in str(e.value)


@pytest.mark.parametrize(("fixture", "reason", "words", "accepted"), CASES)
def test_comment_rejects_lenient(taxonomy, fixture, reason, words, accepted):
    res = load_comments(FIX / fixture, taxonomy, strict=False)
    counts = res.counts()
    assert counts["accepted"] + counts["rejected"] == counts["read"] == 2
    assert counts["accepted"] == accepted
    assert [r["reason"] for r in res.rejects] == [reason]
    assert res.rejects[0]["line"] == 2
    assert words in f"{res.rejects[0]['problem']}. Fix: {res.rejects[0]['fix']}"


def test_no_segments_is_an_error_in_strict_and_counted_in_lenient(taxonomy):
    with pytest.raises(CommentError, match="has no segments"):
        load_comments(FIX / "c_no_segments.jsonl", taxonomy, strict=True)
    res = load_comments(FIX / "c_no_segments.jsonl", taxonomy, strict=False)
    assert len(res.accepted) == 2 and res.accepted[1]["segments"] == []
    assert res.counts()["warnings"] == {"no_segments": 1, "content_verbatim": 1, "content_relaxed": 0,
                                        "content_fuzzy": 0, "content_not_found": 0}


def test_content_not_a_span_is_kept_with_a_counted_warning(taxonomy):
    res = load_comments(FIX / "c_not_span.jsonl", taxonomy, strict=True)
    assert len(res.accepted) == 2
    assert res.accepted[1]["segments"][0]["content"] == "The alerts are slow"
    assert (res.warnings["content_not_found"], res.warnings["content_verbatim"]) == (1, 1)


@pytest.mark.parametrize("strict", [True, False])
def test_every_segment_is_kept_and_its_span_outcome_counted_with_file_and_line(taxonomy, strict, caplog):
    path = FIX / "c_content_spans.jsonl"
    res = load_comments(path, taxonomy, strict=strict)
    raw = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["segments"] for r in res.accepted] == [r["segments"] for r in raw]  # annotators' content kept
    counts = res.counts()["warnings"]
    assert counts == {"content_verbatim": 2, "content_relaxed": 1, "content_fuzzy": 1, "content_not_found": 1}
    assert sum(counts.values()) == sum(len(r["segments"]) for r in res.accepted)
    assert [n.split(": ")[0] for n in res.notes] == [f"{path}:2"] * 3
    assert "'alerts come late' is not a verbatim span (relaxed at 21:37" in res.notes[0]
    assert "(fuzzy at 43:76, score 0.9143); kept" in res.notes[1] and "not_found anywhere" in res.notes[2]
    assert res.notes == [r.getMessage() for r in caplog.records if r.name == "voc.data.comments"]


def test_prepare_reports_every_span_outcome_in_data_json(tmp_path):
    """The stage, run on the fixture: the four counts reach metrics/data.json and every segment is kept."""
    import importlib.util

    import yaml
    from click.testing import CliRunner

    root = Path(__file__).resolve().parents[3]
    spec = importlib.util.spec_from_file_location("prepare_stage", root / "stages" / "prepare.py")
    stage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stage)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["data"].update(taxonomy=str(FIX / "taxonomy.csv"), comments=str(FIX / "c_content_spans.jsonl"))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    out = tmp_path / "prepared"
    args = ["--params", tmp_path / "params.yaml", "--out", out, "--metrics", tmp_path / "data.json",
            "--plot", tmp_path / "p.json"]
    result = CliRunner().invoke(stage.main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "data.json").read_text())
    assert {k: v for k, v in data["warnings"].items() if k.startswith("content_")} == {
        "content_verbatim": 2, "content_relaxed": 1, "content_fuzzy": 1, "content_not_found": 1}
    assert data["fuzzy_threshold"] == 0.85  # the param is reported beside the counts it decided
    prepared = [json.loads(line) for name in ("train", "test") for line in (out / f"{name}.jsonl").open()]
    assert sorted(len(r["segments"]) for r in prepared) == [1, 4]


def test_the_fuzzy_threshold_decides_between_fuzzy_and_not_found(taxonomy):
    res = load_comments(FIX / "c_content_spans.jsonl", taxonomy, threshold=0.95)
    assert (res.warnings["content_fuzzy"], res.warnings["content_not_found"]) == (0, 2)


@pytest.mark.parametrize("strict", [True, False])
def test_stray_spaces_capitals_and_unknown_keys_are_repaired_counted_and_named(taxonomy, strict):
    res = load_comments(FIX / "c_repairs.jsonl", taxonomy, strict=strict)
    assert res.accepted[1]["segments"] == [{"content": "Alerts come late.", "L1": "App", "L2": "Alerts",
                                            "L3": "Motion", "emotion": "negative"}]
    assert {k: res.warnings[k] for k in ("label_stripped", "emotion_normalised", "unknown_segment_key")} == {
        "label_stripped": 1, "emotion_normalised": 1, "unknown_segment_key": 1}
    where = f"{FIX / 'c_repairs.jsonl'}:2: "
    assert res.notes == [where + "unknown segment key 'confidence' dropped (known: content, L1, L2, L3, emotion)",
                         where + "L3='Motion ' read as 'Motion' (spaces around a label are ignored)",
                         where + "emotion 'Negative' read as 'negative'"]


def test_warnings_of_a_rejected_comment_are_not_counted(taxonomy, tmp_path):
    seg = {"content": "x", "L1": "App ", "L2": "Alerts", "L3": "Motion", "emotion": "Negative", "note": 1}
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"id": "a", "text": "Alerts.", "segments": [seg, {**seg, "L3": "Nope"}]}) + "\n")
    res = load_comments(path, taxonomy, strict=False)
    assert [r["reason"] for r in res.rejects] == ["unknown_label"] and res.notes == []
    assert sum(res.warnings.values()) == 0


def test_one_megabyte_comment_is_truncated_and_counted(taxonomy, tmp_path):
    text = "I could not reset my password. " + "blah " * 210_000 + "Alerts stopped at the very end."
    row = {"id": "big", "text": text, "segments": [
        {"content": "I could not reset my password.", "L1": "App", "L2": "Login", "L3": "Password reset",
         "emotion": "negative"},
        {"content": "Alerts stopped at the very end.", "L1": "App", "L2": "Alerts", "L3": "Motion",
         "emotion": "neutral"}]}
    path = tmp_path / "big.jsonl"
    path.write_text(json.dumps(row) + "\n")
    assert path.stat().st_size > 1_000_000
    res = load_comments(path, taxonomy, strict=True, max_chars=2000)
    assert len(res.accepted[0]["text"]) == 2000
    assert res.warnings["truncated"] == 1 and res.warnings["segments_cut_by_truncation"] == 1
    assert len(res.accepted[0]["segments"]) == 1


def _long_comment(tmp_path, content: str) -> tuple:
    text = "I could not reset my password, really. " + "blah " * 1000
    seg = {"content": content, "L1": "App", "L2": "Login", "L3": "Password reset", "emotion": "negative"}
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps({"id": "long", "text": text, "segments": [seg]}) + "\n")
    return path, text


def test_a_located_span_inside_the_cut_survives_truncation(taxonomy, tmp_path):
    path, _ = _long_comment(tmp_path, "i could NOT reset my password")  # relaxed: not `in text`, but located
    res = load_comments(path, taxonomy, strict=True, max_chars=100)
    assert len(res.accepted[0]["segments"]) == 1
    assert (res.warnings["segments_cut_by_truncation"], res.warnings["content_relaxed"]) == (0, 1)


@pytest.mark.parametrize("content", ["blah blah blah blah", "no such words anywhere"])
def test_a_comment_whose_segments_all_fall_past_the_cut_never_becomes_nothing_to_report(taxonomy, tmp_path,
                                                                                          content):
    path, text = _long_comment(tmp_path, content)
    needed = text.find(content) + len(content) if content in text else len(text)
    with pytest.raises(CommentError, match=rf"{path}:1: all 1 segments lie past prepare.max_chars=10 .*"
                       rf"Fix: raise prepare.max_chars to at least {needed}"):
        load_comments(path, taxonomy, strict=True, max_chars=10)
    res = load_comments(path, taxonomy, strict=False, max_chars=10)
    assert res.accepted == [] and [r["reason"] for r in res.rejects] == ["all_segments_truncated"]
    assert "truncated" not in res.warnings


def test_user_jsonl_reader_accepts_a_bom_and_names_bad_lines(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"a": 1}\r\n\n{"b": 2}\n')
    assert list(iter_jsonl(path, "fix")) == [(1, {"a": 1}), (3, {"b": 2})]
    for line, problem in [(b'{"a": "\xff"}', "not valid UTF-8 (byte 0xff"), (b"[1]", "not a JSON object"),
                          (b"[" * 5000, "nested too deeply"), (b'{"a": "\\udc00"}', "lone UTF-16 surrogate")]:
        path.write_bytes(b'{"a": 1}\n' + line + b"\n")
        with pytest.raises(InputError) as e:
            list(iter_jsonl(path, "fix"))
        assert (e.value.path, e.value.line) == (str(path), 2) and problem in e.value.problem and e.value.fix


@pytest.mark.parametrize(("mix", "words"), [(1, "out of range (it must be less than 1)"),
                                             (-0.1, "out of range (it must be greater than or equal to 0)"),
                                             ("'0.25'", "is not a number"), ("true", "is not a number"),
                                             ("null", "is not a number")])
def test_bad_mix_values(tmp_path, mix, words):
    from voc.core.params import load_params

    (tmp_path / "params.yaml").write_text(f"seed: 1\nmix: {mix}\n")
    with pytest.raises(ParamsError, match="Fix: ") as e:
        load_params(tmp_path / "params.yaml", "mix")
    assert words in str(e.value) and str(e.value).startswith(f"{tmp_path / 'params.yaml'}:2: mix=")


def test_unknown_replay_kind(tmp_path):
    from voc.core.params import load_params

    (tmp_path / "params.yaml").write_text("replay:\n  sources: [{name: x, kind: ftp, path: a}]\n"
                                          "  generate: {max_new_tokens: 8, batch_size: 1}\n")
    with pytest.raises(ParamsError, match="unknown kind 'ftp'.*Fix: use one of replay, json, hf"):
        load_params(tmp_path / "params.yaml", "replay")


@pytest.mark.parametrize(("change", "words"), [
    (lambda p: p["model"].update(source=None), "model.source"),
    (lambda p: p["model"].update(source="ftp://x"), "model.source"),
    (lambda p: p.update(mix=1), "mix=1"),
    (lambda p: p["replay"]["sources"][0].update(kind="s3"), "unknown kind 's3'"),
    (lambda p: p["sft"].update(method="qlora"), "sft.method"),
    (lambda p: p["decontam"].update(action="warn"), "decontam.action"),
])
def test_whole_params_file_is_checked_before_any_stage_runs(tmp_path, change, words):
    import yaml

    from voc.core.params import load_params

    params = yaml.safe_load((Path(__file__).resolve().parents[3] / "params.yaml").read_text())
    change(params)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    with pytest.raises(ParamsError, match="Fix: ") as e:
        load_params(path)
    assert words in str(e.value)
