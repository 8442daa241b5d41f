"""The JSON-array early stop ends a reply only where a complete array that opened the reply closes."""

from __future__ import annotations

import pytest

from voc.model.stopping import ArrayEnd, eos_ids, reply_end_ids, token_texts


def closes_after(pieces: list[str]) -> int | None:
    """How many pieces the watcher reads before it says the array closed (None: never)."""
    watcher = ArrayEnd()
    for i, piece in enumerate(pieces):
        if watcher.feed(piece):
            return i + 1
    return None


@pytest.mark.parametrize(("pieces", "expected"), [
    (["[", '{"content": "a"', "}", "]", " tail"], 4),
    (["\n ", "[]"], 2),  # leading blanks are skipped; an empty array closes at once
    (['[{"content": "x ] y }', ' [ {"', "}]", " more"], 3),  # brackets inside strings do not count
    (['[{"content": "say \\"]\\" now"}', "]"], 2),  # escaped quotes stay inside the string
    (['[{"L1": [1, [2]]}]', "]"], 1),  # nested arrays: only the outer close ends it
    (["Here is the JSON: [", "]"], None),  # prose first: never stopped early
    (["```json\n[", "]", "\n```"], None),  # a code fence first: never stopped early
    (["[", "{", "]", "}", "]"], None),  # mismatched brackets: left to EOS or max_new_tokens
    (["[", '{"a": 1}', ","], None),  # not closed yet
])
def test_array_end(pieces, expected):
    assert closes_after(pieces) == expected


def test_the_close_can_share_a_token_with_what_follows():
    assert closes_after(['[{"a": "b"}', "]\n", "x"]) == 2


def test_token_texts_reads_special_tokens_as_nothing(tiny_model_dir):
    from voc.model.loading import load_tokenizer

    tok = load_tokenizer(tiny_model_dir)
    text = token_texts(tok)
    bracket = tok("]", add_special_tokens=False)["input_ids"]
    assert len(bracket) == 1 and text(bracket[0]) == "]"
    assert text(tok.eos_token_id) == ""


def test_eos_ids_and_reply_end_ids(tiny_model_dir):
    from voc.model.loading import load_model

    model, tok = load_model(tiny_model_dir)
    model.generation_config.eos_token_id = [5, 7]
    assert eos_ids(model) == {5, 7}
    assert reply_end_ids(model, tok) == {5, 7, tok.eos_token_id}
    model.generation_config.eos_token_id = None
    assert eos_ids(model) == set()
