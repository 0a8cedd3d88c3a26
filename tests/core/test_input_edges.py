"""Input at the edges of the portal and the staff pages (issue #15): ids past the integer
columns find nothing, NUL bytes get a Chinese 400 page, too-long URLs a coded 414; none is a
500 and none changes anything. Run on PostgreSQL too, where the integer overflow used to fail."""
import pytest

from backend.messages.models import Message
from tests.conftest import post_form

BIG = 2**31


def assert_chinese_page(resp, status, code):
    assert resp.status_code == status, resp.get_data(as_text=True)[:500]
    html = resp.get_data(as_text=True)
    assert f'data-code="{code}"' in html and "<h1" in html
    assert resp.mimetype == "text/html"


@pytest.fixture
def liaison_client(make_station, make_deputy, make_staff, login):
    station = make_station()
    make_deputy(stations=[station])
    return login(make_staff("liaison", stations=[station]))


@pytest.mark.parametrize("path", [
    f"/staff/messages?deputy={BIG}",
    f"/staff/messages?station={BIG}",
    f"/staff/deputies?station={BIG}",
    "/staff/deputies?page=99999999999999999999",
    f"/staff/messages?deputy={'9' * 30}",
])
def test_ids_past_the_columns_on_staff_lists(liaison_client, path):
    assert liaison_client.get(path).status_code == 200


@pytest.mark.parametrize("path", ["/staff/messages?q=%00", "/staff/deputies?q=ab%00",
                                  "/staff/messages?status=%00"])
def test_nul_bytes_on_staff_lists(liaison_client, path):
    assert_chinese_page(liaison_client.get(path), 400, "invalid_characters")


@pytest.mark.parametrize("path", ["/d/ab%00cd", "/d/ab%00cd/write", "/track?tracking_no=%00"])
def test_nul_bytes_on_public_pages(client, path):
    assert_chinese_page(client.get(path), 400, "invalid_characters")


def test_a_tracking_number_past_the_id_column_is_not_found(client, db):
    resp = post_form(client, "/track", {"tracking_no": "LY20261202-9999999999", "code": "123456"},
                     form_url="/track")
    assert resp.status_code == 422
    assert "留言编号或查询码不正确" in resp.get_data(as_text=True)


def test_nul_in_a_posted_form_changes_nothing(client, db, make_deputy):
    from backend.org.codes import active_code
    token = active_code(make_deputy()).token
    db.session.commit()
    resp = post_form(client, f"/d/{token}/write",
                     {"body": "路灯坏了\x00一个多月了。", "idempotency_key": "k" * 32},
                     form_url=f"/d/{token}/write")
    assert_chinese_page(resp, 400, "invalid_characters")
    assert Message.query.count() == 0


def test_a_too_long_url_gets_a_coded_414(client, app):
    limit = app.config["MAX_URL_LENGTH"]
    resp = client.get("/?q=" + "a" * limit)
    assert resp.status_code == 414
    assert 'data-code="url_too_long"' in resp.get_data(as_text=True)
    api = client.get("/api/mp/v1/deputies/by-scene?scene=" + "a" * limit)
    assert api.status_code == 414 and api.get_json()["code"] == "url_too_long"
    assert client.get("/?q=" + "a" * (limit - 100)).status_code == 200


@pytest.mark.parametrize("day_id", ["²", str(BIG), "9" * 30])
def test_odd_ids_in_the_booking_form_are_not_found(client, db, make_station, day_id):
    station = make_station()
    db.session.commit()
    url = f"/stations/{station.id}/book"
    # A station without reception days shows no form: any page's CSRF token will do.
    resp = post_form(client, url, {"day_id": day_id, "slot_id": day_id, "deputy_id": day_id},
                     form_url="/track")
    assert resp.status_code == 404 and 'data-code="not_found"' in resp.get_data(as_text=True)
