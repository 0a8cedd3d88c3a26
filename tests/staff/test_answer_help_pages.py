"""The deputy's answer form on the staff pages: earlier answers to reuse, hints after 检查 or as
JSON for the page's script, and the queue's search box; none of it stops an answer."""
import json
import uuid
from html import unescape

from backend.core.extensions import db
from backend.messages import operations as ops
from backend.messages.models import Message, MessageReply
from backend.messages.operations import submit_message
from tests.conftest import csrf_token
from tests.staff.test_message_access import message_world, state  # noqa: F401  (fixture)

OLD_LETTER = "解放北路的路灯不亮，我家老人晚上出门摔了一跤，电话13912345678。"
OLD_ANSWER = "已请区城管局路灯所维修解放北路路灯，三个工作日内修好，有问题请拨0510-88886666。"


def _answered_before(w):
    old = submit_message(resident=w.resident, deputy=w.deputy_a2, body=OLD_LETTER,
                         idempotency_key=uuid.uuid4().hex).message
    ops.reply(old, OLD_ANSWER, actor=w.users["deputy_other"])
    db.session.commit()
    return old


def test_the_deputy_sees_earlier_answers_but_not_who_wrote_them(client, login, message_world):
    w = message_world
    _answered_before(w)
    login(w.users["deputy"])
    html = unescape(client.get(f"/staff/inbox/{w.message.id}").get_data(as_text=True))
    section = html[html.index('data-testid="earlier-answers"'):]
    assert 'value="小区 门口 路灯"' in section  # prefilled with the message's key words
    assert section.count('data-testid="earlier-answer"') == 0  # 门口 is not in the old one
    html = unescape(client.get(f"/staff/inbox/{w.message.id}?answers_q=路灯").get_data(as_text=True))
    section = html[html.index('data-testid="earlier-answers"'):]
    assert section.count('data-testid="earlier-answer"') == 1
    assert "三个工作日内修好" in section and 'data-testid="use-answer"' in section
    assert "老人晚上出门摔了一跤" not in html and "13912345678" not in html
    assert "88886666" not in html  # numbers in an answer are not carried into another
    assert "js/answer_help.js" in html


def test_bad_search_words_are_said_on_the_page(client, login, message_world):
    w = message_world
    login(w.users["deputy"])
    resp = client.get(f"/staff/inbox/{w.message.id}?answers_q=！！")
    assert resp.status_code == 200
    assert "请输入至少两个字的关键词" in resp.get_data(as_text=True)
    # A NUL byte never reaches the search: every page refuses it first, in Chinese.
    resp = client.get(f"/staff/inbox/{w.message.id}?answers_q=路灯%00")
    assert resp.status_code == 400 and "无法识别的字符" in resp.get_data(as_text=True)


def test_check_shows_hints_and_keeps_the_draft_changing_nothing(client, login, message_world):
    w = message_world
    login(w.users["deputy"])
    page = f"/staff/inbox/{w.message.id}"
    token = csrf_token(client, page)  # opening the page marks it read: that is before
    before = state()
    resp = client.post(page + "/check-answer", data={"body": "已收悉，谢谢。", "csrf_token": token})
    html = unescape(resp.get_data(as_text=True))
    assert resp.status_code == 200 and ">已收悉，谢谢。</textarea>" in html
    assert 'data-code="no_action"' in html and "答复没有说明由哪个部门或单位负责办理" in html
    resp = client.post(page + "/check-answer", headers={"Accept": "application/json"},
                       data={"body": "关于小区门口路灯的问题，已联系城关街道办事处，本周内派员维修。",
                             "csrf_token": token})
    assert resp.status_code == 200 and json.loads(resp.get_data()) == {"hints": []}
    assert state() == before


def test_an_answer_with_hints_is_sent(client, login, message_world):
    w = message_world
    login(w.users["deputy"])
    page = f"/staff/inbox/{w.message.id}"
    resp = client.post(page + "/reply", data={"body": "已收悉，谢谢。",
                                              "csrf_token": csrf_token(client, page)},
                       follow_redirects=True)
    assert "答复已发送" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Message, w.message.id).status == "answered"
    assert db.session.scalar(db.select(MessageReply.body).filter_by(message_id=w.message.id)) == "已收悉，谢谢。"


def test_the_liaison_page_has_no_answer_form(client, login, message_world):
    w = message_world
    login(w.users["liaison_own"])
    html = client.get(f"/staff/messages/{w.message.id}").get_data(as_text=True)
    assert 'data-testid="earlier-answers"' not in html and 'data-testid="reply-form"' not in html


def test_queue_search_box(client, login, message_world):
    w = message_world
    login(w.users["liaison_own"])
    html = unescape(client.get("/staff/messages?q=不安全 路灯").get_data(as_text=True))
    assert f'data-id="{w.message.id}"' in html and f'data-id="{w.target.id}"' not in html
    assert "新的在前" in html
    resp = client.get("/staff/messages?q=，。！")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'data-testid="search-error"' in html
    assert 'data-testid="message-item"' not in html
