"""Benchmarks: run as scripts (python benchmarks/bench_mux.py), not collected by pytest."""
