"""Delivering the outbox: WeChat subscribe messages (or the log channel) and residents' one-time subscribe grants."""
