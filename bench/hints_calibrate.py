"""Answer hints on real answers: how often each hint fires on messages_with_replies.csv.

The relevance hint is also run on mismatched pairs (each message with another message's answer)
to show it separates: it should rarely fire on real answers and nearly always on wrong ones.
`late` uses a deadline of 15 working days (the default answer clock) from the message's time.

    .venv/bin/python bench/hints_calibrate.py
"""
import random
import sys
from collections import Counter
from datetime import datetime, time, timedelta
from pathlib import Path

import chinese_calendar
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from triage_edits import read  # noqa: E402

from backend.triage.hints import RELEVANCE_BELOW, answer_hints, relevance  # noqa: E402


def due(received: datetime, workdays: int = 15) -> datetime:
    day, left = received.date(), workdays
    while left:
        day += timedelta(days=1)
        try:
            left -= chinese_calendar.is_workday(day)
        except NotImplementedError:  # years chinesecalendar does not ship: weekends only
            left -= day.weekday() < 5
    return datetime.combine(day, time(23, 59, 59))


def main():
    rows = [r for r in read("messages_with_replies.csv") if r["reply"].strip()]
    fired = Counter()
    real_scores = []
    for r in rows:
        received = datetime.fromisoformat(r["time"])
        answered = datetime.fromisoformat(r["reply_time"])
        for h in answer_hints(r["subject"], r["body"], r["reply"], due_at=due(received), answered_at=answered):
            fired[h.code] += 1
        real_scores.append(relevance(r["subject"], r["body"], r["reply"]))
    rng = random.Random(5)
    shuffled = [r["reply"] for r in rows]
    rng.shuffle(shuffled)
    wrong_scores = [relevance(r["subject"], r["body"], a) for r, a in zip(rows, shuffled)]
    n = len(rows)
    print(f"{n} real answers")
    for code in ("off_topic", "no_action", "no_body", "no_date", "late"):
        print(f"  {code:<10} fires on {fired[code]:5d} = {fired[code] / n:.1%}")
    real, wrong = np.array(real_scores), np.array(wrong_scores)
    print(f"relevance: real answers median {np.median(real):.2f}, mismatched answers median {np.median(wrong):.2f}")
    for t in (0.1, RELEVANCE_BELOW, 0.2, 0.3):
        print(f"  threshold {t:.2f}: fires on {np.mean(real < t):.1%} of real, {np.mean(wrong < t):.1%} of mismatched")
    short = sum(len(r["reply"]) < 40 for r in rows)
    print(f"answers under 40 characters (e.g. 留言已收悉): {short} = {short / n:.1%}")


if __name__ == "__main__":
    main()
