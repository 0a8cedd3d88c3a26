"""The year's suggestion figures and their Excel export."""
from backend.staff import bp
from backend.staff.guard import roles_required


@bp.get("/suggestions/figures")
@roles_required("admin")
def suggestion_figures():
    return "建设中"
