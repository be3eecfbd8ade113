"""Benchmarks, tuning checks and screenshots for deflect; run from the repository root as
``python -m scripts.<name>`` (e.g. ``python -m scripts.bench_quality --help``)."""
