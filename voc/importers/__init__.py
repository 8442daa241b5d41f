"""Importers from customer-feedback formats to voc's canonical inputs, and the Bedrock exporter.

Each importer is a pure function returning an `ImportResult`; `write_import` writes taxonomy.csv,
comments.jsonl, import_report.json, failures.jsonl and warnings.jsonl. Formats are documented in docs/formats.md.
"""

from voc.importers.acos import import_acos
from voc.importers.bedrock import import_bedrock
from voc.importers.common import ImportResult, write_import
from voc.importers.csvfmt import import_csv
from voc.importers.export import export_bedrock, to_bedrock
from voc.importers.memd import import_memd

__all__ = ["ImportResult", "export_bedrock", "import_acos", "import_bedrock", "import_csv", "import_memd",
           "to_bedrock", "write_import"]
