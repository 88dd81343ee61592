"""Signed completion callbacks (Standard Webhooks): checked, sent after commit, retried."""
