"""Benchmarks of async-rest: status GET, event appends, ProgressItems, orders end to end."""
