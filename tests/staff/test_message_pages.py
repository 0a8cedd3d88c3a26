"""The message pages at work: every action through its form, refusals that change nothing, the
queue's filters and keyset paging, overdue badges, the inbox's unread marks."""
import re
import uuid
from datetime import date, datetime, timedelta, timezone
from html import unescape

import pytest

from backend.core.extensions import db
from backend.messages.models import Message, MessageEvent, MessageReply
from backend.messages import operations as ops
from backend.workdays.holidays import add_override
from backend.messages.operations import submit_message
from backend.core.timeutil import local_today
from backend.workdays.calendar import coverage_notice, unknown_years
from tests.conftest import csrf_token
from tests.staff.test_message_access import message_world, state  # noqa: F401  (fixture)

ITEM_RE = re.compile(r'data-testid="message-item" data-id="(\d+)"')
NEXT_RE = re.compile(r'href="([^"]+)" data-testid="next"')
FLASH_RE = re.compile(r'class="lx-flash lx-flash--(\w+)" role="status">([^<]*)<')


def _ids(html: str) -> list[int]:
    return [int(i) for i in ITEM_RE.findall(html)]


def _flashes(html: str) -> list[tuple[str, str]]:
    return [(kind, unescape(text)) for kind, text in FLASH_RE.findall(html)]


def _post(client, url: str, data: dict, form_url: str) -> str:
    """Submit a form from the page that shows it, as a browser does, and land where it leads."""
    resp = client.post(url, data={**data, "csrf_token": csrf_token(client, form_url)},
                       follow_redirects=True)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    return resp.get_data(as_text=True)


def _reload(message) -> Message:
    db.session.expire_all()
    return db.session.get(Message, message.id)


def _submit(world, body: str, **kw) -> Message:
    return submit_message(resident=world.resident, body=body, idempotency_key=uuid.uuid4().hex,
                          **{"deputy": world.deputy_a, **kw}).message


# ---- every action through its page ----

# (who, which message, action URL tail, form, what must hold afterwards, flashed text);
# `{name}` in form values is the id of that object of the world.
ACTIONS = {
    "acknowledge": ("liaison_own", "message", "acknowledge", {},
                    lambda m, w: m.status == "acknowledged" and m.acknowledged_at, "已受理"),
    "category": ("liaison_own", "message", "category", {"category": "城乡建设"},
                 lambda m, w: m.category == "城乡建设", "已设置分类：城乡建设"),
    "assign": ("liaison_own", "message", "assign", {"deputy_id": "{deputy_a2}"},
               lambda m, w: m.assigned_deputy_id == w.deputy_a2.id and m.status == "acknowledged",
               "已分办给李秀英代表"),
    "merge picked": ("liaison_own", "message", "merge", {"into_id": "{target}"},
                     lambda m, w: m.status == "merged" and m.merged_into_id == w.target.id,
                     "已合并到留言"),
    "merge typed": ("liaison_own", "message", "merge", {"tracking_no": "{target_no}"},
                    lambda m, w: m.status == "merged" and m.merged_into_id == w.target.id,
                    "已合并到留言"),
    "forward": ("liaison_own", "message", "forward", {"to": "12345市民服务热线", "ref": "GD-88"},
                lambda m, w: m.status == "forwarded" and m.forward_ref == "GD-88",
                "已转交12345市民服务热线办理"),
    "reject": ("liaison_own", "message", "reject", {"reason": "与代表履职无关"},
               lambda m, w: m.status == "rejected" and m.reject_reason == "与代表履职无关",
               "已不予受理"),
    "release": ("admin", "held", "release", {},
                lambda m, w: m.status == "new" and m.hold_reason == "", "已审核放行"),
    "reject held": ("liaison_own", "held", "reject", {"reason": "广告信息"},
                    lambda m, w: m.status == "rejected", "审核未通过"),
    "note": ("liaison_own", "message", "note",
             {"text": "已电话联系居民", "idempotency_key": "page-message-note"},
             lambda m, w: m.events[-1].is_internal and m.events[-1].text == "已电话联系居民",
             "已添加内部备注"),
    "reply": ("deputy", "message", "reply", {"body": "已联系街道，本周内修好路灯。"},
              lambda m, w: m.status == "answered" and m.replies[-1].body.startswith("已联系街道"),
              "答复已发送"),
    "request info": ("deputy", "message", "request-info", {"body": "请问是哪一栋楼门口？"},
                     lambda m, w: m.status == "awaiting_info"
                     and m.replies[-1].kind == "info_request",
                     "已请居民补充信息"),
    "hand back": ("deputy", "message", "hand-back", {"reason": "不属于我的选区"},
                  lambda m, w: m.assigned_deputy_id is None and m.events[-1].is_internal,
                  "已退回联络员"),
}


@pytest.mark.parametrize("name", ACTIONS)
def test_each_action_through_its_page(client, login, message_world, name):
    w = message_world
    role, which, tail, data, holds, flashed = ACTIONS[name]
    message = getattr(w, which)
    login(w.users[role])
    base = "/staff/inbox" if role == "deputy" else "/staff/messages"
    form = {key: value.format(target_no=w.target.tracking_no.lower(), target=w.target.id,
                              deputy_a2=w.deputy_a2.id) for key, value in data.items()}
    html = _post(client, f"{base}/{message.id}/{tail}", form, form_url=f"{base}/{message.id}")
    assert holds(_reload(message), w)
    assert any(kind == "success" and flashed in text for kind, text in _flashes(html)), \
        _flashes(html)


def test_action_forms_follow_the_status(client, login, message_world):
    w = message_world
    login(w.users["liaison_own"])
    held = client.get(f"/staff/messages/{w.held.id}").get_data(as_text=True)
    assert 'data-testid="release"' in held and "审核不通过" in held
    assert 'data-testid="acknowledge"' not in held and 'data-testid="assign"' not in held
    new = client.get(f"/staff/messages/{w.message.id}").get_data(as_text=True)
    for testid in ("acknowledge", "assign", "category", "merge", "forward", "reject", "note"):
        assert f'data-testid="{testid}"' in new, testid
    assert w.target.tracking_no in new  # offered as a merge candidate
    assert 'data-testid="reply-form"' not in new  # liaisons never answer for the deputy
    ops.reply(_reload(w.message), "已经处理完毕，请查看。", actor=w.users["deputy"])
    db.session.commit()
    answered = client.get(f"/staff/messages/{w.message.id}").get_data(as_text=True)
    assert 'data-testid="reject"' not in answered and 'data-testid="note"' in answered


def test_illegal_action_flashes_and_changes_nothing(client, login, message_world):
    w = message_world
    ops.reply(w.message, "已经处理完毕，请查看。", actor=w.users["deputy"])
    db.session.commit()
    login(w.users["liaison_own"])
    before = state()
    url = f"/staff/messages/{w.message.id}"
    html = _post(client, url + "/reject", {"reason": "重复留言"}, form_url=url)
    assert ("error", "留言当前为「已答复」，不能不予受理") in _flashes(html)
    assert state() == before


@pytest.mark.parametrize("tail,data,error", [
    ("reject", {"reason": " "}, "请填写不予受理的理由，居民会看到它"),
    ("assign", {}, "请选择要分办的代表"),
    ("category", {"category": "天气"}, "请选择分类"),
    ("merge", {"tracking_no": "LY20200101-999999"}, "没有找到这个编号的留言"),
    ("merge", {}, "请选择或填写要合并到的留言"),
    ("forward", {"to": ""}, "请填写转办单位"),
])
def test_bad_input_flashes_the_reason_and_changes_nothing(client, login, message_world, tail,
                                                         data, error):
    w = message_world
    login(w.users["liaison_own"])
    before = state()
    url = f"/staff/messages/{w.message.id}"
    html = _post(client, f"{url}/{tail}", data, form_url=url)
    assert any(kind == "error" and error in text for kind, text in _flashes(html)), _flashes(html)
    assert state() == before


def test_merge_into_another_stations_message_is_refused(client, login, message_world):
    w = message_world
    other = _submit(w, "桂花坪的垃圾站太臭了，夏天更严重。", deputy=w.deputy_b)
    db.session.commit()
    login(w.users["liaison_own"])
    before = state()
    url = f"/staff/messages/{w.message.id}"
    html = _post(client, url + "/merge", {"tracking_no": other.tracking_no}, form_url=url)
    assert ("error", "您没有权限进行此操作") in _flashes(html)
    assert state() == before


def test_deputy_who_hands_back_lands_on_the_inbox(client, login, message_world):
    w = message_world
    ops.assign(w.message, w.deputy_a2, actor=w.users["admin"])  # no longer addressed to them
    db.session.commit()
    login(w.users["deputy_other"])
    url = f"/staff/inbox/{w.message.id}"
    resp = client.post(url + "/hand-back", data={"reason": "不属于我的选区",
                                                 "csrf_token": csrf_token(client, url)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/staff/inbox")


# ---- the queue: filters, keyset paging, overdue ----

@pytest.fixture
def busy_station(db, message_world):
    """45 more messages in station A over 45 days, so the queue has three pages."""
    w = message_world
    start = datetime(2026, 9, 1, 2, tzinfo=timezone.utc)
    w.many = [_submit(w, f"第{i}条：楼道灯不亮了，请尽快修理。", now=start + timedelta(days=i))
              for i in range(45)]
    db.session.commit()
    return w


def test_next_page_links_walk_the_whole_queue_once(client, login, busy_station):
    w = busy_station
    login(w.users["liaison_own"])
    seen, url, pages = [], "/staff/messages?status=all", 0
    while url:
        html = client.get(url).get_data(as_text=True)
        assert "page=" not in html  # keyset paging: no page numbers, no offsets
        seen += _ids(html)
        pages += 1
        found = NEXT_RE.search(html)
        url = unescape(found.group(1)) if found else None
        if url:
            assert "cursor=" in url and "status=all" in url  # the filters travel with the cursor
    expected = db.session.scalars(db.select(Message.id).where(Message.station_id == w.station_a.id)
                                  .order_by(Message.answer_due_at, Message.id)).all()
    assert seen == expected and len(seen) == len(set(seen)) == 48 and pages == 3


def test_queue_filters(client, login, busy_station):
    w = busy_station
    ops.set_category(w.many[3], "交通运输", actor=w.users["admin"])
    ops.assign(w.many[4], w.deputy_a2, actor=w.users["admin"])
    ops.reject(w.many[5], reason="重复留言", actor=w.users["admin"])
    db.session.commit()
    login(w.users["liaison_own"])

    def ids(query: str) -> set[int]:
        resp = client.get(f"/staff/messages?{query}")
        assert resp.status_code == 200, resp.get_data(as_text=True)[:1000]
        return set(_ids(resp.get_data(as_text=True)))

    assert ids("category=交通运输") == {w.many[3].id}
    assert ids(f"deputy={w.deputy_a2.id}") == {w.many[4].id}
    assert ids("status=rejected") == {w.many[5].id}
    assert w.many[5].id not in ids("status=todo")
    assert ids("held=1") == ids("status=held") == {w.held.id}
    assert ids("q=第17条") == {w.many[17].id}
    assert ids("from=2026-09-03&to=2026-09-04") == {w.many[2].id, w.many[3].id}
    assert ids(f"station={w.station_a.id}&status=new&q=第1") == {
        w.many[i].id for i in (1, *range(10, 20))}


def test_overdue_badge_and_count(client, login, message_world):
    w = message_world
    late = _submit(w, "三个月前反映的井盖松动，还没有人来修。",
                   now=datetime.now(timezone.utc) - timedelta(days=90))
    db.session.commit()
    login(w.users["liaison_own"])
    html = client.get("/staff/messages").get_data(as_text=True)
    first = html.index('data-testid="message-item"')
    assert _ids(html)[0] == late.id  # the oldest overdue leads
    assert 'data-testid="overdue"' in html[first:html.index("</a>", first)]
    assert html.count('data-testid="overdue"') == 1
    assert re.search(r'data-testid="count-overdue">\s*<span class="lx-count__num">1<', html)
    assert _ids(client.get("/staff/messages?overdue=1").get_data(as_text=True)) == [late.id]
    detail = client.get(f"/staff/messages/{late.id}").get_data(as_text=True)
    assert 'data-testid="overdue"' in detail


def test_missing_holiday_years_show_a_banner(client, login, message_world):
    w = message_world
    login(w.users["liaison_own"])
    year = local_today().year
    notice = coverage_notice(year, year + 1)
    html = client.get("/staff/messages").get_data(as_text=True)
    assert (notice is not None) == ('data-testid="coverage"' in html)
    for missing in unknown_years(year, year + 1):  # an admin enters the notice's days
        add_override(date(missing, 1, 1), "holiday", "元旦", actor=w.users["admin"])
    db.session.commit()
    assert 'data-testid="coverage"' not in client.get("/staff/messages").get_data(as_text=True)


# ---- the deputy's inbox ----

def test_inbox_unread_badge_read_on_open_and_more_link(client, login, busy_station):
    w = busy_station
    login(w.users["deputy"])
    html = client.get("/staff/inbox").get_data(as_text=True)
    newest = max(m.id for m in w.many)
    assert _ids(html)[0] == newest and len(_ids(html)) == 20
    assert re.search(r'data-testid="unread-count">47 条未读', html)  # 45 + message + target
    assert html.count('data-testid="unread"') == 20
    client.get(f"/staff/inbox/{newest}")
    assert _reload(w.many[-1]).deputy_read_at is not None
    html = client.get("/staff/inbox").get_data(as_text=True)
    assert re.search(r'data-testid="unread-count">46 条未读', html)
    assert html.count('data-testid="unread"') == 19
    seen, url = [], "/staff/inbox?show=all"
    while url:
        page = client.get(url).get_data(as_text=True)
        seen += _ids(page)
        found = NEXT_RE.search(page)
        url = unescape(found.group(1)) if found else None
    assert len(seen) == len(set(seen)) == 47  # the held message is not the deputy's yet


def test_inbox_todo_and_all(client, login, message_world):
    w = message_world
    ops.reply(w.target, "路灯已经报修，请留意。", actor=w.users["deputy"])
    db.session.commit()
    login(w.users["deputy"])
    assert _ids(client.get("/staff/inbox").get_data(as_text=True)) == [w.message.id]
    assert _ids(client.get("/staff/inbox?show=all").get_data(as_text=True)) == [w.target.id,
                                                                                w.message.id]


def test_reading_on_the_liaison_url_does_not_mark_read(client, login, message_world):
    w = message_world
    login(w.users["deputy"])
    assert client.get(f"/staff/messages/{w.message.id}").status_code == 200
    assert _reload(w.message).deputy_read_at is None


def test_home_menu_links_with_counts(client, login, message_world):
    w = message_world
    login(w.users["liaison_own"])
    html = client.get("/staff/").get_data(as_text=True)
    assert 'href="/staff/messages"' in html and "待办 3 条" in html
    client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/")})
    login(w.users["deputy"])
    html = client.get("/staff/").get_data(as_text=True)
    assert 'href="/staff/inbox"' in html and "2 条未读" in html


def test_answer_and_timeline_show_on_the_message(client, login, message_world):
    w = message_world
    login(w.users["deputy"])
    url = f"/staff/inbox/{w.message.id}"
    html = _post(client, url + "/reply", {"body": "已联系街道，本周内修好路灯。"}, form_url=url)
    assert 'data-testid="reply-form"' not in html  # answered: nothing more to answer
    timeline = html[html.index('data-testid="timeline"'):]
    assert "已联系街道，本周内修好路灯。" in timeline and "王建国代表" in timeline
    assert db.session.scalar(db.select(db.func.count()).select_from(MessageReply)) == 1
    assert db.session.scalar(db.select(db.func.count()).select_from(MessageEvent)
                             .filter_by(kind="reply")) == 1
