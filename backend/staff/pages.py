"""What the staff pages share: loading or 404, searchable paginated lists, and the one way a
form page runs its operation (commit once, flash, redirect; or show the form again)."""
from datetime import date

from flask import abort, flash, redirect, render_template, request

from backend.core.errors import DomainError, Forbidden, NotFound, ValidationFailed
from backend.core.extensions import db
from backend.core.parsing import row_id

PER_PAGE = 20
STATUS_FILTERS = (("", "全部"), ("active", "在用"), ("inactive", "已停用"))


def get_or_404(model, object_id: int):
    obj = db.session.get(model, object_id)
    if obj is None:
        abort(404)
    return obj


def list_page(stmt, *, search=(), active=None, order=()):
    """Filter `stmt` by the request's ?q= (over the `search` columns) and ?status= (when the
    model has an `active` column; inactive rows sort last), then paginate."""
    q = request.args.get("q", "").strip()[:40]
    status = request.args.get("status", "")
    if q and search:
        stmt = stmt.where(db.or_(*(col.contains(q, autoescape=True) for col in search)))
    if active is not None:
        if status in ("active", "inactive"):
            stmt = stmt.where(active.is_(status == "active"))
        order = (active.desc(), *order)
    page = db.paginate(stmt.order_by(*order), page=request.args.get("page", type=row_id) or 1,
                       per_page=PER_PAGE, error_out=False)
    return page, {"q": q, "status": status, "has_status": active is not None}


def form_page(form, template: str, run, *, saved, **context):
    """GET shows the form; a valid POST calls `run()` (one operation), commits once, flashes
    `saved(result)`'s message and redirects to its URL, or shows the response `saved` returns
    instead (what must be shown once and never travel in the session cookie's flash). Bad input
    shows the form again."""
    if form.validate_on_submit():
        try:
            result = run()
        except ValidationFailed as err:
            db.session.rollback()
            show_errors(form, err)
        else:
            db.session.commit()
            outcome = saved(result)
            if not isinstance(outcome, tuple):
                return outcome
            message, url = outcome
            if message:
                flash(message, "success")
            return redirect(url)
    status = 422 if request.method == "POST" else 200
    return render_template(template, form=form, **context), status


def show_errors(form, err: ValidationFailed) -> None:
    placed = False
    for name, messages in (err.errors or {}).items():
        if name in form:
            form[name].errors = [*form[name].errors, *messages]
            placed = True
    flash(err.message if not placed else "提交的内容有误，请按提示修改", "error")


def done(message: str, url: str):
    """Commit the one operation the handler ran, flash, redirect."""
    db.session.commit()
    flash(message, "success")
    return redirect(url)


def run_and_flash(operation, done: str | None = None) -> None:
    """A POST action's one commit: run `operation()`, then commit and flash `done` (or what the
    operation returned), or roll back and flash why not. A refusal (403/404) stays an error
    page."""
    try:
        result = operation()
    except (Forbidden, NotFound):
        db.session.rollback()
        raise
    except DomainError as err:
        db.session.rollback()
        flash(error_text(err), "error")
    else:
        db.session.commit()
        flash(done or result, "success")


def error_text(err: DomainError) -> str:
    """A domain error as one flash line: its field messages, or its message."""
    details = [text for texts in (err.errors or {}).values() for text in texts]
    return "；".join(details) or err.message


def form_date(name: str):
    """The date a form field spells as YYYY-MM-DD, or None (the operation says what is wrong)."""
    try:
        return date.fromisoformat(request.form.get(name, "").strip())
    except ValueError:
        return None
