"""Binding a deputy's or liaison's WeChat to their staff account, for deputy / liaison mode in
the mini-program: the page shows whether the account is bound, issues a one-time code (shown
once, in the answer to the POST, never stored or flashed) and removes a binding."""
from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from backend.core.extensions import db
from backend.accounts import wechat_binding as binding
from backend.accounts.policy import BINDABLE_ROLES
from backend.staff import bp
from backend.staff.guard import roles_required


@bp.get("/wechat-bind")
@roles_required(*BINDABLE_ROLES)
def wechat_bind():
    return render_template("staff/wechat_bind.html", user=current_user, code=None)


@bp.post("/wechat-bind/code")
@roles_required(*BINDABLE_ROLES)
def wechat_bind_code():
    code = binding.issue_bind_code(current_user)
    db.session.commit()
    return render_template("staff/wechat_bind.html", user=current_user, code=code,
                           minutes=int(binding.BIND_CODE_TTL.total_seconds() // 60))


@bp.post("/wechat-bind/unbind")
@roles_required(*BINDABLE_ROLES)
def wechat_unbind():
    binding.unbind_wechat(current_user, actor=current_user)
    db.session.commit()
    flash("已解除微信绑定，小程序将回到普通选民模式", "success")
    return redirect(url_for(".wechat_bind"))
