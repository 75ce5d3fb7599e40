"""Benchmarks: ``python -m bench`` (or ``make bench``) prints the tables recorded in README.md."""
