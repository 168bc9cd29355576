"""Use cases behind the commands, one module each: load what it needs, ask the core, return values."""
