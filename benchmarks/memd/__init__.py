"""The MEMD-ABSA benchmark: the mix / LoRA / replay-source series in a scratch copy of the project (run.py), with
DVC or, on a machine without it, by running the commands dvc.lock recorded (direct.py)."""
