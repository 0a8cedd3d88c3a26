"""The `flask` commands: demo data, posters, reception, scheduler, outbox and accounts."""
