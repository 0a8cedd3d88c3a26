"""Deputy suggestions (代表建议): drafting, review and assignment, departments' answers, ratings, supervision, residents' view and the year's figures."""
