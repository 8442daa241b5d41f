"""Evaluation: predictions and parsing, MMLU, the general-ability tasks, the probe, classification."""
