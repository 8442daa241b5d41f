"""Greedy generation throughput with `voc.model.generate.generate`: one prompt at a time vs batched, measured side by
side in one process on the same prompts.

    python -m benchmarks.micro.generation                      # tiny test model, seconds
    python -m benchmarks.micro.generation --model models/base  # the real base model
"""

from __future__ import annotations

import click

from benchmarks.micro.util import best_time, load, machine
from voc.model.generate import chat_prompt, generate

TOPICS = ["the battery", "the screen", "delivery", "the keyboard", "customer support", "the price", "the fan noise",
          "the touchpad"]


def prompts(tok, n: int) -> list[str]:
    """n chat prompts of varied length (so batches need padding, as in real use)."""
    out = []
    for i in range(n):
        text = f"Summarise this review in one sentence: {TOPICS[i % len(TOPICS)]} " + "is fine but " * (i % 5 + 1)
        out.append(chat_prompt(tok, [{"role": "user", "content": text}]))
    return out


@click.command()
@click.option("--model", type=click.Path(exists=True, file_okay=False), help="HF model dir (default: tiny model)")
@click.option("--n", default=32, show_default=True, help="number of prompts")
@click.option("--batch-size", default=16, show_default=True)
@click.option("--max-new-tokens", default=32, show_default=True)
@click.option("--repeat", default=3, show_default=True, help="timed repeats per mode (best is reported)")
@click.option("--stop-at-eos", is_flag=True, help="stop at EOS as in real use (default: always generate "
              "max_new_tokens, so both modes do the same work even when the model ends early)")
def main(model: str | None, n: int, batch_size: int, max_new_tokens: int, repeat: int, stop_at_eos: bool) -> None:
    """Print prompts/s and new tokens/s for batch size 1 and `--batch-size`, and their ratio."""
    m, tok, label = load(model)
    if not stop_at_eos:
        m.generation_config.eos_token_id = None
    ps = prompts(tok, n)
    t1, one = best_time(lambda: generate(m, tok, ps, max_new_tokens, batch_size=1), repeat)
    tb, batched = best_time(lambda: generate(m, tok, ps, max_new_tokens, batch_size=batch_size), repeat)
    same = sum(a == b for a, b in zip(one, batched, strict=True))
    print(f"model: {label}\nmachine: {machine()}")
    print(f"{n} prompts, greedy, max_new_tokens={max_new_tokens} ({'stop at EOS' if stop_at_eos else 'fixed length'})"
          f", best of {repeat}")
    for name, secs in (("batch_size=1", t1), (f"batch_size={batch_size}", tb)):
        tokens = "" if stop_at_eos else f"  {n * max_new_tokens / secs:9.1f} new tok/s"
        print(f"  {name:>14}: {secs:7.3f} s  {n / secs:8.1f} prompts/s{tokens}")
    print(f"speed-up batched / one-at-a-time: {t1 / tb:.2f}x")
    print(f"identical outputs: {same}/{n} (left padding can flip near-tied greedy choices)")


if __name__ == "__main__":
    main()
