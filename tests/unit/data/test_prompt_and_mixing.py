from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from voc.core.errors import InputError, ParamsError
from voc.core.schema_replay import ReplaySource
from voc.core.taxonomy import Taxonomy, load_taxonomy
from voc.data.mixing import allocate, mix_records, replay_target
from voc.data.prompt import build_messages, grouped, render_taxonomy, system_prompt, target_json
from voc.data.replay import load_json_source, load_replay_prompts, replay_records, to_messages

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "bad_input"


def _src(path: object, kind: str = "json") -> ReplaySource:
    """A replay.sources entry as the schema types it (named `al` for json files, `replay` for prompt files)."""
    return ReplaySource(name="al" if kind == "json" else "replay", kind=kind, path=str(path))


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy(FIX / "taxonomy.csv")


def test_names_rendering_is_a_tree_writing_each_label_once(taxonomy):
    assert render_taxonomy(taxonomy, "names").splitlines() == [
        "App",
        " Login: Password reset | Two-factor",
        " Alerts: Motion",
        "Hardware",
        " Night vision: Infrared",
        " Power: Battery",
        "Delivery",
        " Shipping: Late",
    ]


def test_full_rendering_has_one_line_per_leaf_with_description(taxonomy):
    lines = render_taxonomy(taxonomy, "full").splitlines()
    assert len(lines) == 6
    assert lines[0] == "App > Login > Password reset: Resetting or recovering the account password"


def test_an_unsorted_taxonomy_writes_each_parent_once(tmp_path):
    rows = ["L1,L2,L3,description", "App,Login,Password reset,d1", "Hardware,Power,Battery,d2",
            "App,Alerts,Motion,d3", "App,Login,Two-factor,d4", "Hardware,Night vision,Infrared,d5"]
    (tmp_path / "taxonomy.csv").write_text("\n".join(rows) + "\n")
    tax = load_taxonomy(tmp_path / "taxonomy.csv")
    assert render_taxonomy(tax, "names").splitlines() == [
        "App", " Login: Password reset | Two-factor", " Alerts: Motion",
        "Hardware", " Power: Battery", " Night vision: Infrared"]
    assert [line.split(" > ")[:2] for line in render_taxonomy(tax, "full").splitlines()] == [
        ["App", "Login"], ["App", "Login"], ["App", "Alerts"], ["Hardware", "Power"], ["Hardware", "Night vision"]]


def test_a_sorted_taxonomy_renders_in_row_order():
    demo = load_taxonomy(Path(__file__).resolve().parents[3] / "data" / "raw" / "demo" / "taxonomy.csv")
    assert grouped(demo.leaves) == list(demo.leaves)  # so the demo's prompt is the same as before grouping
    tax = Taxonomy(levels=("L1", "L2"), leaves=(("B", "x"), ("A", "y"), ("B", "z")))
    assert grouped(tax.leaves) == [("B", "x"), ("B", "z"), ("A", "y")]


def test_system_prompt_states_the_rules_and_keys(taxonomy):
    text = system_prompt(taxonomy, "names")
    for words in ("strict customer-experience classifier", "any language", "non-overlapping segments",
                  "using only these labels", '"content", "L1", "L2", "L3", "emotion"',
                  "Taxonomy (L1, L2 indented, L3 after ':')"):
        assert words in text
    with pytest.raises(ValueError, match="prompt.taxonomy"):
        system_prompt(taxonomy, "short")


def test_messages_end_with_the_gold_json(taxonomy):
    seg = {"emotion": "negative", "L3": "Late", "L2": "Shipping", "L1": "Delivery", "content": "Späte Lieferung"}
    msgs = build_messages("Späte Lieferung", "SYS", [seg], taxonomy.levels)
    assert [m["role"] for m in msgs] == ["system", "user", "assistant"]
    assert msgs[2]["content"] == target_json([seg], taxonomy.levels)
    assert list(json.loads(msgs[2]["content"])[0]) == ["content", "L1", "L2", "L3", "emotion"]
    assert "Späte" in msgs[2]["content"]  # non-ASCII kept readable
    assert len(build_messages("x", "SYS")) == 2


def test_replay_target_and_allocation():
    assert replay_target(300, 0.25) == 100  # 300 * 0.25 / 0.75
    assert replay_target(300, 0) == 0
    # exact shares 2.5 / 2.5 / 5: one unit left over, ties broken by name
    assert allocate(10, {"a": 1, "b": 1, "c": 2}) == {"a": 3, "b": 2, "c": 5}
    assert sum(allocate(7, {"a": 0.3, "b": 0.7}).values()) == 7


def _rows(prefix: str, n: int, words: int = 3) -> list[dict]:
    return [{"id": f"{prefix}{i}", "messages": [{"role": "user", "content": " ".join(["w"] * words)}]}
            for i in range(n)]


def test_mix_counts_shares_and_determinism():
    customer = _rows("c", 30)
    replay = {"a": _rows("a", 5), "b": _rows("b", 50)}
    rows, rep = mix_records(customer, replay, {"a": 1, "b": 3}, 0.25, seed=1)
    assert rep["records"] == 40 and rep["replay_record_share"] == 0.25
    assert rep["sources"]["voc"]["records"] == 30
    assert rep["sources"]["a"]["records"] + rep["sources"]["b"]["records"] == 10
    assert rep["sources"]["a"]["unique"] == rep["sources"]["a"]["records"]  # without replacement
    again, _ = mix_records(customer, replay, {"a": 1, "b": 3}, 0.25, seed=1)
    assert list(again) == list(rows)
    other, _ = mix_records(customer, replay, {"a": 1, "b": 3}, 0.25, seed=2)
    assert [r["id"] for r in other] != [r["id"] for r in rows]


def test_mix_zero_is_customer_only_and_overdraw_repeats():
    rows, rep = mix_records(_rows("c", 10), {"a": _rows("a", 2)}, {"a": 1}, 0.0, seed=0)
    assert {r["source"] for r in rows} == {"voc"}
    rows, rep = mix_records(_rows("c", 10), {"a": _rows("a", 2)}, {"a": 1}, 0.5, seed=0)
    assert rep["sources"]["a"] == {**rep["sources"]["a"], "records": 10, "unique": 2}


@pytest.mark.parametrize(("replay", "weights", "error", "words"), [
    ({"a": _rows("a", 5), "b": []}, {"a": 1, "b": 1}, InputError, "replay source 'b' has no rows"),
    ({"a": _rows("a", 5)}, {"a": 1, "b": 1}, InputError, "replay source 'b' has no rows"),
    ({}, {"a": 1}, InputError, "replay source 'a' has no rows"),
    ({"a": _rows("a", 5), "c": _rows("c", 5)}, {"a": 1}, InputError, "holds source 'c', which replay.sources"),
    ({}, {}, ParamsError, "mix=0.25 but replay.sources is empty"),
])
def test_an_empty_or_missing_replay_source_is_an_error_naming_it(replay, weights, error, words):
    with pytest.raises(error, match="Fix: ") as e:
        mix_records(_rows("c", 30), replay, weights, 0.25, seed=1)
    assert words in str(e.value)
    rows, _ = mix_records(_rows("c", 30), replay, weights, 0.0, seed=1)  # mix 0 needs no replay data
    assert len(rows) == 30


def test_mix_by_tokens_counts_tokens():
    customer = _rows("c", 10, words=10)  # 100 tokens
    replay = {"a": _rows("a", 50, words=5)}
    _, rep = mix_records(customer, replay, {"a": 1}, 0.5, seed=0, unit="tokens")
    assert rep["sources"]["a"]["tokens"] == 100 and rep["sources"]["a"]["records"] == 20
    assert rep["replay_token_share"] == 0.5


def _varied(prefix: str, n: int) -> list[dict]:
    return [{"id": f"{prefix}{i}", "messages": [{"role": "user", "content": " ".join(["w"] * (1 + i % 4))}]}
            for i in range(n)]


def test_mix_draws_the_same_rows_as_before_it_kept_only_row_numbers():
    """Same seed, same file: the row-number mix reproduces the row-copying implementation it replaced (whose
    outputs these are), repeats and token budgets included, so the committed demo's mix does not change."""
    rows, rep = mix_records(_rows("c", 6), {"a": _rows("a", 2), "b": _rows("b", 7)}, {"a": 1, "b": 2}, 0.6, seed=3)
    assert [r["id"] for r in rows] == ["b0", "b4", "a0", "b3", "b2", "c0", "c4", "c1", "a1", "b6", "c5", "c2", "a0",
                                       "b1", "c3"]
    assert rows[2] == {"id": "a0", "messages": _rows("a", 1)[0]["messages"], "source": "a"}
    assert rep["sources"]["a"] == {"records": 3, "unique": 2, "available": 2, "tokens": 9, "record_share": 0.2,
                                   "token_share": 0.2}
    rows, rep = mix_records(_varied("c", 5), {"a": _varied("a", 3), "b": _varied("b", 9)}, {"a": 2, "b": 1}, 0.5,
                            seed=5, unit="tokens")
    assert [r["id"] for r in rows] == ["b1", "c2", "a1", "a2", "c1", "c3", "a1", "c0", "a0", "c4", "b2"]
    assert (rep["tokens"], rep["replay_token_share"], rep["sources"]["a"]["unique"]) == (24, 0.5417, 3)


def test_mix_keeps_row_numbers_not_copies_and_counts_each_row_once():
    """Memory follows the output: the mix holds 8 bytes per output row (rows are built when read), and a batch
    token counter sees each drawn replay row once, however often it is drawn."""
    customer, replay = _rows("c", 1000), {"a": _rows("a", 50)}
    seen: list[str] = []

    def count(batch):
        seen.extend(r["id"] for r in batch)
        return [3] * len(batch)

    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    rows, rep = mix_records(customer, replay, {"a": 1}, 0.5, seed=0, count_tokens=count)
    kept = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert len(rows) == 2000 and kept < 16 * len(rows) + 16_000  # copied rows would hold 200+ bytes each
    assert rep["sources"]["a"] == {**rep["sources"]["a"], "records": 1000, "unique": 50, "tokens": 3000}
    assert len(seen) == len(set(seen)) == 1050
    assert rows[0] is not rows[0] and rows[0] == rows[0]  # built on read, never stored


def test_replay_json_sources(tmp_path):
    p = tmp_path / "alpaca.jsonl"
    p.write_text(json.dumps({"instruction": "Add", "input": "2+2", "output": "4"}) + "\n"
                 + json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]})
                 + "\n")
    rows = load_json_source(_src(p))
    assert rows[0]["messages"] == [{"role": "user", "content": "Add\n\n2+2"}, {"role": "assistant", "content": "4"}]
    assert rows[1]["messages"][1]["content"] == "yo" and rows[1]["id"] == "al-00001"
    with pytest.raises(InputError, match="x.json:3: row is neither"):
        to_messages({"question": "?"}, "x.json", 3)


def test_replay_records_skip_empty_answers():
    prompts = [{"id": "p1", "prompt": "Hi"}, {"id": "p2", "prompt": "Yo"}]
    rows = replay_records(_src("p.jsonl", "replay"), prompts, ["Hello!", "  "])
    assert [r["id"] for r in rows] == ["replay-p1"]


def test_replay_json_list_file_names_the_line_of_a_bad_item(tmp_path):
    good = {"instruction": "Add", "output": "4"}
    p = tmp_path / "rows.json"
    p.write_bytes(b"\xef\xbb\xbf[\n" + json.dumps(good).encode() + b",\n" + json.dumps(good).encode() + b"\n]\n")
    assert [r["id"] for r in load_json_source(_src(p))] == ["al-00000", "al-00001"]
    p.write_text("[\n" + json.dumps(good) + ",\n\n[1, 2]\n]")
    with pytest.raises(InputError, match=r"rows.json:4: the item is not a JSON object \(it is an array\)"):
        load_json_source(_src(p))


@pytest.mark.parametrize(("line", "words"), [
    (b"[1, 2]", "not a JSON object (it is an array)"),
    (b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant"}]}', "message 2 has no 'content'"),
    (b'{"messages": ["hi", {"role": "assistant", "content": "yo"}]}', "message 1 is a string, not an object"),
    (b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": " "}]}', "non-empty"),
    (b'{"instruction": "Caf\xe9", "output": "x"}', "not valid UTF-8 (byte 0xe9"),
    (b'{"instruction": "\\ud83d", "output": "x"}', "lone UTF-16 surrogate \\ud83d"),
])
def test_replay_jsonl_source_names_file_and_line(tmp_path, line, words):
    p = tmp_path / "rows.jsonl"
    p.write_bytes(b"\xef\xbb\xbf" + json.dumps({"instruction": "Add", "output": "4"}).encode() + b"\n\n" + line + b"\n")
    with pytest.raises(InputError) as e:
        load_json_source(_src(p))
    assert (e.value.path, e.value.line) == (str(p), 3)
    assert words in e.value.problem and e.value.fix


@pytest.mark.parametrize(("line", "words"), [(b"[1]", "not a JSON object"), (b'{"id": "p2", "prompt": " "}',
                                                                               "prompt 'p2' has no text")])
def test_replay_prompts_name_file_and_line(tmp_path, line, words):
    p = tmp_path / "prompts.jsonl"
    p.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": "p1", "prompt": "Hi"}).encode() + b"\n" + line + b"\n")
    with pytest.raises(InputError) as e:
        load_replay_prompts(_src(p, "replay"), None)
    assert (e.value.line, words in e.value.problem) == (2, True)
    p.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": "p1", "prompt": "Hi"}).encode() + b"\n")
    assert load_replay_prompts(_src(p, "replay"), None) == [{"id": "p1", "prompt": "Hi"}]


def test_the_mix_stage_counts_a_batch_as_it_would_count_each_row(tiny_model_dir):
    """Batched chat-template token counts (the report's tokens) equal the one-row-at-a-time counts sft sees."""
    import importlib.util

    from voc.model.loading import load_tokenizer

    spec = importlib.util.spec_from_file_location("stage_mix", Path(__file__).resolve().parents[3] / "stages/mix.py")
    stage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stage)
    tok = load_tokenizer(tiny_model_dir)
    rows = [{"messages": build_messages(f"Späte Lieferung {'sehr ' * i}", "SYS")} for i in range(5)]
    rows.append({"messages": [{"role": "user", "content": "Hi 😀"}, {"role": "assistant", "content": "Hello"}]})
    one_by_one = [len(tok(tok.apply_chat_template(r["messages"], tokenize=False), add_special_tokens=False)
                      ["input_ids"]) for r in rows]
    assert stage.token_counter(str(tiny_model_dir))(rows) == one_by_one
