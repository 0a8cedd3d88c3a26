"""The admin office's side of a suggestion: review (accept and assign, return, merge), deadlines,
extensions, reassignment, supervision (督办) and the chase lists."""
