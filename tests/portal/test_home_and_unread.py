"""The resident's home page leads everywhere a resident needs (查询留言, 我的留言, 我的预约, a
search for a deputy by name or station, a number to call), and a web-only resident sees an
unread mark on 我的留言 when an answer arrives, gone once they open the message."""
import re

from backend.accounts.resident_model import Resident
from backend.messages import operations as ops
from backend.accounts.operations import create_staff
from tests.portal.helpers import send

RECEIPT_RE = re.compile(r"/m/(\d+)/receipt$")


def test_home_links_to_track_my_messages_and_my_appointments_and_gives_a_phone(
        app, client, db, make_station, monkeypatch):
    make_station(name="城关区人大代表之家", kind="home", phone="0731-8888 0000")
    db.session.commit()
    html = client.get("/").get_data(as_text=True)
    for testid, href in (("home-track", "/track"), ("home-my-messages", "/my"),
                         ("home-my-appointments", "/my/appointments")):
        assert re.search(rf'href="{href}"[^>]*data-testid="{testid}"', html), testid
    for href in ("/track", "/my", "/my/appointments"):
        assert client.get(href).status_code == 200, href
    assert 'href="tel:073188880000"' in html and "0731-8888 0000" in html
    assert 'name="q"' in html and "输入代表姓名或联络站名称" in html

    monkeypatch.setitem(app.config, "HELP_PHONE", "12345")
    assert 'href="tel:12345"' in client.get("/").get_data(as_text=True)


def test_search_finds_active_deputies_by_name_or_station(client, db, make_station, make_deputy):
    chengguan = make_station(name="城关街道代表联络站")
    guihua = make_station(name="桂花坪街道代表联络站")
    closed = make_station(name="老城关联系点", is_active=False)
    make_deputy(name="王建国", stations=[chengguan])
    make_deputy(name="王芳", stations=[guihua])
    make_deputy(name="李秀英", stations=[chengguan])
    make_deputy(name="王退休", stations=[chengguan], is_active=False)
    make_deputy(name="赵只在停用站", stations=[closed])
    db.session.commit()

    def found(q):
        html = client.get("/", query_string={"q": q}).get_data(as_text=True)
        results = html.split('data-testid="search-results"')[1].split('aria-label="我的"')[0]
        return set(re.findall(r"<div>([^<]+)</div>", results))

    assert found("王") == {"王建国", "王芳"}  # not the inactive one
    assert found("城关") == {"王建国", "李秀英"}  # by station; not via an inactive station
    assert found("桂花坪") == {"王芳"}
    assert found("%") == set() and found("_") == set()  # wildcards are plain text
    html = client.get("/", query_string={"q": "没有这个人"}).get_data(as_text=True)
    assert "「没有这个人」找到 0 位代表" in html and "没有找到" in html
    assert "search-results" not in client.get("/").get_data(as_text=True)


def test_an_answer_marks_my_messages_unread_until_the_message_is_opened(
        client, db, make_deputy, make_station):
    from backend.org.codes import active_code
    deputy = make_deputy(name="王建国", stations=[make_station()])
    url = f"/d/{active_code(deputy).token}/write"
    db.session.commit()
    resp = send(client, url)
    message_id = int(RECEIPT_RE.search(resp.headers["Location"]).group(1))
    client.get(f"/m/{message_id}")  # read before any answer: nothing to mark
    assert 'data-testid="unread-count"' not in client.get("/").get_data(as_text=True)

    message = db.session.get(ops.Message, message_id)
    deputy_user = create_staff(username="dw", display_name="王建国", role="deputy",
                               password="correct-horse-9", deputy=deputy)
    ops.reply(message, "已联系街道，本周内修好路灯。", actor=deputy_user)
    db.session.commit()

    home = client.get("/").get_data(as_text=True)
    assert re.search(r'data-testid="unread-count"[^>]*>1<', home)
    mine = client.get("/my").get_data(as_text=True)
    assert 'data-testid="unread"' in mine and "新答复" in mine
    assert re.search(r'data-testid="my-link">我的留言<span class="lx-dot"', mine)

    # Someone else (a browser with the lookup code) reading it does not clear the mark.
    from backend.core.protect import lookup_code
    from tests.portal.helpers import csrf_of
    other = client.application.test_client()
    other.post("/track", data={**csrf_of(other, "/track"), "tracking_no": message.tracking_no,
                               "code": lookup_code(message_id)})
    assert other.get(f"/m/{message_id}").status_code == 200
    assert 'data-testid="unread"' in client.get("/my").get_data(as_text=True)

    assert "已联系街道" in client.get(f"/m/{message_id}").get_data(as_text=True)
    assert 'data-testid="unread' not in client.get("/my").get_data(as_text=True)
    assert 'data-testid="unread-count"' not in client.get("/").get_data(as_text=True)
    resident = db.session.get(Resident, message.resident_id)
    db.session.expire_all()
    assert ops.unread_answers(resident) == 0
