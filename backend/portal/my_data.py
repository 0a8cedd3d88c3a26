"""我的信息: what the system holds about this browser's resident, and deleting it (with a
confirm step). The rules are backend/privacy/own_data.py's."""
from flask import abort, redirect, render_template, request, url_for

from backend.core.errors import DomainError
from backend.core.extensions import db
from backend.portal import bp
from backend.portal.residents import current_web_resident
from backend.privacy import own_data
from backend.privacy.consent import phone_consent


@bp.app_template_global("phone_consent")
def _phone_consent(kind: str) -> str:
    return phone_consent(kind)


@bp.get("/my/data")
def my_data():
    resident = current_web_resident()
    held = own_data.holdings(resident) if resident is not None else None
    return render_template("portal/my_data.html", held=held, deleted=request.args.get("deleted"))


@bp.post("/my/data/delete")
def delete_my_data():
    resident = current_web_resident()
    if resident is None:
        abort(404)
    try:
        own_data.delete_own_data(resident, confirmed=request.form.get("confirm") == "yes")
    except DomainError as err:
        db.session.rollback()
        return render_template("portal/my_data.html", held=own_data.holdings(resident),
                               error=err), err.status
    db.session.commit()
    return redirect(url_for(".my_data", deleted=1))
