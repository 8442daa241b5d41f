"""The offline HTML page for plots: a DVC HTML template with vega, vega-lite and vega-embed inlined from npm."""
