"""Orders: the Order aggregate, its tracker application, dispatcher and task helpers."""
