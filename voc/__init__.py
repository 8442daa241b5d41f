"""voc: fine-tune a language model on a customer-feedback taxonomy without forgetting."""

__version__ = "0.1.0"
