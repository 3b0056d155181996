"""The language's vocabulary: values, parameters, errors and strict YAML; it imports nothing of the project."""
