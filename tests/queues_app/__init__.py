"""A test app whose orders run on RQ and on Django's tasks framework."""
