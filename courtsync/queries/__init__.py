"""What use cases read: the fresh calendar view (synced first when stale) and the conflicts found in it."""
