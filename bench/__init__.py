"""Benchmarks: ``python -m bench <name> [--quick | --smoke]``; each prints one JSON object of figures last."""
