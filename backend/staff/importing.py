"""Staff pages to import the deputy roster from Excel (upload → preview → confirm) and export it."""
import time

from flask import Response, flash, redirect, render_template, session, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired

from backend.core.adapters import get_storage
from backend.core.downloads import attachment
from backend.core.errors import ValidationFailed
from backend.core.extensions import db
from backend.org.roster_excel import (
    apply_import, export_deputies, exportable_deputies, preview_import, template_workbook,
)
from backend.staff import bp
from backend.staff.guard import roles_required
from backend.core.timeutil import local_today

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class UploadForm(FlaskForm):
    file = FileField("名册文件", validators=[FileRequired("请选择要上传的 Excel 文件")])


class PendingUpload:
    """The file between preview and confirm, kept in the app's storage (never round-tripped
    through the browser; in the object store when there is one, so the confirm may reach
    another web machine than the preview did). The signed session holds its key, its owner
    and when it was kept."""

    KEY = "deputy_import"
    FOLDER = "imports"
    MAX_AGE = 3600  # seconds

    @classmethod
    def keep(cls, data: bytes) -> None:
        cls.discard()
        storage = get_storage()
        storage.sweep(cls.FOLDER, cls.MAX_AGE)  # previews never confirmed
        session[cls.KEY] = {"key": storage.save(data, cls.FOLDER, "xlsx"),
                            "user": current_user.id, "at": time.time()}

    @classmethod
    def load(cls) -> bytes | None:
        kept = cls._kept()
        if kept is None or time.time() - kept["at"] > cls.MAX_AGE:
            return None
        try:
            return get_storage().read(kept["key"])
        except FileNotFoundError:
            return None

    @classmethod
    def discard(cls) -> None:
        kept = cls._kept()
        if kept is not None:
            get_storage().delete(kept["key"])
        session.pop(cls.KEY, None)

    @classmethod
    def _kept(cls) -> dict | None:
        kept = session.get(cls.KEY)
        if not isinstance(kept, dict) or kept.get("user") != current_user.id:
            return None
        key, at = kept.get("key"), kept.get("at")
        if not isinstance(key, str) or not key.startswith(cls.FOLDER + "/") \
                or not isinstance(at, (int, float)):
            return None
        return kept


@bp.get("/deputies/import")
@roles_required("admin", "liaison")
def import_form():
    return render_template("staff/import_form.html", form=UploadForm())


@bp.post("/deputies/import/preview")
@roles_required("admin", "liaison")
def import_preview():
    form = UploadForm()
    if not form.validate_on_submit():
        return render_template("staff/import_form.html", form=form), 400
    data = form.file.data.read()
    preview = preview_import(data, actor=current_user)
    if preview.ok:
        PendingUpload.keep(data)
    else:
        PendingUpload.discard()  # an older, previewed file must not be confirmed by mistake
    return render_template("staff/import_preview.html", preview=preview)


@bp.post("/deputies/import/confirm")
@roles_required("admin", "liaison")
def import_confirm():
    data = PendingUpload.load()
    if data is None:
        flash("待导入的文件已过期，请重新上传", "warning")
        return redirect(url_for("staff.import_form"))
    try:
        result = apply_import(data, actor=current_user)
    except ValidationFailed as err:  # the roster changed since the preview
        db.session.rollback()
        flash(err.message, "error")
        return redirect(url_for("staff.import_form"))
    db.session.commit()
    PendingUpload.discard()
    flash(f"导入完成：新增 {result.created} 人，更新 {result.updated} 人，"
          f"未变化 {result.unchanged} 人", "success")
    return redirect(url_for("staff.import_form"))


@bp.get("/deputies/export.xlsx")
@roles_required("admin", "liaison")
def export_roster():
    data = export_deputies(exportable_deputies(current_user))
    day = f"{local_today():%Y%m%d}"
    return xlsx_response(data, f"人大代表名册-{day}.xlsx", f"deputies-{day}.xlsx")


@bp.get("/deputies/import/template.xlsx")
@roles_required("admin", "liaison")
def import_template():
    return xlsx_response(template_workbook(), "人大代表名册导入模板.xlsx", "deputies-template.xlsx")


def xlsx_response(data: bytes, filename: str, ascii_name: str) -> Response:
    """An attachment with its Chinese name (RFC 5987) and an ASCII name for old clients."""
    response = attachment(data, XLSX, filename, ascii_name)
    response.headers["Cache-Control"] = "no-store"
    return response
