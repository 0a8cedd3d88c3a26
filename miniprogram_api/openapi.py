"""The OpenAPI 3 document of this API, built from the routes themselves: each handler's
`endpoint` declaration (the schemas it loads and dumps) and its audience decorator."""
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import current_app, jsonify

from miniprogram_api import bp
from miniprogram_api.endpoint import Endpoint, endpoint
from miniprogram_api.schemas import Error

_PARAM_RE = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
_PARAM_TYPES = {"int": "integer", "float": "number"}
AUDIENCES = {
    "resident": "任何已登录的微信用户",
    "deputy": "已绑定微信的代表（代表模式）",
    "liaison": "已绑定微信的联络员（联络员模式）",
}


@bp.get("/openapi.json")
@endpoint()
def openapi_document():
    """本接口的 OpenAPI 3 文档"""
    cached = current_app.extensions.get("lianxin_mp_openapi")
    if cached is None:
        cached = current_app.extensions["lianxin_mp_openapi"] = build_spec(current_app)
    return jsonify(cached)


def build_spec(app) -> dict:
    spec = APISpec(title="连心桥小程序接口", version="1", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "选民给人大代表留言的小程序后端。出错时统一返回 Error："
                                        "code 是稳定的英文代码，message 是中文说明。"})
    spec.components.schema("Error", schema=Error)
    spec.components.security_scheme("bearerAuth", {
        "type": "http", "scheme": "bearer",
        "description": "POST /auth/login 返回的 token，放在 Authorization: Bearer <token> 里"})
    paths: dict[str, dict] = {}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(bp.name + "."):
            continue
        view = app.view_functions[rule.endpoint]
        path = rule.rule[len(bp.url_prefix):]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(rule, view, path)
    for path, operations in sorted(paths.items()):
        spec.path(path=_PARAM_RE.sub(r"{\2}", path), operations=operations)
    doc = spec.to_dict()
    doc["servers"] = [{"url": bp.url_prefix}]
    return doc


def _operation(rule, view, path: str) -> dict:
    meta: Endpoint = getattr(view, "mp_endpoint", None) or Endpoint()
    audience = getattr(view, "mp_audience", None)
    summary, _, details = (view.__doc__ or "").strip().partition("\n")
    operation = {
        "operationId": rule.endpoint.split(".", 1)[1],
        "summary": summary,
        "tags": [path.strip("/").split("/")[0]],
        "parameters": [{"in": "path", "name": name, "required": True,
                        "schema": {"type": _PARAM_TYPES.get(converter, "string")}}
                       for converter, name in _PARAM_RE.findall(rule.rule)],
        "responses": _responses(meta, audience, bool(rule.arguments)),
        "security": [{"bearerAuth": []}] if audience else [],
    }
    if audience:
        operation["description"] = f"调用者：{AUDIENCES[audience]}。" + details.strip()
    if meta.query:
        operation["parameters"].append({"in": "query", "schema": meta.query})
    if meta.body:
        operation["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": meta.body}}}
    if meta.form:
        operation["requestBody"] = {"required": True,
                                    "content": {"multipart/form-data": {"schema": meta.form}}}
    return operation


def _responses(meta: Endpoint, audience: str | None, has_path_args: bool) -> dict:
    if meta.file_type:
        content = {meta.file_type: {"schema": {"type": "string", "format": "binary"}}}
    else:
        content = {"application/json": {"schema": meta.out or {"type": "object"}}}
    responses = {str(meta.status): {"description": "成功", "content": content}}
    if meta.replay:
        # A handler whose first success is 200 as well keeps saying so.
        first = "成功；" if meta.status == 200 else ""
        responses["200"] = {"description": f"{first}重复提交：返回第一次的结果", "content": content}
    # Every request passes backend/core/input_edges.py first.
    errors = {"default": "出错（见 Error.code）",
              "400": "请求格式有误（bad_request），或含有无法识别的字符（invalid_characters）"}
    if meta.input:
        errors["422"] = "提交的内容有误（validation_failed，errors 按字段列出）"
    if audience:
        errors["401"] = ("未登录（token_missing）、登录已过期（token_expired）、登录信息无效（token_invalid），"
                         "或居民已删除个人信息、原来的登录失效（token_revoked）：请重新登录")
    if audience in ("deputy", "liaison") or has_path_args:
        errors["403"] = "无权进行此操作"
    if has_path_args:
        errors["404"] = "不存在，或不是您的"
    errors.update(meta.errors or {})
    error_body = {"application/json": {"schema": "Error"}}
    responses.update({status: {"description": text, "content": error_body}
                      for status, text in errors.items()})
    return responses
