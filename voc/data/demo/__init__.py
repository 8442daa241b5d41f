"""The embedded demo: a synthetic home-security-camera taxonomy and its comments."""
