"""A scenario: its file, schema, layout of hosts, draws and topology."""
