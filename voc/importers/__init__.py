"""Importers from customer-feedback formats to voc's canonical inputs, and the Bedrock exporter.

Each importer is a pure function returning an `ImportResult`; `write_import` writes taxonomy.csv,
comments.jsonl, import_report.json, failures.jsonl and warnings.jsonl. Formats are documented in docs/formats.md.
"""
