"""What a resident adds to a 满意 / 基本满意 rating (还想说的话) reaches everyone the message
concerns: the resident's own page, the staff timeline (deputy and liaison), and the
mini-program's message detail for the resident and for staff."""
import uuid

import pytest

from backend.messages import operations as ops
from tests.api.conftest import API
from tests.conftest import post_form
from tests.portal.helpers import csrf_of

COMMENT = "路灯修好了，谢谢王代表，就是修得慢了点"


@pytest.fixture
def world(db, make_station, make_deputy, make_staff):
    from backend.accounts.resident_model import Resident
    station = make_station(name="城关街道代表联络站")
    deputy = make_deputy(name="王建国", stations=[station])
    deputy_user = make_staff("deputy", deputy=deputy)
    liaison = make_staff("liaison", stations=[station])
    resident = Resident(openid=f"o-{uuid.uuid4().hex[:20]}")
    db.session.add(resident)
    db.session.flush()
    message = ops.submit_message(resident=resident, deputy=deputy, idempotency_key=uuid.uuid4().hex,
                                 body="小区门口的路灯坏了一个多月，晚上很不安全。").message
    ops.reply(message, "已联系街道，本周内修好路灯。", actor=deputy_user)
    db.session.commit()
    return {"message": message, "resident": resident, "deputy_user": deputy_user,
            "liaison": liaison}


@pytest.mark.parametrize("value,label", [("satisfied", "满意"), ("basically_satisfied", "基本满意")])
def test_the_comment_of_a_closing_rating_is_shown_to_resident_deputy_and_liaison(
        app, db, world, value, label):
    message = world["message"]
    ops.rate(message, value, COMMENT, resident=world["resident"])
    db.session.commit()

    # The resident's page (a browser that unlocked the message with its code).
    from backend.core.protect import lookup_code
    browser = app.test_client()
    form = csrf_of(browser, "/track")
    browser.post("/track", data={**form, "tracking_no": message.tracking_no,
                                 "code": lookup_code(message.id)})
    page = browser.get(f"/m/{message.id}").get_data(as_text=True)
    assert f"您评价「{label}」，留言已办结" in page
    assert page.count(COMMENT) == 2  # the rating card and the timeline

    for user in (world["deputy_user"], world["liaison"]):
        staff = app.test_client()
        assert post_form(staff, "/staff/login", {"username": user.username,
                                                 "password": "correct-horse-9"}).status_code == 302
        html = staff.get(f"/staff/messages/{message.id}").get_data(as_text=True)
        assert f"居民评价：{label}。{COMMENT}" in html, user.role  # the timeline
        assert 'data-testid="rating"' in html and COMMENT in html.split('data-testid="rating"')[1]


def test_the_comment_is_in_the_mini_program_detail_for_resident_and_staff(
        client, db, world, make_bound_staff):
    from miniprogram_api.auth import session_for
    message = world["message"]
    ops.rate(message, "basically_satisfied", COMMENT, resident=world["resident"])
    db.session.commit()

    def get(path, token):
        db.session.commit()
        return client.get(API + path, headers={"Authorization": f"Bearer {token}"}).json

    mine = get(f"/messages/{message.id}", session_for(world["resident"])["token"])
    assert mine["rating"]["value"] == "basically_satisfied"
    assert mine["rating"]["label"] == "基本满意" and mine["rating"]["comment"] == COMMENT
    assert mine["rating"]["created_at"].endswith("+08:00")

    liaison, liaison_wx = make_bound_staff("liaison", stations=[message.station])
    seen = get(f"/liaison/messages/{message.id}", session_for(liaison_wx, liaison)["token"])
    assert seen["rating"]["comment"] == COMMENT
    assert seen["timeline"][-1]["text"] == f"居民评价：基本满意。{COMMENT}"


def test_an_unrated_message_has_no_rating_and_the_schema_says_so(client, db, world):
    from miniprogram_api.auth import session_for
    token = session_for(world["resident"])["token"]
    db.session.commit()
    detail = client.get(f"{API}/messages/{world['message'].id}",
                        headers={"Authorization": f"Bearer {token}"}).json
    assert detail["rating"] is None
    spec = client.get(f"{API}/openapi.json").json
    schemas = spec["components"]["schemas"]
    assert {"value", "label", "comment", "created_at"} <= set(schemas["RatingOut"]["properties"])
    for name in ("MyMessageOut", "StaffMessageOut"):
        assert "rating" in schemas[name]["properties"], name


def test_a_second_answer_is_unrated_until_rated_again(client, db, world):
    """After 不满意 and a new answer, the old rating is history (timeline), not the rating."""
    from miniprogram_api.auth import session_for
    message = world["message"]
    ops.rate(message, "dissatisfied", "路灯还是不亮", resident=world["resident"])
    assert ops.latest_rating(message).comment == "路灯还是不亮"
    ops.reply(message, "已再次联系供电所，今天已修好。", actor=world["deputy_user"])
    db.session.commit()
    token = session_for(world["resident"])["token"]
    detail = client.get(f"{API}/messages/{message.id}",
                        headers={"Authorization": f"Bearer {token}"}).json
    assert detail["rating"] is None and detail["can_rate"]
    assert any(e["text"] == "居民评价：不满意。路灯还是不亮" for e in detail["timeline"])
    ops.rate(message, "satisfied", COMMENT, resident=world["resident"])
    assert ops.latest_rating(message).comment == COMMENT
