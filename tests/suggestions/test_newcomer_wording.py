"""Words a newcomer tripped on: a role said twice, "before" said twice, a QR download named
"-.png", an English line among scripts/start's Chinese ones."""
import re
from urllib.parse import quote

from backend.suggestions import drafting as ops
from tests.suggestions.test_drafting import GOOD


def test_drafted_by_names_the_role_once(client, db, suggestion_world, login):
    w = suggestion_world
    liaison = w.users["liaison_own"]
    admin = login(w.users["admin"])
    for display, expected in (("城关站联络员 何军", "城关站联络员 何军代为起草"),
                              ("何军", "联络员何军代为起草")):
        liaison.display_name = display
        s = ops.create_draft(actor=liaison, deputy=w.author, message_ids=[w.messages[0].id],
                             **GOOD)
        db.session.commit()
        html = admin.get(f"/staff/suggestions/{s.id}").get_data(as_text=True)
        drafted = re.search(r'data-testid="drafted-by">([^<]*)<', html).group(1)
        assert drafted == expected
        assert "联络员城关站联络员" not in html


def test_the_qr_download_is_named_after_the_deputy(client, db, make_deputy, make_station,
                                                   make_staff, login):
    station = make_station()
    deputy = make_deputy(name="王建国", stations=[station])
    staff = login(make_staff("admin"))
    for fmt in ("png", "svg"):
        resp = staff.get(f"/staff/deputies/{deputy.id}/qr.{fmt}")
        assert resp.status_code == 200
        disposition = resp.headers["Content-Disposition"]
        assert f'filename="deputy-{deputy.id}-qr.{fmt}"' in disposition
        assert f"filename*=UTF-8''{quote(f'王建国-二维码.{fmt}')}" in disposition


def test_the_missing_holiday_year_is_reported_in_chinese(app, caplog):
    import backend.workdays.calendar as workdays
    year = 2093
    workdays._warned_years.discard(year)
    with caplog.at_level("WARNING", logger=workdays.log.name):
        workdays._warn_weekends_only(year)
    text = caplog.records[-1].getMessage()
    assert text.startswith("2093年的节假日安排尚未录入") and not re.search(r"[A-Za-z]{3,}", text)
