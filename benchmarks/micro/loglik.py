"""Log-likelihood scoring (`voc.model.loglik.loglikelihoods`, as used by MMLU and the task suite): unbatched
(batch_size=1) vs batched, measured side by side in one process on the same MMLU-shaped requests.

    python -m benchmarks.micro.loglik                      # tiny test model, seconds
    python -m benchmarks.micro.loglik --model models/base  # the real base model
"""

from __future__ import annotations

import click

from benchmarks.micro.util import best_time, load, machine
from voc.model.loglik import loglikelihoods


def requests(n_questions: int) -> list[tuple[str, str]]:
    """Four-choice questions (context + ' A'..' D') and multi-token continuations, contexts of varied length."""
    out = []
    for i in range(n_questions):
        ctx = (f"The following is a question about laptops.\nQuestion {i}: which part " + "really " * (i % 7)
               + "drains the battery?\nA. screen\nB. fan\nC. keyboard\nD. speaker\nAnswer:")
        out += [(ctx, f" {c}") for c in "ABCD"]
        out.append((ctx, " the screen, because it is bright"))
    return out


@click.command()
@click.option("--model", type=click.Path(exists=True, file_okay=False), help="HF model dir (default: tiny model)")
@click.option("--questions", default=48, show_default=True, help="questions (5 requests each)")
@click.option("--batch-size", default=16, show_default=True)
@click.option("--repeat", default=3, show_default=True, help="timed repeats per mode (best is reported)")
def main(model: str | None, questions: int, batch_size: int, repeat: int) -> None:
    """Print requests/s for batch size 1 and `--batch-size`, their ratio, and the largest score difference."""
    m, tok, label = load(model)
    reqs = requests(questions)
    t1, one = best_time(lambda: loglikelihoods(m, tok, reqs, batch_size=1), repeat)
    tb, batched = best_time(lambda: loglikelihoods(m, tok, reqs, batch_size=batch_size), repeat)
    diff = max(abs(a[0] - b[0]) for a, b in zip(one, batched, strict=True))
    print(f"model: {label}\nmachine: {machine()}")
    print(f"{len(reqs)} requests ({questions} questions x 5 continuations), best of {repeat}")
    for name, secs in (("batch_size=1", t1), (f"batch_size={batch_size}", tb)):
        print(f"  {name:>14}: {secs:7.3f} s  {len(reqs) / secs:8.1f} requests/s")
    print(f"speed-up batched / unbatched: {t1 / tb:.2f}x")
    print(f"max |log-likelihood difference| batched vs unbatched: {diff:.2e}")


if __name__ == "__main__":
    main()
