"""Orders: the domain, the tracker application, its infrastructure, launchers, the task API."""
