"""The application: the tracker, placing and launching orders, the registry, supervision."""
