"""courtsync: keep court hearings off child-welfare staff's protected Learning Collaborative dates."""

__version__ = "0.1.0"
