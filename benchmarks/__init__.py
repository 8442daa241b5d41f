"""Benchmarks of the voc pipeline, run from the repository root as modules (`python -m benchmarks.micro.generation`,
`python -m benchmarks.memd.run`) so they import each other as a package: `micro/` times the batched model calls,
`memd/` runs the fine-tuning series on the public MEMD-ABSA data. Not part of the installed `voc` package."""
