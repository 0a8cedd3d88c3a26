"""What residents see of the suggestions their messages fed, and their rating of the outcome."""
