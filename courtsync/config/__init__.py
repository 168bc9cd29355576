"""Configuration: the TOML schema, its field types, the roster CSV, and reading them with file:line errors."""

import os

# courtsync's settings models use no pydantic plugin, and looking for plugins reads the metadata of every
# installed package (15 ms of every command). A setting of the variable by whoever runs courtsync stands.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
