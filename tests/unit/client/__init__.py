"""Unit tests of async_rest_client: the protocol's corner cases against scripted answers."""
