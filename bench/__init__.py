"""Benchmarks of the support agent: scripts that print Markdown tables (`make bench`, `python -m bench`).

Not part of the test run's pass/fail: targets are reported beside the numbers, never asserted. See bench/README.md.
"""
