"""Staff pages to import the deputy roster from Excel (upload → preview → confirm) and export it."""
import secrets
import time
from pathlib import Path

from flask import Response, current_app, flash, redirect, render_template, session, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired

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
    """The file between preview and confirm, kept on the server (never round-tripped through the
    browser): the session holds only a random id, and the file name carries the user's id."""

    KEY = "deputy_import"
    MAX_AGE = 3600  # seconds

    @classmethod
    def keep(cls, data: bytes) -> None:
        cls.discard()
        folder = cls._folder()
        folder.mkdir(parents=True, exist_ok=True)
        cls._sweep(folder)
        token = secrets.token_hex(16)
        (folder / cls._name(token)).write_bytes(data)
        session[cls.KEY] = token

    @classmethod
    def load(cls) -> bytes | None:
        path = cls._path()
        if path is None or not path.is_file() or time.time() - path.stat().st_mtime > cls.MAX_AGE:
            return None
        return path.read_bytes()

    @classmethod
    def discard(cls) -> None:
        path = cls._path()
        if path is not None:
            path.unlink(missing_ok=True)
        session.pop(cls.KEY, None)

    @classmethod
    def _path(cls) -> Path | None:
        token = session.get(cls.KEY)
        if not isinstance(token, str) or len(token) != 32 or not token.isalnum():
            return None
        return cls._folder() / cls._name(token)

    @staticmethod
    def _name(token: str) -> str:
        return f"{current_user.id}-{token}.xlsx"

    @staticmethod
    def _folder() -> Path:
        return Path(current_app.instance_path) / "pending_imports"

    @classmethod
    def _sweep(cls, folder: Path) -> None:
        cutoff = time.time() - cls.MAX_AGE
        for old in folder.glob("*.xlsx"):
            if old.stat().st_mtime < cutoff:
                old.unlink(missing_ok=True)


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
