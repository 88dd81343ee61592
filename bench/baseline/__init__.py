"""Bench-only Django app: a TaskResult-like baseline table, comparison views, a no-op task."""
