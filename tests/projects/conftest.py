"""Fixtures for livelihood projects: a round at any stage, with its office, deputies, candidates."""
import pytest


@pytest.fixture
def office(make_staff):
    return make_staff("admin")


@pytest.fixture
def make_department(db):
    counter = iter(range(1, 1000))

    def make(**kw):
        from backend.org.models import Department
        dep = Department(**{"name": f"测试局{next(counter)}", **kw})
        db.session.add(dep)
        db.session.flush()
        return dep
    return make


@pytest.fixture
def make_round(db, office):
    def make(year=2027, **kw):
        from backend.projects.collection import open_round
        return open_round(year=year, theme=kw.get("theme", "办好群众身边小事"),
                          categories=kw.get("categories", ["交通", "养老", "环境"]), actor=office)
    return make


@pytest.fixture
def make_proposal(db, make_resident):
    counter = iter(range(1, 1000))

    def make(round_, resident=None, **kw):
        from backend.projects.collection import propose_as_resident
        n = next(counter)
        data = {"title": f"加装电梯项目{n}", "content": f"为幸福小区{n}号楼加装电梯，方便老人上下楼",
                "reason": "楼里老人多，上下楼困难", "category": "养老", **kw}
        return propose_as_resident(round_, data, resident=resident or make_resident(),
                                   idempotency_key=f"key-{n:08d}")[0]
    return make


@pytest.fixture
def voting_round(db, office, make_round, make_proposal, make_department, make_deputy):
    """A round open for the vote: 5 candidates for 3 places, one deputy present from the start
    (the rest arrive through `make_voter`)."""
    from backend.projects import screening
    round_ = make_round()
    department = make_department()
    proposals = [make_proposal(round_) for _ in range(5)]
    screening.close_collection(round_, actor=office)
    for p in proposals:
        screening.nominate(p, department_id=department.id, estimated_cost=500000,
                           plan="今年内完成设计、施工和验收", actor=office)
    screening.open_vote(round_, places=3, session_name="区十八届人大四次会议",
                        present_ids=[make_deputy().id], actor=office)
    db.session.flush()
    return round_, proposals


@pytest.fixture
def make_deputy_user(make_deputy, make_staff):
    def make(**kw):
        deputy = make_deputy(**kw)
        return make_staff("deputy", deputy=deputy)
    return make


@pytest.fixture
def make_voter(db, office, make_deputy_user):
    """A deputy's account, registered present at the round's session (the electorate)."""
    def make(round_, **kw):
        from backend.projects import screening
        user = make_deputy_user(**kw)
        screening.register_present(round_, [user.deputy_id], actor=office)
        return user
    return make
