"""The residents' pages reached from a deputy's QR code."""
import pytest

from backend.org.code_model import DeputyCode
from backend.org.codes import active_code, reissue_code, revoke_code


def _token(deputy):
    return active_code(deputy).token


def test_deputy_page_shows_profile_station_and_button(client, db, make_station, make_deputy):
    station = make_station(name="城关街道代表联络站")
    deputy = make_deputy(name="李秀英", level="municipal", occupation="小学校长",
                         stations=[station])
    db.session.commit()
    html = client.get(f"/d/{_token(deputy)}").get_data(as_text=True)
    for text in ("李秀英", "市人大代表", "小学校长", "城关街道代表联络站", "给Ta留言", "接待选民日"):
        assert text in html


def test_phone_number_never_shown_publicly(client, db, make_deputy):
    deputy = make_deputy(phone="13907310000")
    db.session.commit()
    assert "13907310000" not in client.get(f"/d/{_token(deputy)}").get_data(as_text=True)
    assert "13907310000" not in client.get(f"/api/mp/v1/deputies/{_token(deputy)}").get_data(as_text=True)


def test_inactive_deputy_is_not_shown(client, db, make_station, make_deputy):
    station = make_station()
    deputy = make_deputy(name="离任代表", stations=[station])
    token = _token(deputy)
    deputy.is_active = False
    db.session.commit()
    resp = client.get(f"/d/{token}")
    assert resp.status_code == 404
    assert "离任代表" not in resp.get_data(as_text=True)
    assert "离任代表" not in client.get(f"/stations/{station.id}").get_data(as_text=True)
    assert client.get(f"/api/mp/v1/deputies/{token}").json["code"] == "deputy_inactive"
    assert client.get(f"/d/{token}/qr.png").status_code == 404


def test_revoked_code_explains_and_points_to_the_new_one(client, db, make_deputy):
    deputy = make_deputy(name="张伟")
    old = _token(deputy)
    revoke_code(deputy, actor=None, reason="海报被涂改")
    db.session.commit()
    resp = client.get(f"/d/{old}")
    assert resp.status_code == 410
    html = resp.get_data(as_text=True)
    assert "此二维码已停止使用" in html and "张伟" in html
    assert "给Ta留言" not in html

    new = reissue_code(deputy, actor=None)
    db.session.commit()
    html = client.get(f"/d/{old}").get_data(as_text=True)
    assert f"/d/{new.token}" in html
    api = client.get(f"/api/mp/v1/deputies/{old}")
    assert api.status_code == 410
    assert api.json == {"code": "code_revoked", "message": "此二维码已停止使用",
                        "errors": {"current_token": new.token}}


def test_unknown_token_is_a_plain_404(client):
    resp = client.get("/d/doesnotexist")
    assert resp.status_code == 404
    assert "二维码无效" in resp.get_data(as_text=True)


def test_token_is_random_not_the_database_id(db, make_deputy):
    tokens = {_token(make_deputy()) for _ in range(20)}
    assert len(tokens) == 20
    for token in tokens:
        assert len(token) == 10 and not token.isdigit()
        assert set(token) <= set("abcdefghjkmnpqrstuvwxyz23456789")


def test_station_page_lists_active_deputies_with_links(client, db, make_station, make_deputy):
    station = make_station(name="洋湖社区代表联系点", kind="point")
    a = make_deputy(name="赵丽华", stations=[station])
    make_deputy(name="不在此站", stations=[make_station()])
    db.session.commit()
    html = client.get(f"/stations/{station.id}").get_data(as_text=True)
    assert "赵丽华" in html and f"/d/{_token(a)}" in html and "不在此站" not in html
    assert "代表联系点" in html


def test_large_text_mode_is_remembered(client):
    resp = client.get("/text-size?large=1&next=/")
    assert resp.status_code == 302
    assert 'class="lx-large"' in client.get("/").get_data(as_text=True)
    client.get("/text-size?large=0&next=/")
    assert 'class="lx-large"' not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"])
def test_text_size_never_redirects_off_site(client, target):
    resp = client.get("/text-size", query_string={"large": "1", "next": target})
    assert resp.headers["Location"] == "/"


def test_media_serves_deputy_photos_only(client, app):
    from backend.core.adapters import get_storage
    photo = get_storage().save(b"\x89PNG fake", "photos", "png")
    private = get_storage().save(b"secret", "messages", "jpg")
    assert client.get(f"/media/{photo}").status_code == 200
    assert client.get(f"/media/{private}").status_code == 404
    assert client.get("/media/photos/../../etc/passwd").status_code == 404


def test_api_card_carries_level_station_and_next_reception(client, db, make_station, make_deputy):
    deputy = make_deputy(name="周敏", level="provincial", stations=[make_station(name="桂花坪站")])
    db.session.commit()
    card = client.get(f"/api/mp/v1/deputies/{_token(deputy)}").json
    assert card["name"] == "周敏" and card["level_label"] == "省人大代表"
    assert card["stations"][0]["name"] == "桂花坪站"
    assert card["next_reception_date"] is None  # no reception day built yet
    assert "phone" not in card


def test_pages_show_the_next_reception_day_and_who_is_on_duty(client, db, make_station,
                                                              make_deputy):
    from datetime import date, time

    from backend.reception.models import ReceptionDay, ReceptionDuty
    station = make_station(name="城关街道代表联络站")
    on_duty = make_deputy(name="王建国", stations=[station])
    make_deputy(name="李秀英", stations=[station])
    token = active_code(on_duty).token
    db.session.commit()
    html = client.get(f"/stations/{station.id}").get_data(as_text=True)
    assert "具体日期待联络站公布" in html
    # Spring Festival 2026 moved the 15th to the 24th.
    day = ReceptionDay(station_id=station.id, nominal_date=date(2099, 2, 15),
                       date=date(2099, 2, 24), start_time=time(9), end_time=time(11, 30),
                       moved_reason="2月15日为春节假期，顺延至2月24日")
    db.session.add(day)
    db.session.flush()
    db.session.add(ReceptionDuty(day_id=day.id, deputy_id=on_duty.id))
    db.session.commit()
    for url in (f"/stations/{station.id}", f"/d/{token}"):
        html = client.get(url).get_data(as_text=True)
        assert "2099年2月24日" in html and "09:00–11:30" in html
        assert "值班代表：王建国" in html and "顺延至2月24日" in html
    assert client.get(f"/api/mp/v1/deputies/{token}").json["next_reception_date"] == "2099-02-24"


def test_codes_revoked_are_kept_for_old_posters(db, make_deputy):
    deputy = make_deputy()
    reissue_code(deputy, actor=None)
    reissue_code(deputy, actor=None)
    codes = db.session.scalars(db.select(DeputyCode).filter_by(deputy_id=deputy.id)).all()
    assert len(codes) == 3 and sum(c.is_active for c in codes) == 1
