"""Public cards by token and by scene; subscribe-message grants counted per template."""
import pytest

from backend.accounts.resident_model import SubscribeGrant


def _code(deputy):
    from backend.org.codes import active_code
    return active_code(deputy).token


@pytest.mark.parametrize("scene", [
    "{t}", "{t}%20", "https%3A%2F%2Fx.cn%2Fd%2F{t}", "https://x.cn/d/{t}?a=1"])
def test_deputy_card_by_scene(api, make_deputy, scene):
    deputy = make_deputy(name="王建国")
    resp = api.get("/deputies/by-scene", query_string={"scene": scene.format(t=_code(deputy))})
    assert resp.status_code == 200, resp.json
    assert resp.json["name"] == "王建国" and resp.json["token"] == _code(deputy)


def test_scene_errors(api):
    assert api.get("/deputies/by-scene").json["errors"] == {"scene": ["此项必填"]}
    resp = api.get("/deputies/by-scene?scene=nope")
    assert resp.status_code == 404 and resp.json["code"] == "code_unknown"


@pytest.fixture
def templates(app, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_TEMPLATES", {
        "message.answered": "TPL-MSG", "message.rejected": "TPL-MSG",
        "reception.reminder": "TPL-REC"})


def test_grants_are_counted_per_acceptance(api, db, templates, make_resident, token_for):
    resident = make_resident()
    token = token_for(resident)
    listed = api.get("/subscriptions", token).json["templates"]
    assert listed == [
        {"template_id": "TPL-MSG", "topics": ["message.answered", "message.rejected"],
         "remaining": 0},
        {"template_id": "TPL-REC", "topics": ["reception.reminder"], "remaining": 0}]
    api.post("/subscriptions", token, json={"template_ids": ["TPL-MSG", "TPL-MSG", "UNKNOWN"]})
    resp = api.post("/subscriptions", token, json={"template_ids": ["TPL-MSG", "TPL-REC"]})
    assert {t["template_id"]: t["remaining"] for t in resp.json["templates"]} == {
        "TPL-MSG": 2, "TPL-REC": 1}
    assert db.session.scalar(db.select(db.func.count()).select_from(SubscribeGrant)) == 2


def test_grants_need_a_list(api, templates, make_resident, token_for):
    token = token_for(make_resident())
    assert api.post("/subscriptions", token, json={"template_ids": []}).json["errors"] == {
        "template_ids": ["请提交1到10个模板"]}
    assert api.post("/subscriptions", token, json={"template_ids": "TPL"}).json["errors"] == {
        "template_ids": ["请以列表形式提交"]}
