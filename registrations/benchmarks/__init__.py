"""Benchmarks run by `manage.py bench <area>`; each module exposes ``run(options) -> dict``."""
