"""分办规则: the office's routing table and the assignee it suggests for a message.

A rule names a station, a category, optional keywords and either one of the station's deputies
or a department. For a message, the rules of its station for its category (the one set, else
the model's suggestion) are tried: a rule whose keyword appears in the message wins over a rule
without keywords; among equals the older rule wins. A rule whose deputy left the station or
whose department was deactivated is skipped, never suggested.
"""
from dataclasses import dataclass

import sqlalchemy as sa

from backend.core.audit import record, snapshot
from backend.core.errors import Forbidden, ValidationFailed
from backend.core.extensions import db
from backend.core.textcount import clean_text
from backend.messages.models import Message
from backend.messages.operations import CATEGORIES
from backend.messages.triage_model import RoutingRule
from backend.org.models import Deputy, Department, Station

RULE_FIELDS = ("station_id", "category", "keywords", "deputy_id", "department_id")
KEYWORDS_MAX, KEYWORD_MAX = 10, 20


def can_edit_routing(user) -> bool:
    return getattr(user, "role", None) == "admin"


@dataclass(frozen=True)
class Route:
    rule: RoutingRule
    deputy: Deputy | None
    department: Department | None

    @property
    def label(self) -> str:
        return self.rule.assignee_label


def add_rule(station: Station, *, category: str, keywords: str = "", deputy: Deputy | None = None,
             department: Department | None = None, actor) -> RoutingRule:
    if not can_edit_routing(actor):
        raise Forbidden("只有代工委可以设置分办规则", code="routing_forbidden")
    errors = {}
    if category not in CATEGORIES:
        errors["category"] = ["请选择分类"]
    words = clean_text(keywords or "").replace("，", " ").replace(",", " ").replace("、", " ").split()
    if len(words) > KEYWORDS_MAX or any(len(w) > KEYWORD_MAX for w in words):
        errors["keywords"] = [f"关键词最多{KEYWORDS_MAX}个，每个不超过{KEYWORD_MAX}个字，用空格分开"]
    if (deputy is None) == (department is None):
        errors["assignee"] = ["请选择一位代表或一个承办单位"]
    elif deputy is not None and (not deputy.is_active or station.id not in {s.id for s in deputy.stations}):
        errors["assignee"] = ["只能选择本站在职代表"]
    elif department is not None and not department.is_active:
        errors["assignee"] = ["该承办单位已停用"]
    if errors:
        raise ValidationFailed("分办规则填写有误", code="routing_rule_invalid", errors=errors)
    rule = RoutingRule(station_id=station.id, category=category, keywords=" ".join(dict.fromkeys(words)),
                       deputy_id=deputy.id if deputy else None,
                       department_id=department.id if department else None)
    db.session.add(rule)
    db.session.flush()
    record("routing_rule.add", rule, actor=actor, after=snapshot(rule, RULE_FIELDS))
    return rule


def remove_rule(rule: RoutingRule, *, actor) -> None:
    if not can_edit_routing(actor):
        raise Forbidden("只有代工委可以设置分办规则", code="routing_forbidden")
    record("routing_rule.remove", rule, actor=actor, before=snapshot(rule, RULE_FIELDS))
    db.session.delete(rule)
    db.session.flush()


def route(message: Message, category: str | None) -> Route | None:
    """The assignee the table suggests for `message` under `category`, or None."""
    return routes_for([(message, category)]).get(message.id)


def routes_for(pairs) -> dict[int, Route]:
    """Each (message, category)'s suggested assignee, with the stations' rules read once."""
    stations = {m.station_id for m, c in pairs if c}
    if not stations:
        return {}
    rules = db.session.scalars(sa.select(RoutingRule).where(RoutingRule.station_id.in_(stations))
                               .order_by(RoutingRule.id)).all()
    out = {}
    for message, category in pairs:
        usable = [r for r in rules if r.station_id == message.station_id and r.category == category
                  and _usable(r, message.station_id)]
        body = message.body or ""
        matched = [r for r in usable if r.keyword_list and any(w in body for w in r.keyword_list)]
        plain = [r for r in usable if not r.keyword_list]
        for rule in matched + plain:
            out[message.id] = Route(rule, rule.deputy, rule.department)
            break
    return out


def _usable(rule: RoutingRule, station_id: int) -> bool:
    if rule.deputy is not None:
        return rule.deputy.is_active and station_id in {s.id for s in rule.deputy.stations}
    return rule.department.is_active


def rules_listing() -> list[RoutingRule]:
    return db.session.scalars(sa.select(RoutingRule).order_by(
        RoutingRule.station_id, RoutingRule.category, RoutingRule.id)).all()
