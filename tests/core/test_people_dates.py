"""One way of writing dates for people (3月5日, 3月5日 10:30; the year only when it is not this
year), the same on the resident's and the staff's pages; ISO dates stay in exports."""
import re
import secrets
import uuid
from datetime import date, datetime, timezone

from backend.messages import operations as ops
from backend.core.timeutil import local_today, people_day, people_time


def test_people_day_and_time():
    year = local_today().year
    assert people_day(date(year, 12, 2)) == "12月2日"
    assert people_day(date(year - 1, 12, 2)) == f"{year - 1}年12月2日"
    # 18:30 UTC is the next morning in Shanghai.
    assert people_time(datetime(year, 3, 4, 18, 30, tzinfo=timezone.utc)) == "3月5日 02:30"
    assert people_day(None) == "" and people_time(None) == ""


def test_resident_and_staff_pages_write_dates_the_same_way(app, client, db, make_deputy,
                                                           make_staff, login):
    from backend.accounts.resident_model import Resident
    deputy = make_deputy()
    resident = Resident(web_key=secrets.token_urlsafe(32))
    db.session.add(resident)
    db.session.flush()
    message = ops.submit_message(resident=resident, deputy=deputy, idempotency_key=uuid.uuid4().hex,
                                 body="小区门口的路灯坏了一个多月，晚上很不安全。").message
    at = datetime(local_today().year, 3, 5, 2, 30, tzinfo=timezone.utc)  # 10:30 in Shanghai
    message.created_at = at
    for event in message.events:
        event.created_at = at
    db.session.commit()

    client.set_cookie("lx_resident", resident.web_key)
    pages = {"my": client.get("/my").get_data(as_text=True)}
    pages["message"] = client.get(f"/m/{message.id}").get_data(as_text=True)
    staff = login(make_staff("admin"))
    pages["staff"] = staff.get(f"/staff/messages/{message.id}").get_data(as_text=True)
    for name, html in pages.items():
        assert "3月5日 10:30" in html, name
        assert not re.search(r"\b03-05\b|03月05日|\d{4}-03-05", html), name
