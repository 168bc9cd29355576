"""Configuration: the TOML schema, its field types, the roster CSV, and reading them with file:line errors."""
