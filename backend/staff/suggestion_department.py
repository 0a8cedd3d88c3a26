"""A department's suggestion pages: its assignments, signing for them, opinions, answers, extension and reassignment requests, 回头看."""
from backend.staff import bp
from backend.staff.guard import roles_required


@bp.get("/assignments")
@roles_required("department")
def department_suggestions():
    return "建设中"
