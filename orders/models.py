"""No Django models: orders live in the event store (this module lets ``migrate`` see the app)."""
