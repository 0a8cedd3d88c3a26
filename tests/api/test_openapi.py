"""The OpenAPI document is built from the routes and their schemas: every route is in it,
with its request and response schemas and the bearer scheme where a token is needed."""
import re

from miniprogram_api import bp


def test_every_route_is_documented(api, app):
    resp = api.get("/openapi.json")
    assert resp.status_code == 200
    doc = resp.json
    assert doc["openapi"].startswith("3.") and doc["servers"] == [{"url": "/api/mp/v1"}]
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(bp.name + "."):
            continue
        path = rule.rule[len(bp.url_prefix):]
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, f"{method} {path} is not documented"
            operation = doc["paths"][path][method.lower()]
            assert operation["summary"], f"{method} {path} has no summary"


def test_schemas_security_and_errors(api):
    doc = api.get("/openapi.json").json
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer",
        "description": "POST /auth/login 返回的 token，放在 Authorization: Bearer <token> 里"}
    submit = doc["paths"]["/messages"]["post"]
    assert submit["security"] == [{"bearerAuth": []}]
    assert submit["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MessageIn"}
    assert set(submit["responses"]) >= {"201", "200", "401", "422", "default"}
    assert submit["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"}
    login = doc["paths"]["/auth/login"]["post"]
    assert login["security"] == []
    session = doc["components"]["schemas"]["SessionOut"]["properties"]
    assert "session_key" not in session and session["token"]["readOnly"]
    message_in = doc["components"]["schemas"]["MessageIn"]
    assert set(message_in["required"]) == {"body", "idempotency_key"}
    assert message_in["properties"]["photo_ids"]["writeOnly"]
    upload = doc["paths"]["/photos"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
    queue = doc["paths"]["/liaison/queue"]["get"]
    assert {p["name"] for p in queue["parameters"]} >= {"status", "deputy_id", "overdue", "cursor"}
    detail = doc["paths"]["/deputy/messages/{message_id}"]["get"]
    assert detail["parameters"][0] == {"in": "path", "name": "message_id", "required": True,
                                       "schema": {"type": "integer"}}
