"""The duty pages at work: a deputy's own duties, swaps and unavailable dates; the station's
roster for its liaison; and who may reach them at all."""
import re
from html import unescape

import pytest

from backend.core.extensions import db
from backend.core.audit_model import AuditEvent
from backend.reception.models import DeputyUnavailability, DutySwap, ReceptionDuty
from backend.reception import rosters as ops
from backend.core.timeutil import format_date_cn
from tests.conftest import csrf_token

FLASH_RE = re.compile(r'class="lx-flash lx-flash--(\w+)" role="status">([^<]*)<')


def _post(client, url: str, data: dict, form_url: str) -> str:
    """Submit a form from the page that shows it, as a browser does, and land where it leads."""
    resp = client.post(url, data={**data, "csrf_token": csrf_token(client, form_url)},
                       follow_redirects=True)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    return resp.get_data(as_text=True)


def _flashes(html: str) -> list[tuple[str, str]]:
    return [(kind, unescape(text)) for kind, text in FLASH_RE.findall(html)]


def _on_duty(day) -> set[int]:
    db.session.expire_all()
    return set(db.session.scalars(db.select(ReceptionDuty.deputy_id).filter_by(day_id=day.id)))


def _duty_of(world, index, day_index=0) -> ReceptionDuty:
    return db.session.scalar(db.select(ReceptionDuty).filter_by(
        day_id=world.days[day_index].id, deputy_id=world.deputies[index].id))


# ---- the deputy ----

def test_the_deputy_sees_their_next_duties(roster_login, roster_world):
    w = roster_world
    page = roster_login(w.users[0]).get("/staff/duties")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "我的值班" in html
    assert format_date_cn(w.days[0].date) in html and "09:00–11:30" in html
    assert w.station.name in html
    assert format_date_cn(w.days[1].date) not in html  # 代表3 and 代表4's day, not theirs
    # The swap form offers free colleagues and exchanges with their days.
    assert "请代表3代表代班" in html and "与代表4代表互换" in html


def test_a_swap_through_the_pages(roster_login, roster_world):
    w = roster_world
    duty = _duty_of(w, 0)
    first, third = roster_login(w.users[0]), roster_login(w.users[2])
    html = _post(first, f"/staff/duties/{duty.id}/swap",
                 {"to": f"d{w.deputies[2].id}", "note": "那天要出差"}, "/staff/duties")
    assert ("success", "已向代表3代表发出换班申请，对方同意后由联络员批准") in _flashes(html)
    assert "等待对方同意" in html and "撤回申请" in html
    swap = db.session.scalar(db.select(DutySwap))

    html = third.get("/staff/duties").get_data(as_text=True)
    assert "代表1代表" in html and "那天要出差" in html
    html = _post(third, f"/staff/swaps/{swap.id}/accept", {}, "/staff/duties")
    assert ("success", "已同意换班，等待联络员批准") in _flashes(html)

    liaison = roster_login(w.liaison)
    roster_url = f"/staff/stations/{w.station.id}/roster"
    assert f'data-testid="approve-{swap.id}"' in liaison.get(roster_url).get_data(as_text=True)
    html = _post(liaison, f"/staff/swaps/{swap.id}/approve?station_id={w.station.id}", {},
                 roster_url)
    assert ("success", "已批准换班，值班安排已更新") in _flashes(html)
    assert "roster-days" in html  # back on the roster
    assert _on_duty(w.days[0]) == {w.deputies[1].id, w.deputies[2].id}
    assert format_date_cn(w.days[0].date) in third.get("/staff/duties").get_data(as_text=True)


def test_a_refused_step_is_flashed_and_changes_nothing(roster_login, roster_world):
    w = roster_world
    client = roster_login(w.users[0])
    # 代表2 is on duty that day too.
    html = _post(client, f"/staff/duties/{_duty_of(w, 0).id}/swap",
                 {"to": f"d{w.deputies[1].id}"}, "/staff/duties")
    assert ("error", f"代表2代表{w.days[0].date.month}月{w.days[0].date.day}日已有值班安排") in \
        _flashes(html)
    html = _post(client, f"/staff/duties/{_duty_of(w, 0).id}/swap", {"to": ""}, "/staff/duties")
    assert ("error", "请选择换班的代表") in _flashes(html)
    assert db.session.scalar(db.select(DutySwap)) is None


def test_a_deputy_marks_their_duty_day_away_and_a_colleague_takes_it(roster_login, roster_world):
    w = roster_world
    client = roster_login(w.users[0])
    day = w.days[0]
    html = _post(client, "/staff/unavailability",
                 {"date": day.date.isoformat(), "reason": "外出开会"}, "/staff/duties")
    assert ("success", f"已登记代表1代表{day.date.month}月{day.date.day}日不能值班") in _flashes(html)
    assert "外出开会" in html
    assert _on_duty(day) == {w.deputies[1].id, w.deputies[2].id}
    # A deputy marks only themselves, whatever the form says.
    _post(client, "/staff/unavailability",
          {"date": w.days[1].date.isoformat(), "deputy_id": w.deputies[3].id}, "/staff/duties")
    assert {r.deputy_id for r in db.session.scalars(db.select(DeputyUnavailability))} == {
        w.deputies[0].id}

    row = db.session.scalar(db.select(DeputyUnavailability).filter_by(date=day.date))
    html = _post(client, f"/staff/unavailability/{row.id}/clear", {}, "/staff/duties")
    assert any("已取消" in text for _, text in _flashes(html))
    assert db.session.scalar(db.select(DeputyUnavailability).filter_by(date=day.date)) is None
    html = _post(client, "/staff/unavailability", {"date": "不是日期"}, "/staff/duties")
    assert ("error", "请选择日期") in _flashes(html)


# ---- the liaison ----

def test_the_roster_shows_days_counts_and_refills_a_short_day(roster_login, roster_world):
    w = roster_world
    client = roster_login(w.liaison)
    url = f"/staff/stations/{w.station.id}/roster"
    html = client.get(url).get_data(as_text=True)
    assert format_date_cn(w.days[0].date) in html and "代表1" in html
    counts = ops.duty_counts(w.station, w.today.year).values()
    assert f"在职代表最多 {max(counts)} 次，最少 {min(counts)} 次" in html

    # 代表1 is marked away on their day while nobody else is free: the day stays short.
    for index in (2, 3):
        ops.mark_unavailable(w.deputies[index], w.days[0].date, "", actor=None)
    db.session.commit()
    html = _post(client, f"/staff/unavailability?station_id={w.station.id}",
                 {"deputy_id": w.deputies[0].id, "date": w.days[0].date.isoformat()}, url)
    assert "缺 1 人" in html and f'data-testid="fill-{w.days[0].id}"' in html
    assert _on_duty(w.days[0]) == {w.deputies[1].id}

    row = db.session.scalar(db.select(DeputyUnavailability).filter_by(
        deputy_id=w.deputies[3].id))
    _post(client, f"/staff/unavailability/{row.id}/clear?station_id={w.station.id}", {}, url)
    html = _post(client, f"/staff/stations/{w.station.id}/roster/days/{w.days[0].id}/fill", {},
                 url)
    assert ("success", "已补上值班代表：代表4") in _flashes(html)
    assert _on_duty(w.days[0]) == {w.deputies[1].id, w.deputies[3].id}


# ---- who may reach what ----

def _proposed_and_accepted(w) -> DutySwap:
    swap = ops.propose_swap(_duty_of(w, 0), w.deputies[2], actor=w.users[0])
    ops.accept_swap(swap, actor=w.users[2])
    db.session.commit()
    return swap


# (who, method, URL, expected status); {station}, {other}, {day}, {swap}, {duty} are filled in.
ACCESS = [
    ("anonymous", "GET", "/staff/duties", "login"),
    ("anonymous", "GET", "/staff/stations/{station}/roster", "login"),
    ("anonymous", "POST", "/staff/swaps/{swap}/approve", "login"),
    ("liaison", "GET", "/staff/duties", 403),
    ("deputy", "GET", "/staff/stations/{station}/roster", 403),
    ("other_liaison", "GET", "/staff/stations/{station}/roster", 403),
    ("other_liaison", "POST", "/staff/stations/{station}/roster/days/{day}/fill", 403),
    ("other_liaison", "POST", "/staff/swaps/{swap}/approve", 403),
    ("deputy", "POST", "/staff/swaps/{swap}/approve", 403),
    ("third_deputy", "POST", "/staff/swaps/{swap}/reject", 403),
    ("third_deputy", "POST", "/staff/duties/{duty}/swap", 403),
    ("other_liaison", "POST", "/staff/unavailability?station_id={station}", 403),
    ("liaison", "GET", "/staff/stations/{station}/roster", 200),
    ("admin", "GET", "/staff/stations/{station}/roster", 200),
    ("other_liaison", "GET", "/staff/stations/{other}/roster", 200),
    ("deputy", "GET", "/staff/duties", 200),
]


@pytest.mark.parametrize("who, method, url, expected", ACCESS)
def test_access(who, method, url, expected, app, roster_login, roster_world):
    w = roster_world
    swap = _proposed_and_accepted(w)
    users = {"liaison": w.liaison, "other_liaison": w.other_liaison, "admin": w.admin,
             "deputy": w.users[2], "third_deputy": w.users[3]}
    client = roster_login(users[who]) if who in users else app.test_client()
    url = url.format(station=w.station.id, other=w.other.id, day=w.days[0].id, swap=swap.id,
                     duty=_duty_of(w, 0).id)
    audit_before = db.session.scalar(db.select(db.func.count()).select_from(AuditEvent))
    if method == "GET":
        resp = client.get(url)
    else:
        token = csrf_token(client, "/staff/login" if who not in users else "/staff/")
        resp = client.post(url, data={"csrf_token": token, "deputy_id": w.deputies[0].id,
                                      "date": w.days[1].date.isoformat(),
                                      "to": f"d{w.deputies[1].id}"})
    if expected == "login":
        assert resp.status_code == 302 and "/staff/login" in resp.headers["Location"]
    else:
        assert resp.status_code == expected, resp.get_data(as_text=True)[:500]
    if expected != 200:
        db.session.expire_all()
        assert db.session.get(DutySwap, swap.id).status == "accepted"
        assert db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)) == \
            audit_before
