"""Reproducible throughput and memory benchmarks of the processing core (``python -m bench``)."""
