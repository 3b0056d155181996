"""The language's vocabulary: values, parameters, errors, strict YAML and the journal's events; it imports nothing of the project."""
