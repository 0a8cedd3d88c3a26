"""Residents' messages (留言): submission, triage, answers, ratings, the queue, moderation, photos and who may see what."""
