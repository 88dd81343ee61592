"""Read models built from order events: the status summary, the history, catch-up and rebuild."""
