"""Stage `mix`: all customer train records + replay records drawn to the share `mix`, shuffled with the seed."""

from __future__ import annotations

from collections import defaultdict

import click

from voc.core.files import read_jsonl, write_json, write_jsonl
from voc.core.params import load_params
from voc.data.mixing import mix_records
from voc.model.loading import load_tokenizer


@click.command()
@click.option("--params", "params_path", default="params.yaml", type=click.Path(exists=True))
@click.option("--train", default="data/prepared/voc/train.jsonl", type=click.Path(exists=True))
@click.option("--replay", "replay_path", default="data/replay/replay.jsonl", type=click.Path(exists=True))
@click.option("--tokenizer", default="models/base", type=click.Path(exists=True))
@click.option("--out", default="data/mixed/train.jsonl", type=click.Path())
@click.option("--metrics", default="metrics/mix.json", type=click.Path())
def main(params_path: str, train: str, replay_path: str, tokenizer: str, out: str, metrics: str) -> None:
    p = load_params(params_path, "mix", "mix_unit", "seed", "replay")
    tok = load_tokenizer(tokenizer)

    def n_tokens(row: dict) -> int:
        text = tok.apply_chat_template(row["messages"], tokenize=False)
        return len(tok(text, add_special_tokens=False)["input_ids"])

    customer = [{"id": r["id"], "messages": r["messages"]} for r in read_jsonl(train)]
    replay: dict[str, list[dict]] = defaultdict(list)
    for r in read_jsonl(replay_path):
        replay[r["source"]].append({"id": r["id"], "messages": r["messages"]})
    weights = {s.name: float(s.weight) for s in p.replay.sources}
    rows, report = mix_records(customer, dict(replay), weights, p.mix, p.seed, p.mix_unit, n_tokens)
    write_jsonl(out, rows)
    write_json(metrics, report)
    click.echo(f"mix={p.mix} ({p.mix_unit}): {report['records']} records, replay share "
               f"{report['replay_record_share']:.3f} of records, {report['replay_token_share']:.3f} of tokens")


if __name__ == "__main__":
    main()
