"""Consent (issue #12): wherever a phone number is asked, the resident reads what it is for,
who sees it and how long it is kept — every portal form with a phone field, and the
mini-program's documented field. Also: the subscriptions endpoint's document tells the truth
about who counts grants when WeChat's push is on."""
import re
from pathlib import Path

from backend.org.codes import active_code

TEMPLATES = Path(__file__).resolve().parents[2] / "backend" / "templates"
PHONE_INPUT = re.compile(r'<input[^>]*name="phone"')
CONSENT_RE = re.compile(r'data-testid="phone-consent">([^<]+)<')


def test_every_template_with_a_phone_field_shows_the_consent():
    with_phone = [p for p in TEMPLATES.rglob("*.html") if PHONE_INPUT.search(p.read_text())]
    assert with_phone, "the phone fields moved: update this test"
    missing = [str(p.relative_to(TEMPLATES)) for p in with_phone
               if "phone_consent(" not in p.read_text()]
    assert missing == []


def test_the_forms_say_what_the_phone_is_for_who_sees_it_and_how_long(client, db, pd_deputy,
                                                                       appt_world):
    db.session.commit()
    pages = {
        "message": f"/d/{active_code(pd_deputy).token}/write",
        "booking": f"/stations/{appt_world.station.id}/book",
        "meeting": f"/stations/{appt_world.station.id}/meet",
    }
    for name, url in pages.items():
        page = client.get(url)
        assert page.status_code == 200, url
        html = page.get_data(as_text=True)
        assert PHONE_INPUT.search(html), url
        consent = CONSENT_RE.search(html)
        assert consent, f"{name}: no consent text by the phone field"
        text = consent.group(1)
        assert "只用于" in text and "能看到" in text and "24个月" in text, text
    write = client.get(pages["message"]).get_data(as_text=True)
    assert "联系您核实情况和答复留言" in CONSENT_RE.search(write).group(1)


def test_the_retention_period_in_the_text_is_the_setting(app, client, db, pd_deputy):
    db.session.commit()
    app.config["RETENTION_MONTHS"] = 36
    try:
        html = client.get(f"/d/{active_code(pd_deputy).token}/write").get_data(as_text=True)
    finally:
        app.config["RETENTION_MONTHS"] = 24
    assert "满36个月" in CONSENT_RE.search(html).group(1)


def test_the_mini_program_document_carries_the_consent_and_the_true_subscription_rule(client):
    doc = client.get("/api/mp/v1/openapi.json").json
    described = [schema["properties"]["phone"]["description"]
                 for schema in doc["components"]["schemas"].values()
                 if "phone" in schema.get("properties", {})
                 and "联系您核实情况和答复留言" in schema["properties"]["phone"].get("description", "")]
    assert described, "the message's phone field must carry the consent text"
    post = doc["paths"]["/subscriptions"]["post"]
    assert "+1" not in post["summary"]
    assert "消息推送" in post["description"] and "不再计数" in post["description"]
    assert "/me/data" in doc["paths"] and "/me/delete" in doc["paths"]
