"""Management commands of the projections app."""
