"""Importers and the Bedrock exporter: fixtures convert to hand-checked canonical rows, every failure has a reason."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from voc.core.errors import CommentError
from voc.core.files import read_json, read_jsonl
from voc.core.taxonomy import Taxonomy, load_taxonomy, write_taxonomy
from voc.data.prompt import build_messages, system_prompt
from voc.importers.acos import import_acos
from voc.importers.bedrock import comment_text, import_bedrock
from voc.importers.cli import export_cmd, import_cmd
from voc.importers.common import readable, split_leaf, write_import
from voc.importers.csvfmt import import_csv
from voc.importers.export import export_bedrock, to_bedrock
from voc.importers.memd import import_memd

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "importers"


def seg(content: str, *labels: str, emotion: str) -> dict:
    return {"content": content, **{f"L{i}": v for i, v in enumerate(labels, start=1)}, "emotion": emotion}


def reasons(result) -> dict[int, str]:
    return {f["line"]: f["reason"] for f in result.failures}


# --- bedrock -------------------------------------------------------------------------------------------------

GERMAN = ("Die Kamera ist super, aber die Nachtsicht ist schlecht. Die App stürzt ständig ab. "
          "Der Versand war schnell. Preis ist okay.")


def test_bedrock_converts_german_comment_with_five_segments_and_splits_descriptions():
    result = import_bedrock([FIX / "bedrock_good.jsonl"])
    assert (result.read, result.converted, result.failures) == (2, 2, [])
    assert result.comments[0] == {"id": "bedrock-good-00001", "text": GERMAN, "segments": [
        seg("Die Kamera ist super", "Hardware", "Camera", "Image", "Image quality", emotion="positive"),
        seg("aber die Nachtsicht ist schlecht", "Hardware", "Camera", "Image", "Night vision", emotion="negative"),
        seg("Die App stürzt ständig ab", "Software", "App", "Stability", "Crashes", emotion="negative"),
        seg("Der Versand war schnell", "Service", "Delivery", "Speed", "Shipping time", emotion="positive"),
        seg("Preis ist okay", "Commercial", "Pricing", "Value", "Price level", emotion="neutral")]}
    # second record: fenced JSON, "Positive" normalised, leaf without a description
    assert result.comments[1]["segments"] == [
        seg("Setup took two minutes", "Software", "App", "Onboarding", "Setup", emotion="positive"),
        seg("Night vision is blurry", "Hardware", "Camera", "Image", "Night vision", emotion="negative")]
    tax = result.taxonomy
    assert tax.levels == ("L1", "L2", "L3", "L4") and len(tax.leaves) == 6
    assert tax.descriptions[("Hardware", "Camera", "Image", "Night vision")] == "image quality in the dark"


def test_bedrock_failure_lines_each_carry_a_reason():
    result = import_bedrock([FIX / "bedrock_bad.jsonl"])
    assert (result.read, result.converted) == (7, 0)  # line 7 is blank: not a row
    assert reasons(result) == {1: "bad_json", 2: "missing_assistant_turn", 3: "unparseable_segments",
                               4: "mixed_level_keys", 5: "unknown_emotion", 6: "wrong_schema_version",
                               8: "unparseable_segments"}
    assert all(f["source"].endswith("bedrock_bad.jsonl") and f["raw"] and f["detail"] for f in result.failures)


def test_bedrock_marker_is_configurable_and_optional():
    assert comment_text("Classify.\nUser comment: Too loud. ", "User comment:") == "Too loud."
    assert comment_text("Kommentar >> Zu laut.", "Kommentar >>") == "Zu laut."
    assert comment_text("Too loud.", "User comment:") == "Too loud."  # no marker: whole turn


def test_bedrock_accepts_l_keys(tmp_path):
    rec = {"schemaVersion": "bedrock-conversation-2024", "messages": [
        {"role": "user", "content": [{"text": "Battery died."}]},
        {"role": "assistant", "content": [{"text": json.dumps(
            [{"content": "Battery died", "L1": "Device", "L2": "Battery: charge and runtime",
              "emotion": "negative"}])}]}]}
    (tmp_path / "l.jsonl").write_text(json.dumps(rec) + "\n", encoding="utf-8")
    result = import_bedrock([tmp_path / "l.jsonl"])
    assert result.comments[0]["segments"] == [seg("Battery died", "Device", "Battery", emotion="negative")]
    assert result.taxonomy.descriptions[("Device", "Battery")] == "charge and runtime"


def test_bedrock_validates_against_a_given_taxonomy():
    given = Taxonomy(levels=("L1", "L2", "L3", "L4"),
                     leaves=(("Hardware", "Camera", "Image", "Night vision"),
                             ("Software", "App", "Onboarding", "Setup")),
                     descriptions={("Hardware", "Camera", "Image", "Night vision"): "dark images",
                                   ("Software", "App", "Onboarding", "Setup"): "pairing"})
    result = import_bedrock([FIX / "bedrock_good.jsonl"], taxonomy=given)
    assert [c["id"] for c in result.comments] == ["bedrock-good-00002"]
    assert reasons(result) == {1: "unknown_label"}
    assert "L4 'Image quality' is unknown (closest: 'Night vision')" in result.failures[0]["detail"]
    assert result.taxonomy is given  # the given taxonomy is written, descriptions from data are not used


# --- writer and CLI ------------------------------------------------------------------------------------------

def test_write_import_outputs_load_and_counts_add_up(tmp_path):
    result = import_bedrock([FIX / "bedrock_good.jsonl", FIX / "bedrock_bad.jsonl"])
    report = write_import(result, tmp_path)
    assert load_taxonomy(tmp_path / "taxonomy.csv").leaves == result.taxonomy.leaves
    assert read_jsonl(tmp_path / "comments.jsonl") == result.comments
    assert len(read_jsonl(tmp_path / "failures.jsonl")) == 7
    assert read_jsonl(tmp_path / "warnings.jsonl") == []
    assert read_json(tmp_path / "import_report.json") == report
    assert (report["read"], report["converted"], report["failed"]) == (9, 2, 7)
    assert report["failed_by_reason"]["unparseable_segments"] == 2


def test_import_cli_prints_counts_per_reason(tmp_path):
    out = tmp_path / "out"
    res = CliRunner().invoke(import_cmd, ["--format", "bedrock", str(FIX / "bedrock_good.jsonl"),
                                          str(FIX / "bedrock_bad.jsonl"), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "converted 2 of 9 records" in res.output and "bad_json: 1" in res.output
    assert len(read_jsonl(out / "comments.jsonl")) == 2


def test_import_cli_fails_when_nothing_converts_and_refuses_unused_options(tmp_path):
    runner = CliRunner()
    res = runner.invoke(import_cmd, ["--format", "bedrock", str(FIX / "bedrock_bad.jsonl"), "-o", str(tmp_path)])
    assert res.exit_code == 1 and "nothing was converted" in res.output
    assert len(read_jsonl(tmp_path / "failures.jsonl")) == 7  # still written, to debug from
    res = runner.invoke(import_cmd, ["--format", "csv", str(FIX / "segments.csv"), "-o", str(tmp_path),
                                     "--domain", "X"])
    assert res.exit_code == 2 and "--domain" in res.output


# --- bedrock export round trip -------------------------------------------------------------------------------

def prepared_records() -> tuple[Taxonomy, list[dict]]:
    tax = Taxonomy(levels=("L1", "L2", "L3"),
                   leaves=(("Hardware", "Camera", "Night vision"), ("Software", "App", "Crashes")),
                   descriptions={("Hardware", "Camera", "Night vision"): "image quality in the dark",
                                 ("Software", "App", "Crashes"): "the app closes or freezes"})
    system = system_prompt(tax)
    rows = [("r1", "Nachtsicht schlecht. App stürzt ab.",
             [seg("Nachtsicht schlecht", "Hardware", "Camera", "Night vision", emotion="negative"),
              seg("App stürzt ab", "Software", "App", "Crashes", emotion="negative")]),
            ("r2", "Thanks!", [])]
    return tax, [{"id": i, "text": t, "segments": s, "messages": build_messages(t, system, s, tax.levels)}
                 for i, t, s in rows]


def test_export_writes_bedrock_records_in_the_expected_shape():
    tax, records = prepared_records()
    out = to_bedrock(records[0], descriptions=tax.descriptions)
    assert out["schemaVersion"] == "bedrock-conversation-2024"
    assert out["messages"][0] == {"role": "user", "content": [{"text": "User comment: " + records[0]["text"]}]}
    answer = json.loads(out["messages"][1]["content"][0]["text"])
    assert answer[0] == {"content": "Nachtsicht schlecht", "E1": "Hardware", "E2": "Camera",
                         "E3": "Night vision: image quality in the dark", "emotion": "negative"}
    system = out["system"][0]["text"]
    assert '"content", "E1", "E2", "E3", "emotion"' in system and '"L1"' not in system


def test_export_then_import_gives_the_same_comments_and_labels(tmp_path):
    tax, records = prepared_records()
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                                          encoding="utf-8")
    write_taxonomy(tmp_path / "taxonomy.csv", tax)
    res = CliRunner().invoke(export_cmd, ["--format", "bedrock", str(tmp_path / "train.jsonl"), "-o",
                                          str(tmp_path / "nova.jsonl"), "--taxonomy", str(tmp_path / "taxonomy.csv")])
    assert res.exit_code == 0 and "exported 2 records" in res.output
    back = import_bedrock([tmp_path / "nova.jsonl"])
    assert back.failures == []
    assert [(c["text"], c["segments"]) for c in back.comments] == [(r["text"], r["segments"]) for r in records]
    assert back.taxonomy.leaves == tax.leaves and back.taxonomy.descriptions == tax.descriptions


def test_export_refuses_a_leaf_that_would_split(tmp_path):
    _, records = prepared_records()
    records[0]["segments"][0]["L3"] = "Night: vision"
    (tmp_path / "train.jsonl").write_text(json.dumps(records[0]) + "\n", encoding="utf-8")
    with pytest.raises(CommentError, match=r"train.jsonl:1: .*': '"):
        export_bedrock(tmp_path / "train.jsonl", tmp_path / "out.jsonl")


# --- csv -----------------------------------------------------------------------------------------------------

def test_csv_groups_rows_into_comments_and_fails_whole_comments():
    result = import_csv([FIX / "segments.csv"])
    assert result.comments == [
        {"id": "c1", "text": "Great battery, but the strap broke.", "segments": [
            seg("Great battery", "Device", "Battery", emotion="positive"),
            seg("the strap broke", "Device", "Strap", emotion="negative")]},
        {"id": "c2", "text": "Thanks!", "segments": []},
        {"id": "c5", "text": "Support answered fast.",
         "segments": [seg("Support answered fast", "Service", "Support", emotion="neutral")]}]
    assert reasons(result) == {5: "unknown_emotion", 6: "comment_has_failed_row", 7: "bad_row",
                               9: "text_mismatch", 10: "text_mismatch"}
    assert (result.read, result.converted, len(result.failures)) == (9, 4, 5)


def test_csv_bad_header_names_the_file_and_the_fix(tmp_path):
    (tmp_path / "x.csv").write_text("id,text,content,L1,emotion\n", encoding="utf-8")
    with pytest.raises(CommentError, match=r"x.csv:1: .*Fix: write the header comment_id"):
        import_csv([tmp_path / "x.csv"])


# --- memd and acos -------------------------------------------------------------------------------------------

def test_readable_names_are_deterministic():
    assert readable("HARD_DISC") == "Hard disc"
    assert readable("FANS&COOLING") == "Fans & cooling"
    assert readable("Style_Options") == "Style options"
    assert readable("OS") == "OS" and readable("pair") == "Pair"
    assert split_leaf("Night vision: image quality: dark") == ("Night vision", "image quality: dark")


def test_memd_fixture_converts_to_expected_rows():
    result = import_memd([FIX / "memd" / "Laptop"])
    lap = "Laptop"
    assert result.comments == [
        {"id": "laptop-test-00001", "text": "the os is slow to update .", "split": "test",
         "segments": [seg("os", lap, "OS", "Operation performance", emotion="negative")]},
        {"id": "laptop-train-00001", "text": "the battery lasts all day .", "split": "train",  # duplicate dropped
         "segments": [seg("battery", lap, "Battery", "Operation performance", emotion="positive")]},
        {"id": "laptop-train-00002", "text": "it boots in seconds , love it !", "split": "train", "segments": [
            seg("love", lap, "Laptop", "Operation performance", emotion="positive"),  # implicit aspect
            seg("it boots in seconds , love it !", lap, "Hard disc", "General", emotion="neutral")]},  # both implicit
        {"id": "laptop-train-00003", "text": "the keyboard feels cheap .", "split": "train",
         "segments": [seg("keyboard", lap, "Keyboard", "Quality", emotion="negative")]}]
    assert [(Path(f["source"]).name, f["line"], f["reason"]) for f in result.failures] == [
        ("Test.json", 2, "span_term_mismatch"), ("Train.json", 4, "span_out_of_range"),
        ("Train.json", 5, "unknown_sentiment"), ("Train.json", 6, "bad_category")]
    assert result.read == 8


def test_memd_refuses_id_clashes(tmp_path):
    for name in ("A", "B"):
        shutil.copytree(FIX / "memd" / "Laptop", tmp_path / name)
    assert len(import_memd([tmp_path / "A", tmp_path / "B"]).comments) == 8  # domains A and B: distinct ids
    with pytest.raises(CommentError, match="would clash"):
        import_memd([tmp_path / "A", tmp_path / "B"], domain="Laptop")


def test_acos_fixture_converts_to_expected_rows_and_domain_flag():
    result = import_acos([FIX / "laptop_quad_test.tsv"])
    assert result.comments == [
        {"id": "laptop-test-00001", "text": "the screen is bright and sharp .", "split": "test",
         "segments": [seg("screen", "Laptop", "Display", "Quality", emotion="positive")]},
        {"id": "laptop-test-00002", "text": "it took forever to arrive .", "split": "test",
         "segments": [seg("forever", "Laptop", "Shipping", "General", emotion="negative")]},
        {"id": "laptop-test-00003", "text": "works fine i guess .", "split": "test",
         "segments": [seg("works fine i guess .", "Laptop", "Laptop", "General", emotion="neutral")]}]
    assert reasons(result) == {5: "bad_quadruple", 6: "unknown_sentiment", 7: "span_out_of_range", 8: "bad_span"}
    renamed = import_acos([FIX / "laptop_quad_test.tsv"], domain="Notebooks")
    assert renamed.comments[0]["id"] == "notebooks-test-00001"
    assert {leaf[0] for leaf in renamed.taxonomy.leaves} == {"Notebooks"}


def test_bedrock_reads_through_the_one_user_jsonl_reader(tmp_path):
    """A BOM is fine and a non-UTF-8 line fails only its own row (it used to abort the whole file)."""
    good = (FIX / "bedrock_good.jsonl").read_bytes().splitlines()[0]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + good + b"\n" + b'{"schemaVersion": "caf\xe9"}\n' + b"[1, 2]\n")
    result = import_bedrock([path])
    assert (result.read, result.converted) == (3, 1)
    assert reasons(result) == {2: "not_utf8", 3: "not_an_object"}
    assert "re-save the file as UTF-8" in result.failures[0]["detail"]


@pytest.mark.parametrize("kind", ["csv", "memd", "acos"])
def test_file_importers_accept_a_bom_and_name_the_line_of_a_bad_byte(tmp_path, kind):
    """CSV, MEMD and ACOS decode like every other user file: a BOM is fine, a bad byte is named by its line."""
    src = {"csv": FIX / "segments.csv", "memd": FIX / "memd" / "Laptop" / "Test.json",
           "acos": FIX / "laptop_quad_test.tsv"}[kind]
    load = {"csv": import_csv, "memd": import_memd, "acos": import_acos}[kind]
    name = {"csv": "x.csv", "memd": "Test.json", "acos": "laptop_quad_test.tsv"}[kind]
    raw = src.read_bytes()
    (tmp_path / "bom").mkdir()
    (tmp_path / "bom" / name).write_bytes(b"\xef\xbb\xbf" + raw)
    with_bom, plain = load([tmp_path / "bom" / name]), load([src])
    texts = [[c["text"], [seg["content"] for seg in c["segments"]]] for c in with_bom.comments]
    assert texts == [[c["text"], [seg["content"] for seg in c["segments"]]] for c in plain.comments]
    assert with_bom.read == plain.read and not with_bom.comments[0]["text"].startswith("\ufeff")
    lines = raw.split(b"\n")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / name).write_bytes(b"\n".join([*lines[:2], lines[2] + b"\xe9", *lines[3:]]))
    with pytest.raises(CommentError, match=rf"{name}:3: the file is not valid UTF-8"):
        load([tmp_path / "bad" / name])


def test_memd_too_deep_file_is_a_clear_error(tmp_path):
    path = tmp_path / "Test.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(CommentError, match="nested too deeply"):
        import_memd([path])
