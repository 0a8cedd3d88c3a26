"""How fast deputies' ballots go in when many vote at once, on PostgreSQL: every ballot takes
the round's row lock (so a ballot never lands after the close), which serialises them. With a
fourth argument 1, the vote is for 2 places and three candidates tie for them; the office
opens a run-off (决选), every deputy votes in it the same way, and the combined results
(both stages) are timed.

    PYTHONPATH=. .venv/bin/python bench/vote_bench.py postgresql://postgres@127.0.0.1:5432/DBNAME [deputies] [threads] [runoff]

It drops and rebuilds the database's public schema: point it at a scratch database only."""
import sys
import threading
import time

import sqlalchemy as sa

from backend.projects import voting


def main(url: str, deputies: int = 300, threads: int = 8, runoff: int = 0) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    from flask_migrate import upgrade

    from backend import create_app
    from backend.accounts.models import StaffUser
    from backend.core.extensions import db
    from backend.org.models import Department, Deputy
    from backend.projects import collection, screening
    from backend.accounts.resident_model import Resident
    from backend.projects.models import ProjectRound, ProjectTally

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        office = StaffUser(username="office", display_name="代工委", role="admin", password_hash="!")
        department = Department(name="区住建局")
        resident = Resident(openid="bench-resident")
        db.session.add_all([office, department, resident])
        db.session.flush()
        round_ = collection.open_round(year=2027, theme="基准测试", categories=["交通"], actor=office)
        for n in range(5):
            p, _ = collection.propose_as_resident(round_, {
                "title": f"基准项目{n}号", "content": "基准测试用的项目内容和地点", "reason": "基准测试所用的理由",
                "category": "交通"}, resident=resident, idempotency_key=f"bench-key-{n:04d}")
            screening.nominate(p, department_id=department.id, estimated_cost=1000,
                               plan="基准测试用的实施方案文字", actor=office)
        screening.close_collection(round_, actor=office)
        users = []
        for n in range(deputies):
            d = Deputy(name=f"代表{n}", level="county")
            db.session.add(d)
            db.session.flush()
            u = StaffUser(username=f"d{n}", display_name=f"代表{n}", role="deputy", deputy_id=d.id,
                          password_hash="!")
            db.session.add(u)
            users.append(u)
        db.session.flush()
        screening.open_vote(round_, places=2 if runoff else 3, session_name="基准会议",
                            present_ids=[u.deputy_id for u in users], actor=office)
        db.session.commit()
        round_id, user_ids = round_.id, [u.id for u in users]
        candidates = [t.candidate_id for t in db.session.query(ProjectTally)]

    places = 2 if runoff else 3
    # 3 places: a sliding window of 3 of the 5 (votes 1/3, 2/3, 3/3, 2/3, 1/3 of the deputies);
    # 2 places: two of the first three (2/3 each), so three tie for the two places
    pairs = [[0, 1], [0, 2], [1, 2]]
    choice = ((lambda i: [candidates[k] for k in pairs[i % 3]]) if runoff
              else (lambda i: candidates[i % 3: i % 3 + 3]))
    _cast_all(app, round_id, user_ids, threads, choice, None, f"{deputies} ballots")
    with app.app_context():
        r = db.session.get(ProjectRound, round_id)
        total = db.session.scalar(sa.select(sa.func.sum(ProjectTally.votes)))
        assert r.ballots_cast == deputies and total == places * deputies, (r.ballots_cast, total)
    if not runoff:
        return
    from backend.projects import results, runoff as runoffs
    with app.app_context():
        r = db.session.get(ProjectRound, round_id)
        office = db.session.scalar(sa.select(StaffUser).filter_by(role="admin"))
        voting.close_vote(r, actor=office)
        first = voting.decide(r, actor=office)
        assert len(first.runoff) == 3 and not first.chosen, first.summary()
        run_id = runoffs.open_runoff(r, actor=office).id
        db.session.commit()
        tied = [row.candidate_id for row in first.runoff]
    # everyone picks the first tied one and one of the other two: the first wins
    _cast_all(app, round_id, user_ids, threads, lambda i: [tied[0], tied[1 + i % 2]], run_id,
              f"{deputies} run-off ballots")
    with app.app_context():
        from backend.projects.models import ProjectRunoff
        r = db.session.get(ProjectRound, round_id)
        run = db.session.get(ProjectRunoff, run_id)
        office = db.session.scalar(sa.select(StaffUser).filter_by(role="admin"))
        voting.close_vote(r, actor=office, runoff=run)
        voting.decide(r, actor=office, runoff=run)
        db.session.commit()
        times = []
        for _ in range(20):
            start = time.perf_counter()
            both = results.combined(r)
            times.append(time.perf_counter() - start)
        assert tied[0] in [c.candidate_id for c in both.chosen], (both.chosen, tied)
        assert run.ballots_cast == deputies, run.ballots_cast
        times.sort()
        print(f"combined results (2 stages): median {1000 * times[10]:.1f} ms over 20 runs")


def _cast_all(app, round_id, user_ids, threads, choice, runoff_id, label) -> None:
    from backend.accounts.models import StaffUser
    from backend.core.extensions import db
    from backend.projects.models import ProjectRound, ProjectRunoff
    chunks = [user_ids[i::threads] for i in range(threads)]
    latencies: list[float] = []
    barrier = threading.Barrier(threads)

    def run(chunk):
        with app.app_context():
            barrier.wait()
            for uid in chunk:
                start = time.perf_counter()
                r = db.session.get(ProjectRound, round_id)
                run_ = db.session.get(ProjectRunoff, runoff_id) if runoff_id else None
                voting.cast_ballot(r, choice(uid), actor=db.session.get(StaffUser, uid),
                                   runoff=run_)
                db.session.commit()
                latencies.append(time.perf_counter() - start)
                db.session.remove()

    workers = [threading.Thread(target=run, args=(c,)) for c in chunks]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall = time.perf_counter() - start
    latencies.sort()
    n = len(user_ids)
    print(f"{label}, {threads} threads: {wall:.2f} s, {n / wall:.0f} ballots/s; "
          f"latency p50 {1000 * latencies[len(latencies) // 2]:.1f} ms, "
          f"p95 {1000 * latencies[int(len(latencies) * .95)]:.1f} ms; counts check out")


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:5]))
