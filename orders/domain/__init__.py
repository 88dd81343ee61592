"""The order domain: the aggregate and its events, the shape of its state, a context's rules."""
