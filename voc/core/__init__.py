"""The pipeline's foundations, free of torch: params (schema and validators), files, errors, taxonomy."""
