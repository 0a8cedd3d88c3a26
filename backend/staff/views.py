from flask import render_template
from flask_login import current_user, login_required

from backend.staff import bp


@bp.get("/")
@login_required
def home():
    return render_template("staff/home.html", user=current_user)
