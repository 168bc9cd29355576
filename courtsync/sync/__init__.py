"""Reading calendar sources into the store: the engine that owns the diff, its policy and parallel reads."""
