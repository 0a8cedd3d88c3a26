"""The local word list cannot be slipped past with invisible characters, inserted spaces,
full-width letters or traditional characters; and what a resident sends is stored without the
invisible characters (a message never hides text from the liaison who reads it)."""
import pytest

from backend.messages.moderation_model import ContentRule
from backend.messages.moderation import check_content
from backend.core.textcount import clean_text

CLEAN = "小区门口的路灯坏了一个多月，晚上很不安全。"


@pytest.fixture
def rules(db):
    db.session.add_all([ContentRule(word="代开发票", label="广告"),
                        ContentRule(word="casino", label="广告"),
                        ContentRule(word="網絡賭場", label="广告")])  # kept in traditional
    db.session.flush()


@pytest.mark.parametrize("text", [
    "专业代开发票，价格优惠",                    # the word itself
    "专业代\u200b开\u200b发票，价格优惠",          # zero-width spaces
    "专业代\u00ad开发\u00ad票，价格优惠",          # soft hyphens
    "专业代\u2060开\ufeff发\u200d票，价格优惠",      # word joiner, BOM, zero-width joiner
    "专业代\u202e开发票\u202c，价格优惠",           # a bidi override
    "专业代 开 发 票，价格优惠",                   # inserted spaces
    "专业代\u3000开\u00a0发\t票，价格优惠",          # ideographic and no-break spaces, a tab
    "专业代开\n发票，价格优惠",                    # a line break
    "专业代開發票，价格优惠",                      # traditional characters
    "专业代 開\u200b發 票，价格优惠",                # all at once
    "欢迎光临ＣＡＳＩＮＯ",                          # full-width letters (NFKC)
    "欢迎光临 CaSiNo 娱乐",                        # case
    "推荐一个网络赌场",                            # a traditional word in the list, simplified text
])
def test_the_word_list_holds_every_disguise(rules, text):
    verdict = check_content(text)
    assert verdict.hold and verdict.source == "words", text


@pytest.mark.parametrize("text", [
    CLEAN,
    "请帮忙开具发票的事情咨询一下",  # the characters, not the word
    "ca sino 之间的空格不在汉字之间，不算",  # spaces between letters are kept: words stay apart
])
def test_ordinary_text_is_not_held(rules, text):
    assert not check_content(text).hold


def test_a_submitted_message_is_stored_without_invisible_characters(rules, submit):
    body = "小区\u200b门口\u00ad的路灯\ufeff坏了\u202e一个多月\u2066，\n晚上很不安全。👨\u200d👩\u200d👧"
    message = submit(body=body).message
    assert message.body == "小区门口的路灯坏了一个多月，\n晚上很不安全。👨\u200d👩\u200d👧"
    assert message.status != "held"


def test_a_disguised_word_in_a_submission_holds_it(rules, submit):
    message = submit(body="专业代\u200b開 發票，价格优惠，欢迎联系。").message
    assert message.status == "held"
    assert message.body == "专业代開 發票，价格优惠，欢迎联系。"


def test_clean_text_keeps_emoji_sequences_but_drops_stray_joiners():
    assert clean_text("家\u200d人👨\u200d👩\u200d👧") == "家人👨\u200d👩\u200d👧"
    assert clean_text("\u200d开头和结尾\u200d") == "开头和结尾"
