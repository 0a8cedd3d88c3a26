"""The resident's side of a message on the web portal: write it, keep the receipt, follow it,
add what the deputy asks for, rate the answer; and nobody else ever sees it."""
import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from backend.core.adapters import get_storage
from backend.messages.models import Message, MessagePhoto
from backend.accounts.resident_model import Resident
from backend.messages import operations as ops
from backend.org.codes import revoke_code
from backend.messages.moderation import add_rule
from backend.core.protect import lookup_code
from tests.portal.helpers import csrf_of, jpeg, open_form, send

RECEIPT_RE = re.compile(r"/m/(\d+)/receipt$")


def _count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _stored_files(app) -> set[str]:
    folder = Path(app.config["UPLOAD_DIR"]) / "messages"
    return {p.name for p in folder.glob("*")} if folder.exists() else set()


def _sent(db, resp) -> Message:
    assert resp.status_code == 302, resp.get_data(as_text=True)
    match = RECEIPT_RE.search(resp.headers["Location"])
    assert match, resp.headers["Location"]
    db.session.expire_all()
    return db.session.get(Message, int(match.group(1)))


@pytest.fixture
def answered(db, client, deputy, write_url, make_staff):
    """A message written through the form and answered by the deputy."""
    message = _sent(db, send(client, write_url))
    ops.reply(message, "已联系街道，本周内修好路灯。", actor=make_staff("deputy", deputy=deputy))
    db.session.commit()
    return message


# ---- writing ----

def test_write_and_get_a_receipt(app, client, db, deputy, write_url):
    page = client.get(write_url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "给王建国代表留言" in html and "同意代表在公开场合引用我的留言（不显示个人信息）" in html
    assert _count(db, Resident) == 0  # looking at the form makes no resident
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("lx_resident=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie

    resp = send(client, write_url, phone="138 0013 1234", place="幸福小区3栋", may_publish="1")
    message = _sent(db, resp)
    assert (message.deputy_id, message.station_id) == (deputy.id, deputy.stations[0].id)
    assert message.may_publish and message.place == "幸福小区3栋" and message.channel == "web"
    assert message.resident.web_key == client.get_cookie("lx_resident").value

    receipt = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert message.tracking_no in receipt and lookup_code(message.id) in receipt
    assert "请截图或记下编号和查询码" in receipt and "留言已送出" in receipt
    assert f'href="/m/{message.id}"' in receipt


def test_same_idempotency_key_twice_makes_one_message_and_the_same_receipt(app, client, db,
                                                                          write_url):
    form = open_form(client, write_url)
    photo = [(jpeg(), "路灯.jpg")]
    first = send(client, write_url, form=form, photos=photo)
    files = _stored_files(app)
    again = send(client, write_url, form=form, photos=photo)
    assert again.status_code == 302 and again.headers["Location"] == first.headers["Location"]
    assert _count(db, Message) == 1 and _count(db, Resident) == 1
    assert _count(db, MessagePhoto) == 1 and _stored_files(app) == files  # the retry kept nothing


def test_bad_text_and_phone_show_the_form_again_with_everything_kept(client, db, write_url):
    resp = send(client, write_url, body="太短了", phone="12345", place="幸福小区3栋",
                may_publish="1")
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert ">太短了</textarea>" in html and 'value="12345"' in html and 'value="幸福小区3栋"' in html
    assert 'name="may_publish" value="1" checked' in html
    assert "留言内容至少 5 个字" in html and "请填写11位手机号码，或留空" in html
    assert "您写的内容还在" in html
    assert _count(db, Message) == 0 and _count(db, Resident) == 0


def test_a_file_that_is_not_an_image_is_refused_by_name(app, client, db, write_url):
    before = _stored_files(app)
    fake = b"MZ\x90\x00 not a photo"
    resp = send(client, write_url, photos=[(jpeg(), "好的.jpg"), (fake, "照片.jpg")])
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "第 2 张照片（照片.jpg）：文件不是有效的图片" in html
    assert "小区门口的路灯坏了一个多月" in html and "请重新选择" in html
    assert _count(db, Message) == 0 and _count(db, MessagePhoto) == 0
    assert _stored_files(app) == before  # the good first photo's file is gone again


def test_ten_photos_are_refused(app, client, db, write_url):
    resp = send(client, write_url, photos=[(jpeg(), f"{n}.jpg") for n in range(10)])
    assert resp.status_code == 422
    assert "最多上传 9 张照片" in resp.get_data(as_text=True)
    assert _count(db, Message) == 0 and _count(db, MessagePhoto) == 0


def test_photo_is_stored_without_gps_or_exif(client, db, write_url):
    data = jpeg(size=(120, 80), gps=True)
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)  # the fixture carries GPS
    message = _sent(db, send(client, write_url, photos=[(data, "门口.jpg")]))
    photo = message.photos[0]
    assert (photo.width, photo.height, photo.resident_id) == (120, 80, message.resident_id)
    stored = get_storage().read(photo.storage_key)
    with Image.open(io.BytesIO(stored)) as img:
        assert img.format == "JPEG" and "exif" not in img.info
        assert not img.getexif() and not img.getexif().get_ifd(0x8825)
    assert b"TestCam" not in stored

    served = client.get(f"/m/{message.id}/photos/{photo.id}")
    assert served.status_code == 200 and served.mimetype == "image/jpeg" and served.data == stored


def test_writing_to_a_station_as_a_whole(client, db, make_station):
    station = make_station(name="洋湖社区代表联系点")
    db.session.commit()
    page = client.get(f"/stations/{station.id}").get_data(as_text=True)
    assert "给联络站留言" in page and f'href="/stations/{station.id}/write"' in page
    assert "给洋湖社区代表联系点留言" in client.get(f"/stations/{station.id}/write").get_data(as_text=True)
    message = _sent(db, send(client, f"/stations/{station.id}/write"))
    assert (message.station_id, message.deputy_id) == (station.id, None)


def test_a_revoked_code_sends_nothing(client, db, deputy, write_url):
    form = open_form(client, write_url)
    revoke_code(deputy, actor=None, reason="海报被涂改")
    db.session.commit()
    assert client.get(write_url).status_code == 410
    resp = send(client, write_url, form=form)
    assert resp.status_code == 410 and "此二维码已停止使用" in resp.get_data(as_text=True)
    assert _count(db, Message) == 0


def test_held_message_receipt_says_so_honestly(client, db, write_url):
    add_rule("发票", "广告")
    db.session.commit()
    resp = send(client, write_url, body="代开发票，请联系微信号")
    message = _sent(db, resp)
    assert message.status == "held"
    receipt = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "您的留言已收到，需工作人员审核后转交代表" in receipt and "留言已送出" not in receipt
    assert message.tracking_no in receipt and lookup_code(message.id) in receipt
    # The reason it was held is for the liaison only.
    assert "广告" not in client.get(f"/m/{message.id}").get_data(as_text=True)


def test_rate_limit_per_resident(app, client, db, write_url, monkeypatch):
    monkeypatch.setitem(app.config, "SUBMIT_RATE_PER_RESIDENT", "2 per minute")
    for n in range(2):
        assert send(client, write_url, body=f"第{n + 1}件事：路灯坏了很久了").status_code == 302
    form = open_form(client, write_url)
    resp = send(client, write_url, form=form, body="第3件事：路灯坏了很久了")
    assert resp.status_code == 429
    assert "提交太频繁了，请1分钟后再试" in resp.get_data(as_text=True)
    assert 0 < int(resp.headers["Retry-After"]) <= 60
    assert _count(db, Message) == 2


def test_a_double_tap_past_the_limit_still_gets_the_receipt(app, client, db, write_url,
                                                            monkeypatch):
    monkeypatch.setitem(app.config, "SUBMIT_RATE_PER_RESIDENT", "2 per minute")
    send(client, write_url, body="第1件事：路灯坏了很久了")
    form = open_form(client, write_url)
    second = send(client, write_url, form=form, body="第2件事：路灯坏了很久了")
    again = send(client, write_url, form=form, body="第2件事：路灯坏了很久了")
    assert (second.status_code, again.status_code) == (302, 302)
    assert again.headers["Location"] == second.headers["Location"]
    assert _count(db, Message) == 2


# ---- who may see a message ----

def test_only_the_writer_or_a_holder_of_the_code_sees_the_message(client, other_browser, db,
                                                                 write_url):
    message = _sent(db, send(client, write_url, phone="13800131234"))
    page = client.get(f"/m/{message.id}").get_data(as_text=True)
    assert "小区门口的路灯坏了一个多月" in page and "138****1234" in page and "13800131234" not in page

    for url in (f"/m/{message.id}", f"/m/{message.id}/receipt", f"/m/{message.id + 1}",
                f"/m/{message.id}/photos/1"):
        assert other_browser.get(url).status_code == 404, url
    assert "小区门口" not in other_browser.get("/my").get_data(as_text=True)

    form = csrf_of(other_browser, "/track")
    resp = other_browser.post("/track", data={**form, "tracking_no": message.tracking_no,
                                              "code": "ZZZZZZ"})
    assert resp.status_code == 422 and "留言编号或查询码不正确" in resp.get_data(as_text=True)
    assert other_browser.get(f"/m/{message.id}").status_code == 404

    resp = other_browser.post("/track", data={**form, "tracking_no": message.tracking_no.lower(),
                                              "code": lookup_code(message.id).lower()})
    assert resp.status_code == 302 and resp.headers["Location"] == f"/m/{message.id}"
    assert "小区门口的路灯坏了一个多月" in other_browser.get(f"/m/{message.id}").get_data(as_text=True)
    # The receipt (with the code) stays the writer's; the code-holder already has it.
    assert other_browser.get(f"/m/{message.id}/receipt").status_code == 404


def test_my_messages_lists_this_browsers_messages(client, other_browser, db, write_url):
    assert "这部手机上还没有留言" in client.get("/my").get_data(as_text=True)
    first = _sent(db, send(client, write_url, body="第一件事：路灯坏了"))
    second = _sent(db, send(client, write_url, body="第二件事：井盖松了"))
    html = client.get("/my").get_data(as_text=True)
    assert html.index(f"/m/{second.id}") < html.index(f"/m/{first.id}")
    assert "写给王建国代表" in html and "待受理" in html
    assert "这部手机上还没有留言" in other_browser.get("/my").get_data(as_text=True)


def test_resident_photos_are_not_on_the_public_media_route(client, db, write_url):
    message = _sent(db, send(client, write_url, photos=[(jpeg(), "a.jpg")]))
    assert client.get(f"/media/{message.photos[0].storage_key}").status_code == 404


def test_internal_notes_never_reach_the_resident(client, db, deputy, write_url, make_staff):
    message = _sent(db, send(client, write_url))
    liaison = make_staff("liaison", stations=list(deputy.stations))
    ops.acknowledge(message, actor=liaison)
    ops.add_note(message, "此人反映过多次，注意态度", actor=liaison)
    db.session.commit()
    html = client.get(f"/m/{message.id}").get_data(as_text=True)
    assert "联络员受理了留言" in html and "您提交了留言" in html
    assert "此人反映过多次" not in html


# ---- answering, adding information, rating ----

def test_answer_then_rate_satisfied(client, db, answered):
    page = client.get(f"/m/{answered.id}").get_data(as_text=True)
    assert "已答复" in page and "已联系街道，本周内修好路灯。" in page and "王建国代表" in page
    assert "您对这个答复满意吗？" in page

    form = csrf_of(client, f"/m/{answered.id}")
    missing = client.post(f"/m/{answered.id}/rate", data={**form, "comment": "还行"})
    assert missing.status_code == 422
    assert "请选择满意、基本满意或不满意" in missing.get_data(as_text=True)
    assert ">还行</textarea>" in missing.get_data(as_text=True)

    resp = client.post(f"/m/{answered.id}/rate",
                       data={**form, "value": "satisfied", "comment": "谢谢"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert answered.status == "closed"
    page = client.get(f"/m/{answered.id}").get_data(as_text=True)
    assert "感谢您的评价" in page and "您评价「满意」，留言已办结" in page
    assert "您对这个答复满意吗？" not in page


def test_dissatisfied_reopens(client, db, answered):
    resp = client.post(f"/m/{answered.id}/rate", data={
        **csrf_of(client, f"/m/{answered.id}"), "value": "dissatisfied", "comment": "路灯还是不亮"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert answered.status == "reopened"
    page = client.get(f"/m/{answered.id}").get_data(as_text=True)
    assert "留言将重新办理" in page and "重新办理" in page


def test_a_browser_that_passed_track_may_rate(other_browser, db, answered):
    form = csrf_of(other_browser, "/track")
    other_browser.post("/track", data={**form, "tracking_no": answered.tracking_no,
                                       "code": lookup_code(answered.id)})
    resp = other_browser.post(f"/m/{answered.id}/rate",
                              data={**form, "value": "basically_satisfied"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert answered.status == "closed"


def test_deputy_asks_for_more_and_the_resident_adds_it(client, db, deputy, write_url, make_staff):
    message = _sent(db, send(client, write_url))
    ops.request_info(message, "请问具体是哪一栋楼门口？", actor=make_staff("deputy", deputy=deputy))
    db.session.commit()
    page = client.get(f"/m/{message.id}").get_data(as_text=True)
    assert "待补充" in page and "代表请您补充说明" in page and "请问具体是哪一栋楼门口？" in page

    form = csrf_of(client, f"/m/{message.id}")
    short = client.post(f"/m/{message.id}/info", data={**form, "text": "3"})
    assert short.status_code == 422 and "内容至少 2 个字" in short.get_data(as_text=True)
    resp = client.post(f"/m/{message.id}/info", data={**form, "text": "是3栋东门口。"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert message.status == "acknowledged"
    page = client.get(f"/m/{message.id}").get_data(as_text=True)
    assert "您补充了说明" in page and "是3栋东门口。" in page and "info-form" not in page


def test_merged_message_shows_the_answer_of_its_case(client, db, deputy, write_url, make_staff,
                                                     neighbours_message):
    mine = _sent(db, send(client, write_url))
    case = neighbours_message(deputy)
    ops.merge(mine, case, actor=make_staff("liaison", stations=list(deputy.stations)))
    ops.reply(case, "路灯已经全部修好了，感谢反映。", actor=make_staff("deputy", deputy=deputy))
    db.session.commit()
    page = client.get(f"/m/{mine.id}").get_data(as_text=True)
    assert "已合并" in page and f"已与同类留言（{case.tracking_no}）合并办理" in page
    assert "路灯已经全部修好了，感谢反映。" in page
    assert "您对这个答复满意吗？" not in page  # the case's writer rates it



def test_a_form_without_its_csrf_token_sends_nothing(client, db, write_url):
    form = open_form(client, write_url)
    resp = send(client, write_url, form={**form, "csrf_token": "forged"})
    assert resp.status_code == 302 and "/receipt" not in resp.headers["Location"]
    assert _count(db, Message) == 0


def test_an_upload_over_the_size_limit_gets_a_chinese_page(app, client, db, write_url, monkeypatch):
    form = open_form(client, write_url)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2000)
    big = jpeg(size=(400, 400)) + b"\0" * 4000
    resp = send(client, write_url, form=form, photos=[(big, "大.jpg")])
    assert resp.status_code == 413 and "照片太大" in resp.get_data(as_text=True)
    assert _count(db, Message) == 0


def test_losing_the_race_for_the_browsers_resident_keeps_the_requests_other_work(app, db,
                                                                                monkeypatch):
    """A double tap: the other request made this browser's resident between our lookup and our
    insert. We answer with theirs, and what this request had already written survives."""
    from backend.portal import residents
    key = "k" * 43
    theirs = Resident(web_key=key)
    db.session.add(theirs)
    db.session.commit()
    real, calls = residents._by_key, []

    def lookup(k):  # our first lookup came before their commit
        calls.append(k)
        return None if len(calls) == 1 else real(k)
    monkeypatch.setattr(residents, "_by_key", lookup)
    with app.test_request_context("/", headers={"Cookie": f"lx_resident={key}"}):
        earlier = Resident(web_key="e" * 43)  # stands in for what the request wrote first
        db.session.add(earlier)
        db.session.flush()
        assert residents.get_or_create_web_resident().id == theirs.id
        db.session.commit()
    assert len(calls) == 2  # the insert did fail on the unique key
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Resident)
                             .where(Resident.web_key == "e" * 43)) == 1
    assert _count(db, Resident) == 2
