"""The admin office's suggestion pages: review, assignment, deadlines, extensions, supervision and chase lists."""
from backend.staff import bp
from backend.staff.guard import roles_required


@bp.get("/suggestions/review")
@roles_required("admin")
def suggestion_review():
    return "建设中"
