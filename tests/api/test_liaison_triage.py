"""Liaison mode shows the triage model's help: the category suggestion in the queue and on a
message (null, not an error, without a model), the routing table's assignee, near-duplicates;
setting the category records the decision. Deputy mode shows none of it."""
import uuid

from backend.core.extensions import db
from backend.messages import operations as ops
from backend.messages import routing
from backend.messages.hot_clusters import update_clusters
from backend.messages.triage_model import MessageTriage
from backend.triage import category

BUS = "解放路公交站台取消后，附近居民要走一公里才能坐上公交车，希望恢复公交站点，增加班次。"
BUS_AGAIN = "希望恢复公交站点、增加班次！解放路公交站台取消以后，附近居民要走一公里才能坐上公交车。电话13912345678"


def _submit(world, body):
    return ops.submit_message(resident=world.other, deputy=world.deputy, body=body,
                              idempotency_key=uuid.uuid4().hex).message


def test_liaison_sees_suggestion_assignee_and_duplicates(api, world, make_staff):
    category.forget_models()
    first, copy = _submit(world, BUS), _submit(world, BUS_AGAIN)
    routing.add_rule(world.station, category="城乡建设", deputy=world.deputy_b, actor=make_staff("admin"))
    db.session.commit()
    token = world.tokens["liaison"]
    queue = api.get("/liaison/queue", token).json
    by_id = {m["id"]: m for m in queue["items"]}
    assert by_id[first.id]["category_suggestion"]["label"] == "城乡建设"
    assert by_id[first.id]["category_suggestion"]["uncertain"] is False

    detail = api.get(f"/liaison/messages/{copy.id}", token).json
    s = detail["category_suggestion"]
    assert s["label"] == "城乡建设" and 0.5 < s["confidence"] <= 1 and s["decision"] is None
    assert detail["suggested_assignee"] == {"kind": "deputy", "id": world.deputy_b.id,
                                            "name": world.deputy_b.name + "代表"}
    assert [(d["id"], d["tracking_no"]) for d in detail["duplicates"]] == [(first.id, first.tracking_no)]

    done = api.post(f"/liaison/messages/{copy.id}/category", token, json={"category": "交通运输"})
    assert done.status_code == 200
    assert (done.json["category"], done.json["category_suggestion"]["decision"],
            done.json["category_suggestion"]["decided_label"]) == ("交通运输", "corrected", "交通运输")
    merged = api.post(f"/liaison/messages/{copy.id}/merge", token, json={"into_id": first.id})
    assert merged.status_code == 200 and merged.json["status"] == "merged"


def test_uncertain_suggestion_lists_its_top3(api, world):
    road = _submit(world, "小区门口的道路施工半年了还没完工，路面坑洼不平，希望尽快修好。")
    db.session.commit()
    s = api.get(f"/liaison/messages/{road.id}", world.tokens["liaison"]).json["category_suggestion"]
    labels = [c["label"] for c in s["top3"]]  # a road is 城乡建设 or 交通运输 to this model
    assert len(labels) == 3 and set(labels[:2]) == {"交通运输", "城乡建设"}
    assert abs(sum(c["probability"] for c in s["top3"]) - 1) < 0.01


def test_without_a_model_the_fields_are_null_and_nothing_fails(api, world, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "TRIAGE_MODEL_DIR", str(tmp_path / "none"))
    db.session.commit()
    token = world.tokens["liaison"]
    detail = api.get(f"/liaison/messages/{world.message.id}", token)
    assert detail.status_code == 200
    assert detail.json["category_suggestion"] is None and detail.json["suggested_assignee"] is None
    assert api.post(f"/liaison/messages/{world.message.id}/category", token,
                    json={"category": "民政"}).json["category"] == "民政"
    assert db.session.scalar(db.select(db.func.count()).select_from(MessageTriage)) == 0
    category.forget_models()


def test_deputy_mode_shows_no_triage_help(api, world):
    detail = api.get(f"/deputy/messages/{world.message.id}", world.tokens["deputy"]).json
    assert not {"category_suggestion", "suggested_assignee", "duplicates"} & set(detail)
    items = api.get("/deputy/inbox", world.tokens["deputy"]).json["items"]
    assert "category_suggestion" not in items[0]


def test_openapi_documents_the_triage_fields(api):
    doc = api.get("/openapi.json").json
    schemas = doc["components"]["schemas"]
    assert {"CategorySuggestionOut", "AssigneeOut", "DuplicateOut", "LabelChanceOut"} <= set(schemas)
    assert {"category_suggestion", "suggested_assignee", "duplicates"} <= set(schemas["LiaisonMessageOut"]["properties"])


def test_hot_issues_in_liaison_mode(api, world, make_resident):
    texts = ["桂花苑小区3号楼电梯坏了两个星期，物业一直不修，老人上下楼很困难。",
             "桂花苑小区3号楼的电梯已经坏了半个月，物业不管不问，老人没法下楼。"]
    ids = [ops.submit_message(resident=make_resident(), deputy=world.deputy, body=t,
                              idempotency_key=uuid.uuid4().hex).message.id for t in texts]
    update_clusters()  # the scheduler's triage job
    db.session.commit()
    (issue,) = api.get("/liaison/hot-issues?days=7", world.tokens["liaison"]).json["items"]
    assert issue["residents"] == 2 and [m["id"] for m in issue["messages"]] == ids
    assert api.get("/liaison/hot-issues", world.tokens["other_liaison"]).json["items"] == []
    bad = api.get("/liaison/hot-issues?days=5", world.tokens["liaison"])
    assert bad.status_code == 422 and bad.json["errors"] == {"days": ["请选择 7、30 或 90 天"]}
    other = api.get(f"/liaison/hot-issues?station_id={world.station.id}", world.tokens["other_liaison"])
    assert other.status_code == 403 and other.json["code"] == "station_forbidden"
