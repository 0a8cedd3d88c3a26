"""In-app notices: the outbox rows written beside each change, and who is told of what."""
