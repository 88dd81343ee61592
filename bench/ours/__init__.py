"""Bench-only app for async-rest's side of bench.peer: the step task, its settings module."""
