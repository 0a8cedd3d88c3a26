"""Triage intelligence on plain text: category suggestion, near-duplicates, hot issues, answer hints.

Nothing here imports Flask or the database models: callers pass strings (and ids, times) and get
plain values back, so the queue, pages, API and jobs can all use the same functions.
"""
