"""`python -m courtsync` runs the command line."""

from courtsync.cli import main

if __name__ == "__main__":   # (a reader process started by spawn imports this module too)
    main()
