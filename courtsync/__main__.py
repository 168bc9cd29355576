"""`python -m courtsync` runs the command line."""

from courtsync.cli import main

main()
