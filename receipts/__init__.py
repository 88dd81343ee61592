"""Receipts: signed, offline-verifiable statements of how an order ended."""
