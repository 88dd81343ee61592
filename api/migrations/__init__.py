"""Migrations of the API app (idempotency keys)."""
