"""The deputy's side of a suggestion (and a liaison's on their behalf): draft it from messages,
edit, co-sign, submit, rate the department's answer. Built on backend/operations/suggestion_core.py."""
