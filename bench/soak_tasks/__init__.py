"""Bench-only app for bench.soak: a task that retries once, and the soak's settings module."""
