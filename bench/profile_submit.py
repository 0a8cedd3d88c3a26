"""Where a submission's time goes: SQL statements and milliseconds per request, in-process.

Builds the benchmark database (`bench_submit`, as bench/submit_bench.py does: one deputy in one
station, 200 content words, 500 residents), then sends N requests through the Flask test client
to the same endpoints the benchmark hits (the full submission POST /api/mp/v1/messages, the
naive one-row insert and the bare endpoint), one at a time, and reports for each:
- SQL statements per request (SQLAlchemy's before_cursor_execute; psycopg's own BEGIN and the
  pool's pre-ping do not pass through it, so connection checkouts are counted beside them);
- wall milliseconds per request, and this process's CPU milliseconds (the Python side; the
  database server's work is not in it);
- with --profile, cProfile's top functions for the submission (this process's CPU time).

    .venv/bin/python bench/profile_submit.py [-n 300] [--profile] [--show-sql]
"""
import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.submit_bench import BODY, ENV, prepare  # noqa: E402


class Counters:
    def __init__(self):
        self.statements, self.checkouts, self.sql = 0, 0, Counter()

    def reset(self):
        self.__init__()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("-n", type=int, default=300, help="requests per endpoint")
    parser.add_argument("--profile", action="store_true", help="cProfile the submissions")
    parser.add_argument("--dump", help="also write the cProfile data to this file")
    parser.add_argument("--show-sql", action="store_true", help="print one submission's SQL")
    args = parser.parse_args()

    station_id, deputy_token, tokens = prepare()
    os.environ.update(ENV)
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import Pool

    from bench.bench_app import app

    counters = Counters()

    @event.listens_for(Engine, "before_cursor_execute")
    def _count(conn, cursor, statement, parameters, context, executemany):
        counters.statements += 1
        counters.sql[" ".join(statement.split())[:110]] += 1

    @event.listens_for(Pool, "checkout")
    def _checkout(dbapi_conn, record, proxy):
        counters.checkouts += 1

    client = app.test_client()
    seq = iter(range(10**9))

    def submit():
        i = next(seq)
        body = {"deputy_token": deputy_token, "station_id": station_id, "body": BODY,
                "idempotency_key": f"prof-{uuid.uuid4().hex}", "may_publish": False}
        response = client.post("/api/mp/v1/messages", data=json.dumps(body),
                               content_type="application/json",
                               headers={"Authorization": f"Bearer {tokens[i % len(tokens)]}"})
        assert response.status_code == 201, response.get_data(as_text=True)

    def naive():
        body = {"station_id": station_id, "body": BODY}
        response = client.post("/bench/naive", json=body)
        assert response.status_code == 201

    def bare():
        assert client.post("/bench/bare", json={"body": BODY}).status_code == 200

    print(f"{'端点':<12}{'语句/请求':>10}{'连接借出/请求':>14}{'毫秒/请求':>10}{'CPU毫秒/请求':>14}")
    for label, call in (("bare", bare), ("naive", naive), ("submission", submit)):
        for _ in range(30):  # warm up: imports, caches, the pool
            call()
        counters.reset()
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(args.n):
            call()
        ms = (time.perf_counter() - start) * 1000 / args.n
        cpu_ms = (time.process_time() - cpu) * 1000 / args.n
        print(f"{label:<12}{counters.statements / args.n:>10.1f}{counters.checkouts / args.n:>14.1f}"
              f"{ms:>10.2f}{cpu_ms:>14.2f}")
        if args.show_sql and label != "bare":
            counters.reset()
            call()
            for sql, n in counters.sql.items():
                print(f"    {n} × {sql}")

    if args.profile:
        # CPU time, not wall time: the machine is shared, and waiting for PostgreSQL is
        # counted by the table above.
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for _ in range(args.n):
            submit()
        profiler.disable()
        if args.dump:
            profiler.dump_stats(args.dump)
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
        stats.print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
        print(out.getvalue())


if __name__ == "__main__":
    main()
