"""代表述职 on the spot: the page the session's code opens, where a resident present rates the
deputy once (one rating per resident cookie) and sees the result so far."""
from flask import abort, flash, redirect, render_template, request, url_for

from backend.core.errors import InvalidState, ValidationFailed
from backend.core.extensions import db
from backend.portal import bp
from backend.portal.residents import current_web_resident, get_or_create_web_resident
from backend.records import reports as ops
from backend.records.report_model import REPORT_RATING_LABELS, ConstituencyReport, ReportRating


def _load(token: str) -> ConstituencyReport:
    report = db.session.scalar(db.select(ConstituencyReport).filter_by(token=token[:32]))
    if report is None:
        abort(404)
    return report


@bp.get("/r/<token>")
def report_rating(token: str):
    report = _load(token)
    resident = current_web_resident()
    mine = resident and db.session.scalar(db.select(ReportRating).filter_by(
        report_id=report.id, resident_id=resident.id))
    return render_template("portal/report.html", report=report, mine=mine,
                           labels=REPORT_RATING_LABELS, result=ops.results([report])[report.id])


@bp.post("/r/<token>")
def rate_report(token: str):
    report = _load(token)
    try:
        resident = get_or_create_web_resident()
        ops.rate_report(report, request.form.get("value", ""), resident=resident)
    except (ValidationFailed, InvalidState) as err:
        db.session.rollback()
        flash(err.message, "error")
    else:
        db.session.commit()
        flash("感谢您的评议", "success")
    return redirect(url_for(".report_rating", token=report.token))
