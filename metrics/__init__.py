"""Prometheus metrics derived from the order event log: a projection, its tables, /metrics."""
