"""Infrastructure: the event store (its URL, the PostgreSQL recorder), this process's tracker."""
