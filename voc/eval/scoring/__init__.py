"""Scores for VOC predictions: set-based metrics (the headline) and the Nova-compatible mode."""
