"""Example apps built on async-rest."""
