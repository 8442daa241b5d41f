"""Stage `mix`: all customer train records + replay records drawn to the share `mix`, shuffled with the seed."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence

import click

from voc.core.files import write_json, write_jsonl
from voc.core.params import load_params
from voc.data.mixing import mix_records
from voc.model.loading import load_tokenizer


def kept(path: str, keys: Sequence[str], optional: Sequence[str] = ()) -> Iterator[dict]:
    """Each row of a JSONL file we wrote, cut to `keys` (and the `optional` keys it has) as it is read: the
    prepared records' text and gold segments are never all held at once."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                yield {k: row[k] for k in keys} | {k: row[k] for k in optional if k in row}


def token_counter(tokenizer_dir: str):
    """Tokens of each row as sft sees it (chat template applied), counted a batch at a time: by the Rust tokenizer
    itself where there is one (no offsets, no Python lists of ids), else by the tokenizer's own call."""
    tok = load_tokenizer(tokenizer_dir)
    backend = getattr(tok, "backend_tokenizer", None)

    def count(rows: Sequence[dict]) -> list[int]:
        texts = tok.apply_chat_template([r["messages"] for r in rows], tokenize=False)
        if backend is not None:
            return [len(e) for e in backend.encode_batch_fast(texts, add_special_tokens=False)]
        return [len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"]]

    return count


@click.command()
@click.option("--params", "params_path", default="params.yaml", type=click.Path(exists=True))
@click.option("--train", default="data/prepared/voc/train.jsonl", type=click.Path(exists=True))
@click.option("--replay", "replay_path", default="data/replay/replay.jsonl", type=click.Path(exists=True))
@click.option("--tokenizer", default="models/base", type=click.Path(exists=True))
@click.option("--out", default="data/mixed/train.jsonl", type=click.Path())
@click.option("--metrics", default="metrics/mix.json", type=click.Path())
def main(params_path: str, train: str, replay_path: str, tokenizer: str, out: str, metrics: str) -> None:
    p = load_params(params_path, "mix", "mix_unit", "seed", "replay")
    customer = list(kept(train, ("id", "messages")))
    replay: dict[str, list[dict]] = defaultdict(list)
    for r in kept(replay_path, ("source", "id", "messages"), ("category",)):  # category: mix.json's shares
        replay[r.pop("source")].append(r)
    weights = {s.name: float(s.weight) for s in p.replay.sources}
    rows, report = mix_records(customer, dict(replay), weights, p.mix, p.seed, p.mix_unit, token_counter(tokenizer))
    write_jsonl(out, rows)
    write_json(metrics, report)
    click.echo(f"mix={p.mix} ({p.mix_unit}): {report['records']} records, replay share "
               f"{report['replay_record_share']:.3f} of records, {report['replay_token_share']:.3f} of tokens")


if __name__ == "__main__":
    main()
