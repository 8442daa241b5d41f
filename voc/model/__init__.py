"""The model: one loader, generation (HF and vLLM backends), log-likelihood scoring."""
