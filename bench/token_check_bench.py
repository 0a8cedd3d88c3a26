"""What the mini-program token's resident check costs a request, in one process, on the
submission benchmark's PostgreSQL database (bench/submit_bench.py's `prepare`: 500 residents).

Each sample is one request's share: the check, one trivial statement standing in for the
request's own work (so the connection is checked out either way), the commit and the session's
end. The ways to check, interleaved sample by sample so a busy machine weighs on all alike:
- no read: the token's claims alone (before tombstoned residents' tokens were refused);
- the committed check (miniprogram_api/auth.py `_token_holder`: the openid by primary key);
- the whole row loaded as an ORM object (`session.get`);
- a Redis set of revoked ids (`SISMEMBER`), when Redis answers at REDIS_URL (default local);
and a bound liaison's token (staff mode; 100 of the residents are bound liaisons):
- staff mode as it was: the openid, then the staff account by id, then the binding by openid
  (three reads);
- staff mode as committed (`_token_holder`: the openid with the account joined on, one read).

    .venv/bin/python bench/token_check_bench.py [-n 5000]

Drops and re-creates the benchmark database (BENCH_SUBMIT_DATABASE_URL).
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.submit_bench import ENV, prepare  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("-n", type=int, default=5000, help="samples per way")
    args = parser.parse_args()
    prepare()
    os.environ.update(ENV)
    import sqlalchemy as sa
    from sqlalchemy.orm import make_transient_to_detached

    from backend.accounts.resident_model import Resident
    from backend.core.extensions import db
    from bench.bench_app import app
    from backend.accounts import wechat_binding as binding
    from backend.accounts.models import StaffUser
    from miniprogram_api.auth import _token_holder

    def resident_only(claims):
        _token_holder(claims)

    def staff_three_reads(claims):
        resident, _ = _token_holder({**claims, "s": None})
        staff = db.session.get(StaffUser, claims["s"])
        assert binding.bound_staff(resident.openid) is staff

    def staff_one_read(claims):
        assert _token_holder(claims)[1] is not None

    def claims_only(claims):
        resident = Resident(id=claims["r"], openid=claims["o"])
        make_transient_to_detached(resident)
        db.session.add(resident)

    def whole_row(claims):
        assert db.session.get(Resident, claims["r"]).openid == claims["o"]

    ways = {"无查询（只信令牌）": claims_only, "按主键读 openid（现行）": resident_only,
            "整行读成 ORM 对象": whole_row}
    redis_key = "lianxin-bench:revoked"
    try:
        import redis
        store = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
        store.sadd(redis_key, -1)
        store.expire(redis_key, 3600)

        def redis_set(claims):
            assert not store.sismember(redis_key, claims["r"])
            claims_only(claims)
        ways["Redis 集合 SISMEMBER"] = redis_set
    except Exception as err:  # noqa: BLE001 - any Redis trouble: measure without it
        store = None
        print(f"（Redis 不可用，跳过：{err}）")

    staff_ways = {"代表/联络员模式：三次读（改前）": staff_three_reads,
                  "代表/联络员模式：一条语句（现行）": staff_one_read}
    ways.update(staff_ways)

    names = list(ways)
    samples = {name: [] for name in names}
    with app.app_context():
        residents = db.session.execute(sa.select(Resident.id, Resident.openid)).all()
        liaisons = [StaffUser(username=f"bench-liaison-{i}", display_name=f"基准联络员{i}",
                              role="liaison", password_hash="!", wechat_openid=openid)
                    for i, (_, openid) in enumerate(residents[:100])]
        db.session.add_all(liaisons)
        db.session.commit()
        bound = [(rid, openid, staff.id) for (rid, openid), staff in zip(residents, liaisons)]
        db.session.remove()
        for i in range(args.n * len(names)):
            turn = names if (i // len(names)) % 2 else names[::-1]
            name = turn[i % len(names)]
            if name in staff_ways:
                rid, openid, sid = bound[i % len(bound)]
            else:
                (rid, openid), sid = residents[i % len(residents)], None
            start, cpu = time.perf_counter(), time.process_time()
            ways[name]({"r": rid, "o": openid, "s": sid})
            db.session.execute(sa.text("SELECT 1"))
            db.session.commit()
            db.session.remove()
            samples[name].append(((time.perf_counter() - start) * 1e6,
                                  (time.process_time() - cpu) * 1e6))
    if store is not None:
        store.delete(redis_key)
    base_wall = statistics.median(s[0] for s in samples[names[0]])
    base_cpu = statistics.mean(s[1] for s in samples[names[0]])
    print(f"每种 {args.n} 次，交替进行；微秒/请求（含一条代替请求本身的语句、提交和会话结束）；"
          f"系统负载 {os.getloadavg()[0]:.2f}")
    print(f"{'方式':<22}{'墙钟中位数':>10}{'比无查询多':>10}{'CPU平均':>10}{'比无查询多':>10}")
    for name in names:
        wall = statistics.median(s[0] for s in samples[name])
        cpu = statistics.mean(s[1] for s in samples[name])
        print(f"{name:<22}{wall:>10.0f}{wall - base_wall:>+10.0f}{cpu:>10.0f}{cpu - base_cpu:>+10.0f}")


if __name__ == "__main__":
    main()
