"""Customer data and training data: comments, prompt, spans, replay, mixing, decontamination, the demo."""
