"""The REST protocol through Django's test client, tasks run inline or held (no worker process)."""
