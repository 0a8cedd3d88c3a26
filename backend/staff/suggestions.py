"""Suggestion pages for deputies and liaisons: the list, drafting from messages, editing, co-signing, submitting, rating; and the detail page every role shares."""
from backend.staff import bp
from backend.staff.guard import roles_required


@bp.get("/suggestions")
@roles_required("admin", "liaison", "deputy")
def suggestions():
    return "建设中"
