"""The parts of the speed benchmark (``python -m scripts.bench_speed``): corpus, worker processes,
measurements, incremental updates and the report."""
