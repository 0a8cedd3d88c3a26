"""Deputy mode: the deputy's suggestions (代表建议), one suggestion, co-signing and rating the
department's answer. The operations are backend/suggestions/drafting.py's, as on the portal."""
from backend.core.extensions import db
from backend.suggestions import core
from backend.suggestions import drafting as ops
from backend.core.paging import PAGE_SIZE, decode_id_cursor
from miniprogram_api import bp
from miniprogram_api.auth import current_staff, deputy_required
from miniprogram_api.endpoint import endpoint
from miniprogram_api.schemas_suggestions import (
    DeputyRatingIn, SuggestionListOut, SuggestionListQuery, SuggestionOut,
)


@bp.get("/deputy/suggestions")
@deputy_required
@endpoint(query=SuggestionListQuery, out=SuggestionListOut)
def deputy_suggestions(data):
    """我的建议（led：我领衔的；cosigned：我附议的；cosignable：可附议），新的在前"""
    user, tab = current_staff(), data["tab"]
    before = decode_id_cursor(data["cursor"]) if data["cursor"] else None
    rows = ops.deputy_page(user, tab, before_id=before, limit=PAGE_SIZE)
    items = rows[:PAGE_SIZE]
    return {"items": items, "tab": tab,
            "next_cursor": str(items[-1].id) if len(rows) > PAGE_SIZE else None}


@bp.get("/deputy/suggestions/<int:suggestion_id>")
@deputy_required
@endpoint(out=SuggestionOut)
def deputy_suggestion(suggestion_id: int):
    """一件建议：案由、建议内容、附议代表、承办单位、答复、评价和办理记录"""
    return core.get_for(current_staff(), suggestion_id)


@bp.post("/deputy/suggestions/<int:suggestion_id>/rating")
@deputy_required
@endpoint(body=DeputyRatingIn, out=SuggestionOut)
def deputy_rate_suggestion(suggestion_id: int, data):
    """评价承办单位的答复（满意、基本满意、不满意）

    只有领衔代表可以评价，每次答复评价一次。满意或基本满意即办结；不满意则退回承办单位
    重新办理（默认最多一次）并列入督办。返回评价后的建议。"""
    suggestion = core.get_for(current_staff(), suggestion_id)
    ops.rate(suggestion, data["value"], data["comment"], actor=current_staff())
    db.session.commit()
    return suggestion


@bp.post("/deputy/suggestions/<int:suggestion_id>/cosign")
@deputy_required
@endpoint(out=SuggestionOut)
def deputy_cosign_suggestion(suggestion_id: int):
    """附议本站同事提出的建议

    建议交办前（草稿、待审核、退回修改）可以附议，每位代表附议一次。返回附议后的建议。"""
    suggestion = core.get_for(current_staff(), suggestion_id)
    ops.cosign(suggestion, actor=current_staff())
    db.session.commit()
    return suggestion

