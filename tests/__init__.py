"""Tests of async-rest: unit (no I/O), integration (real stores), e2e (HTTP)."""
