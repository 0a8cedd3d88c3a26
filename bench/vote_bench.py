"""How fast deputies' ballots go in when many vote at once, on PostgreSQL: every ballot takes
the round's row lock (so a ballot never lands after the close), which serialises them.

    PYTHONPATH=. .venv/bin/python bench/vote_bench.py postgresql://postgres@127.0.0.1:5432/DBNAME [deputies] [threads]

It drops and rebuilds the database's public schema: point it at a scratch database only."""
import sys
import threading
import time

import sqlalchemy as sa


def main(url: str, deputies: int = 300, threads: int = 8) -> None:
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
    from backend.projects import collection, screening, voting
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
            p = collection.propose_as_resident(round_, {
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
        screening.open_vote(round_, places=3, session_name="基准会议",
                            present_ids=[u.deputy_id for u in users], actor=office)
        db.session.commit()
        round_id, user_ids = round_.id, [u.id for u in users]
        candidates = [t.candidate_id for t in db.session.query(ProjectTally)]

    chunks = [user_ids[i::threads] for i in range(threads)]
    latencies: list[float] = []
    barrier = threading.Barrier(threads)

    def run(chunk):
        with app.app_context():
            barrier.wait()
            for i, uid in enumerate(chunk):
                start = time.perf_counter()
                r = db.session.get(ProjectRound, round_id)
                voting.cast_ballot(r, candidates[i % 3: i % 3 + 3],
                                   actor=db.session.get(StaffUser, uid))
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
    with app.app_context():
        r = db.session.get(ProjectRound, round_id)
        total = db.session.scalar(sa.select(sa.func.sum(ProjectTally.votes)))
        assert r.ballots_cast == deputies and total == 3 * deputies, (r.ballots_cast, total)
    latencies.sort()
    print(f"{deputies} ballots, {threads} threads: {wall:.2f} s, {deputies / wall:.0f} ballots/s; "
          f"latency p50 {1000 * latencies[len(latencies) // 2]:.1f} ms, "
          f"p95 {1000 * latencies[int(len(latencies) * .95)]:.1f} ms; counts check out")


if __name__ == "__main__":
    main(sys.argv[1], *(int(a) for a in sys.argv[2:4]))
