"""Calendar sources: court feeds, personal calendars, Exchange and Graph mailboxes."""
