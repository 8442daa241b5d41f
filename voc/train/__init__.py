"""Supervised fine-tuning: training examples, the Trainer set-up, resumable checkpoints."""
