"""Benchmarks of ovsched: run benchmarks/run.py; each section is one module here."""
