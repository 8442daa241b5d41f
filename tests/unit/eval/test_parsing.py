"""parse_output and normalize_labels on well-formed and malformed model outputs."""

from __future__ import annotations

import json

import pytest

import voc.eval.parsing
from voc.core.taxonomy import Taxonomy
from voc.eval.parsing import MAX_CHARS, _parse, normalize_labels, parse_output

LEVELS = ("L1", "L2")
SEG = {"content": "login fails", "L1": "App", "L2": "Login", "emotion": "negative"}
SEG2 = {"content": "staff rude", "L1": "Store", "L2": "Staff", "emotion": "negative"}
TAX = Taxonomy(levels=LEVELS, leaves=(("App", "Login"), ("App", "Speed"), ("Store", "Staff")))


def test_clean_list_is_ok():
    res = parse_output(json.dumps([SEG, SEG2]), LEVELS)
    assert (res.segments, res.status, res.json_valid, res.schema_complete) == ([SEG, SEG2], "ok", True, True)


def test_code_fence_is_stripped_before_the_validity_check():
    res = parse_output(f"```json\n{json.dumps([SEG])}\n```", LEVELS)
    assert (res.segments, res.status, res.json_valid) == ([SEG], "ok", True)


def test_unclosed_fence_runs_to_the_end():
    res = parse_output(f"```\n{json.dumps([SEG])}", LEVELS)
    assert res.segments == [SEG] and res.json_valid


def test_prose_around_json_is_repaired():
    raw = f"Sure! I found [2] issues:\n{json.dumps([SEG, SEG2])}\nHope this helps."
    res = parse_output(raw, LEVELS)
    assert (res.segments, res.status, res.json_valid, res.schema_complete) == ([SEG, SEG2], "repaired", False, True)


def test_single_object_is_wrapped():
    res = parse_output(json.dumps(SEG), LEVELS)
    assert (res.segments, res.status, res.json_valid) == ([SEG], "repaired", True)


def test_wrapper_object_is_unwrapped():
    res = parse_output(json.dumps({"segments": [SEG]}), LEVELS)
    assert (res.segments, res.status) == ([SEG], "repaired")


def test_truncated_json_keeps_complete_objects():
    full = json.dumps([SEG, SEG2])
    cut = full[: full.index("Staff")]  # stops inside the second object
    res = parse_output(cut, LEVELS)
    assert (res.segments, res.status, res.json_valid, res.schema_complete) == ([SEG], "repaired", False, True)


def test_truncated_first_object_is_invalid():
    res = parse_output(json.dumps([SEG])[:20], LEVELS)
    assert (res.segments, res.status, res.json_valid, res.schema_complete) == ([], "invalid", False, False)


def test_extra_keys_dropped_and_keys_matched_case_insensitively():
    raw = json.dumps([{"Content": "x", "l1": "App", "L2": "Login", "EMOTION": "neutral", "confidence": 0.9}])
    res = parse_output(raw, LEVELS)
    assert res.segments == [{"content": "x", "L1": "App", "L2": "Login", "emotion": "neutral"}]
    assert list(res.segments[0]) == ["content", "L1", "L2", "emotion"]


def test_non_string_values_stringified_or_dropped():
    # numbers/bools -> JSON spelling; null, lists, objects and "" -> missing (so the schema is incomplete)
    raw = json.dumps([{"content": 5, "L1": True, "L2": None, "emotion": ["negative"]}, {"L1": "", "L2": {}}])
    res = parse_output(raw, LEVELS)
    assert res.segments == [{"content": "5", "L1": "true"}]
    assert res.status == "repaired" and not res.schema_complete  # the second object had nothing usable


def test_junk_items_in_list_are_dropped():
    res = parse_output(json.dumps([1, "x", SEG, [SEG2]]), LEVELS)
    assert (res.segments, res.status, res.schema_complete) == ([SEG], "repaired", False)


@pytest.mark.parametrize("raw", ["", "   \n", "I cannot classify this.", "null", '"text"', "[1, 2]", "{}"])
def test_outputs_without_segments_are_invalid(raw):
    res = parse_output(raw, LEVELS)
    assert (res.segments, res.status, res.schema_complete) == ([], "invalid", False)


def test_empty_list_is_a_valid_empty_answer():
    res = parse_output("[]", LEVELS)
    assert (res.segments, res.status, res.json_valid, res.schema_complete) == ([], "ok", True, True)


def test_bytes_never_raise():
    assert parse_output(b"\xff\xfe" + json.dumps([SEG]).encode(), LEVELS).segments == [SEG]


@pytest.mark.parametrize(("raw", "segments"), [
    ("[" * 200_000 + "]" * 200_000, []),
    ('{"a":' * 100_000, []),
    ('[{"content": "x", "L1": ' + "[" * 100_000, []),
    (json.dumps([SEG])[:-1] + ", " + "[" * 100_000 + "]" * 100_000 + "]", [SEG]),
])
def test_deep_nesting_is_handled_by_the_parser_itself(raw, segments):
    deep = _parse(raw, LEVELS)  # the inner parser: a RecursionError here would only be hidden by the catch-all
    assert (deep.segments, deep.status) == (segments, "repaired" if segments else "invalid")
    assert parse_output(raw, LEVELS) == deep


def test_a_parser_bug_is_counted_apart_from_invalid_output(monkeypatch, caplog):
    def broken(raw, levels):
        raise KeyError("bug")

    monkeypatch.setattr(voc.eval.parsing, "_parse", broken)
    res = parse_output(json.dumps([SEG]), LEVELS)
    assert (res.segments, res.status, res.json_valid) == ([], "parser_error", False)
    assert "parser_error" in caplog.text and "KeyError('bug')" in caplog.text


@pytest.mark.parametrize("raw", ['[{"content": "login fails \\ud83d", "L1": "App", "L2": "Login", "emotion": "x"}]',
                                 '[{"content": "login fails \ud83d", "L1": "App", "L2": "Login", "emotion": "x"}]',
                                 '[{"content": "login fails", "L1": "App", "L2": "Login", "note": "\ud83d"}]'])
def test_an_output_with_a_lone_surrogate_is_never_ok_and_its_segments_are_clean(raw):
    res = parse_output(raw, LEVELS)
    assert res.status == "repaired" and res.json_valid
    assert res.segments[0]["content"] in {"login fails \ufffd", "login fails"}
    json.dumps(res.segments, ensure_ascii=False).encode("utf-8")  # writable as UTF-8


def test_only_the_first_64kb_is_examined():
    raw = "x" * MAX_CHARS + json.dumps([SEG])
    assert parse_output(raw, LEVELS).status == "invalid"
    assert parse_output("x" * (MAX_CHARS - 200) + json.dumps([SEG]), LEVELS).segments == [SEG]


def test_normalize_labels_fixes_case_and_whitespace_only():
    segs = [{"L1": " app ", "L2": "LOGIN", "emotion": "Negative"}, {"L1": "Shop", "L2": "Staff", "emotion": "neutral"}]
    fixed, changed = normalize_labels(segs, TAX)
    assert fixed == [{"L1": "App", "L2": "Login", "emotion": "negative"},
                     {"L1": "Shop", "L2": "Staff", "emotion": "neutral"}]
    assert changed == 3  # App, Login, negative; "Shop" has no case-insensitive match
    assert segs[0]["L1"] == " app "  # input untouched


def test_normalize_labels_leaves_ambiguous_names_alone():
    tax = Taxonomy(levels=("L1",), leaves=(("App",), ("APP",)))
    fixed, changed = normalize_labels([{"L1": "app"}], tax)
    assert (fixed, changed) == ([{"L1": "app"}], 0)

