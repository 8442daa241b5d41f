"""Importers on real-world annotation files (issue 10 section 1): edited contents, key families, leaf descriptions,
prompt wrappers, merged duplicates, and every row accounted for on small fixtures that are always present."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from voc.core.files import read_json, read_jsonl
from voc.core.taxonomy import load_taxonomy
from voc.data.comments import load_comments
from voc.data.prompt import build_messages, system_prompt
from voc.importers.acos import import_acos
from voc.importers.bedrock import import_bedrock
from voc.importers.cli import export_cmd, import_cmd
from voc.importers.common import write_import
from voc.importers.csvfmt import import_csv
from voc.importers.memd import import_memd

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "importers"
REAL_DE = FIX / "bedrock_real_de.jsonl"
SHARED = Path(__file__).resolve().parents[4] / "shared" / "data"
DE_CONTENTS = ["Die Kamera ist super", "Die Nachtsicht ist leider schlecht", "Die App stürtzt ständig ab",
               "Der Versand war schnell", "Der Preis ist okay"]
E4 = {"E1": "L1", "E2": "L2", "E3": "L3", "E4": "L4"}


def bedrock_line(user: str, segments: list[dict]) -> str:
    return json.dumps({"schemaVersion": "bedrock-conversation-2024", "messages": [
        {"role": "user", "content": [{"text": user}]},
        {"role": "assistant", "content": [{"text": json.dumps(segments, ensure_ascii=False)}]}]},
        ensure_ascii=False)


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def keyed(prefix: str, content: str, *labels: str, emotion: str = "negative") -> dict:
    return {"content": content, **{f"{prefix}{i}": v for i, v in enumerate(labels, start=1)}, "emotion": emotion}


# --- the German file: every segment survives import, prepare and an export round trip ---------------------------

def test_real_german_file_keeps_all_five_segments_with_their_content():
    result = import_bedrock([REAL_DE])
    report = result.report()
    assert (report["read"], report["converted"], report["failed"], report["segments"]) == (1, 1, 0, 5)
    comment = result.comments[0]
    assert comment["text"].startswith("Die Kamera ist super, aber")  # the instruction before the marker is gone
    assert [s["content"] for s in comment["segments"]] == DE_CONTENTS  # the annotator's content, as written
    assert {k: report[k] for k in ("content_verbatim", "content_relaxed", "content_fuzzy", "content_not_found")} == {
        "content_verbatim": 3, "content_relaxed": 1, "content_fuzzy": 1, "content_not_found": 0}
    assert report["fuzzy_threshold"] == 0.85 and report["marker_missing"] == 0
    assert [(w["line"], w["kind"]) for w in result.warnings] == [(1, "content_relaxed"), (1, "content_fuzzy")]
    assert all(w["source"] == str(REAL_DE) for w in result.warnings)
    assert "'die App stürzt ständig ab." in result.warnings[1]["detail"]
    assert report["level_keys"] == {str(REAL_DE): {"family": "E", "keys": E4}}
    assert result.taxonomy.descriptions[("Hardware", "Kamera", "Bild", "Nachtsicht")] == "Bildqualität im Dunkeln"


def test_real_german_file_survives_prepare_and_round_trips_through_export(tmp_path):
    write_import(import_bedrock([REAL_DE]), tmp_path / "imported")
    taxonomy = load_taxonomy(tmp_path / "imported" / "taxonomy.csv")
    loaded = load_comments(tmp_path / "imported" / "comments.jsonl", taxonomy)
    assert (loaded.read, len(loaded.accepted), loaded.rejects) == (1, 1, [])
    assert [s["content"] for s in loaded.accepted[0]["segments"]] == DE_CONTENTS
    system = system_prompt(taxonomy)  # as stages/prepare.py builds its records
    records = [{**r, "messages": build_messages(r["text"], system, r["segments"], taxonomy.levels)}
               for r in loaded.accepted]
    write_lines(tmp_path / "train.jsonl", [json.dumps(r, ensure_ascii=False) for r in records])
    res = CliRunner().invoke(export_cmd, ["--format", "bedrock", str(tmp_path / "train.jsonl"), "--level-keys", "E",
                                          "--taxonomy", str(tmp_path / "imported" / "taxonomy.csv"),
                                          "-o", str(tmp_path / "nova.jsonl")])
    assert res.exit_code == 0, res.output
    original = json.loads(REAL_DE.read_text(encoding="utf-8"))["messages"][1]["content"][0]["text"]
    exported = json.loads(read_jsonl(tmp_path / "nova.jsonl")[0]["messages"][1]["content"][0]["text"])
    assert exported == json.loads(original)  # same keys, labels, "Leaf: description" values and contents
    back = import_bedrock([tmp_path / "nova.jsonl"])
    assert [(c["text"], c["segments"]) for c in back.comments] == [(r["text"], r["segments"]) for r in records]
    assert back.taxonomy == taxonomy
    assert back.report()["level_keys"] == {str(tmp_path / "nova.jsonl"): {"family": "E", "keys": E4}}


def test_cli_reports_the_threshold_and_warns_with_file_and_line(tmp_path):
    res = CliRunner().invoke(import_cmd, ["--format", "bedrock", str(REAL_DE), "-o", str(tmp_path),
                                          "--fuzzy-threshold", "0.99"])
    assert res.exit_code == 0, res.output
    report = read_json(tmp_path / "import_report.json")
    assert (report["fuzzy_threshold"], report["content_fuzzy"], report["content_not_found"]) == (0.99, 0, 1)
    assert report["warnings"] == 2 and len(read_jsonl(tmp_path / "warnings.jsonl")) == 2
    assert f"{REAL_DE}:1: segment content 'Die App stürtzt ständig ab'" in res.stderr
    assert "segment content: 3 verbatim, 1 relaxed, 0 fuzzy, 1 not found (fuzzy threshold 0.99)" in res.stdout
    bad = CliRunner().invoke(import_cmd, ["--format", "bedrock", str(REAL_DE), "-o", str(tmp_path),
                                          "--fuzzy-threshold", "0"])
    assert bad.exit_code == 2 and "--fuzzy-threshold" in bad.output


def test_content_not_found_keeps_the_comment_and_its_other_segments(tmp_path):
    path = write_lines(tmp_path / "x.jsonl", [bedrock_line("User comment: The lens fogs up. Great app.", [
        keyed("E", "The screen flickers", "Hardware", "Screen"), keyed("E", "Great app", "Software", "App")])])
    result = import_bedrock([path])
    assert (result.converted, result.failures, len(result.comments[0]["segments"])) == (1, [], 2)
    assert (result.counts["content_not_found"], result.counts["content_verbatim"]) == (1, 1)
    assert result.warnings[0]["kind"] == "content_not_found" and result.warnings[0]["line"] == 1


def test_csv_warns_on_the_row_of_the_edited_segment(tmp_path):
    (tmp_path / "s.csv").write_text('comment_id,text,content,L1,emotion\n'
                                    'c1,"Great battery, but the strap broke.",Great battery,Battery,positive\n'
                                    'c1,"Great battery, but the strap broke.",The strap broke,Strap,negative\n',
                                    encoding="utf-8")
    result = import_csv([tmp_path / "s.csv"])
    assert (result.converted, result.counts["content_verbatim"], result.counts["content_relaxed"]) == (2, 1, 1)
    assert [(w["line"], w["kind"]) for w in result.warnings] == [(3, "content_relaxed")]


# --- level key families ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("family", ["E", "L", "level_", "Level ", "l"])
def test_any_numbered_key_family_maps_to_levels_and_exports_back(tmp_path, family):
    path = write_lines(tmp_path / "f.jsonl", [bedrock_line("User comment: Battery died.",
                                                           [keyed(family, "Battery died", "Device", "Battery")])])
    result = import_bedrock([path])
    assert result.comments[0]["segments"] == [keyed("L", "Battery died", "Device", "Battery")]
    keys = {f"{family}1": "L1", f"{family}2": "L2"}
    assert result.report()["level_keys"] == {str(path): {"family": family, "keys": keys}}
    write_import(result, tmp_path / "imp")
    rec = {**result.comments[0], "messages": build_messages("Battery died.", "sys", result.comments[0]["segments"],
                                                            ("L1", "L2"))}
    write_lines(tmp_path / "train.jsonl", [json.dumps(rec)])
    res = CliRunner().invoke(export_cmd, ["--format", "bedrock", str(tmp_path / "train.jsonl"),
                                          "--level-keys", family, "-o", str(tmp_path / "out.jsonl")])
    assert res.exit_code == 0, res.output
    assert read_jsonl(tmp_path / "out.jsonl")[0]["messages"][1] == json.loads(path.read_text())["messages"][1]


def test_mixed_key_families_fail_the_row_clearly(tmp_path):
    path = write_lines(tmp_path / "m.jsonl", [
        bedrock_line("User comment: Battery died.", [keyed("E", "Battery died", "Device", "Battery")]),
        bedrock_line("User comment: Strap broke.", [keyed("Level ", "Strap broke", "Device", "Strap")]),
        bedrock_line("User comment: Screen cracked.", [keyed("E", "Screen cracked", "Device", "Screen")]),
        bedrock_line("User comment: Too loud.", [{"content": "Too loud", "E1": "Device", "L2": "Speaker",
                                                  "emotion": "negative"}])])
    result = import_bedrock([path])
    assert [(f["line"], f["reason"]) for f in result.failures] == [(2, "mixed_level_keys"), (4, "mixed_level_keys")]
    assert "Level 1..Level n" in result.failures[0]["detail"] and "E1..En" in result.failures[0]["detail"]
    assert result.converted == 2 and result.level_keys == {str(path): {"family": "E", "keys": {"E1": "L1",
                                                                                                "E2": "L2"}}}


def test_export_refuses_a_key_family_import_would_not_read_back(tmp_path):
    (tmp_path / "t.jsonl").write_text("", encoding="utf-8")
    res = CliRunner().invoke(export_cmd, ["--format", "bedrock", str(tmp_path / "t.jsonl"), "--level-keys", "E1",
                                          "-o", str(tmp_path / "o.jsonl")])
    assert res.exit_code == 2 and "label key family 'E1'" in res.output


# --- leaf descriptions and prompt wrappers ----------------------------------------------------------------------

def test_leaf_keeps_its_most_frequent_description_and_counts_the_rest(tmp_path):
    leaf = "Battery: {}"
    path = write_lines(tmp_path / "d.jsonl", [
        bedrock_line(f"User comment: Battery {n}.", [keyed("E", f"Battery {n}", "Device", leaf.format(desc))])
        for n, desc in enumerate(["runs out", "charge and runtime", "charge and runtime", "runs out?"])])
    result = import_bedrock([path])
    assert result.taxonomy.descriptions[("Device", "Battery")] == "charge and runtime"
    assert result.report()["leaf_descriptions_conflicting"] == 2
    assert [(w["line"], w["kind"]) for w in result.warnings] == [(1, "leaf_descriptions_conflicting"),
                                                                 (4, "leaf_descriptions_conflicting")]
    assert "'runs out' on 1 segment(s)" in result.warnings[0]["detail"]


def test_missing_marker_is_warned_per_line_with_the_fix(tmp_path):
    seg = [keyed("E", "Too loud", "Device", "Speaker")]
    path = write_lines(tmp_path / "w.jsonl", [bedrock_line("Label it.\nUser comment: Too loud.", seg),
                                              bedrock_line("Label it.\nKommentar: Too loud.", seg)])
    result = import_bedrock([path])
    assert [c["text"] for c in result.comments] == ["Too loud.", "Label it.\nKommentar: Too loud."]
    assert result.counts["marker_missing"] == 1
    assert [(w["line"], w["kind"]) for w in result.warnings] == [(2, "marker_missing")]
    assert "pass --marker '<the text just before the comment>'" in result.warnings[0]["detail"]
    res = CliRunner().invoke(import_cmd, ["--format", "bedrock", str(path), "-o", str(tmp_path / "o")])
    assert res.exit_code == 0 and f"{path}:2: the user turn has no 'User comment:'" in res.stderr
    plain = import_bedrock([path], marker="")
    assert plain.counts["marker_missing"] == 0 and plain.warnings == []


# --- memd and acos -----------------------------------------------------------------------------------------------

def test_merged_duplicate_segments_are_counted():
    assert import_memd([FIX / "memd" / "Laptop"]).report()["duplicate_segments_merged"] == 1
    assert import_acos([FIX / "laptop_quad_test.tsv"]).report()["duplicate_segments_merged"] == 1
    assert import_memd([FIX / "absa" / "memd" / "Laptop"]).report()["duplicate_segments_merged"] == 1


def _rows(paths: list[Path]) -> int:
    """Source rows as a reader would count them, independent of the importers."""
    return sum(len(read_json(p)) if p.suffix == ".json" else sum(1 for x in p.read_text().splitlines() if x.strip())
               for p in paths)


ABSA = [
    pytest.param(import_memd, [FIX / "absa" / "memd" / "Laptop"], (6, 2), id="memd-fixture"),
    pytest.param(import_acos, sorted((FIX / "absa" / "acos").glob("*.tsv")), (5, 3), id="acos-fixture"),
    pytest.param(import_memd, [SHARED / "memd_absa" / "MEMD_ABSA_Dataset" / "Laptop"], None, id="memd-shared",
                 marks=pytest.mark.skipif(not (SHARED / "memd_absa").is_dir(), reason="../shared not present")),
    pytest.param(import_acos, sorted((SHARED / "acos" / "Laptop-ACOS").glob("*.tsv")), None, id="acos-shared",
                 marks=pytest.mark.skipif(not (SHARED / "acos").is_dir(), reason="../shared not present")),
]


@pytest.mark.parametrize(("importer", "inputs", "expected"), ABSA)
def test_absa_import_accounts_for_every_row(tmp_path, importer, inputs, expected):
    files = [f for p in inputs for f in (sorted(p.glob("*.json")) if p.is_dir() else [p])]
    result = importer(inputs)
    report = write_import(result, tmp_path)
    total = _rows(files)
    assert report["read"] == total and report["converted"] + report["failed"] == total
    assert len(read_jsonl(tmp_path / "failures.jsonl")) == report["failed"]
    if expected:
        assert (report["converted"], report["failed"]) == expected
    assert len({c["id"] for c in result.comments}) == report["converted"]
    assert {c["split"] for c in result.comments} == {"train", "dev", "test"}
    assert load_taxonomy(tmp_path / "taxonomy.csv").leaves == result.taxonomy.leaves
    assert all(s["content"] in c["text"] for c in result.comments for s in c["segments"])
    assert report["content_verbatim"] == report["segments"] and report["warnings"] == 0
