"""What courtsync writes for people: calendars of protected dates, letters, digests, mail."""
