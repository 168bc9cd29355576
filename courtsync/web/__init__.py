"""The web service (`courtsync serve`): the commands' answers over HTTP for people who install nothing."""
