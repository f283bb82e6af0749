"""Benchmarks of the whole pipeline: corpus generator and the ``rasid bench`` command."""
