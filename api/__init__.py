"""Thin DRF glue: parse the request, call orders, read projections, answer."""
