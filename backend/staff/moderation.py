"""敏感词库: admins keep the local word list the content check holds messages with."""
from flask import request, url_for
from flask_login import current_user
from wtforms import SelectChoice, SelectField, StringField, TextAreaField

from backend.core.extensions import db
from backend.messages.moderation_model import ContentRule
from backend.messages.moderation import (
    DEFAULT_LABEL, LINE_EXAMPLE, RULE_LABELS, add_rule, import_rules, remove_rule,
)
from backend.staff import bp
from backend.staff.forms import StaffForm
from backend.staff.guard import roles_required
from backend.staff.pages import done, form_page, get_or_404, list_page


# The operations check words and labels, in Chinese; the forms only carry the values.
class RuleForm(StaffForm):
    word = StringField("词语")
    label = SelectField("分类", choices=[SelectChoice(lb, lb) for lb in RULE_LABELS],
                        default=DEFAULT_LABEL, validate_choice=False)


class RulesImportForm(StaffForm):
    lines = TextAreaField("词语列表")


@bp.route("/content-rules", methods=["GET", "POST"])
@roles_required("admin")
def content_rules():
    form = RuleForm()
    return form_page(form, "staff/content_rules.html",
                     lambda: add_rule(form.word.data, form.label.data, actor=current_user),
                     saved=lambda rule: (f"已添加“{rule.word}”（{rule.label}）",
                                         url_for(".content_rules")),
                     **_listing())


@bp.route("/content-rules/import", methods=["GET", "POST"])
@roles_required("admin")
def content_rules_import():
    form = RulesImportForm()
    return form_page(form, "staff/content_rules_import.html",
                     lambda: import_rules(form.lines.data, actor=current_user),
                     saved=lambda result: (_imported(result), url_for(".content_rules")),
                     example=LINE_EXAMPLE, labels=RULE_LABELS)


@bp.post("/content-rules/<int:rule_id>/delete")
@roles_required("admin")
def content_rule_delete(rule_id: int):
    rule = get_or_404(ContentRule, rule_id)
    word = rule.word
    remove_rule(rule, actor=current_user)
    return done(f"已删除“{word}”", url_for(".content_rules"))


def _listing() -> dict:
    label = request.args.get("label", "")
    stmt = db.select(ContentRule)
    if label in RULE_LABELS:
        stmt = stmt.where(ContentRule.label == label)
    page, filters = list_page(stmt, search=[ContentRule.word],
                              order=(ContentRule.created_at.desc(), ContentRule.id.desc()))
    return {"page": page, "label": label, "labels": RULE_LABELS, **filters}


def _imported(result) -> str:
    message = f"已添加 {len(result.added)} 个词语"
    if result.skipped:
        message += f"；{len(result.skipped)} 个已在词库中，未重复添加：{'、'.join(result.skipped[:10])}"
        message += "等" if len(result.skipped) > 10 else ""
    return message
