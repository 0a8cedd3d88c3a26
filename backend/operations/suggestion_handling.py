"""A department's side of a suggestion: sign for it, ask for reassignment or more time, assisting
opinions, the A/B/C answer, and the 回头看 re-check of B answers."""
