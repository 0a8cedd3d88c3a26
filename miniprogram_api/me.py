"""我的信息 over HTTP: what is held about the calling resident, and deleting it. The rules are
backend/privacy/own_data.py's."""
from backend.core.extensions import db
from backend.privacy import own_data
from miniprogram_api import bp
from miniprogram_api.auth import current_resident, resident_required
from miniprogram_api.endpoint import endpoint
from miniprogram_api.schemas_me import DeletedOut, DeleteIn, MyDataOut


@bp.get("/me/data")
@resident_required
@endpoint(out=MyDataOut)
def my_data():
    """本系统保存的、与我有关的信息：留言、预约、提出和附议的项目、订阅（手机号打码）"""
    return own_data.holdings(current_resident())


@bp.post("/me/delete")
@resident_required
@endpoint(body=DeleteIn, out=DeletedOut, errors={"409": "个人信息已经删除"})
def delete_my_data(data):
    """删除我的个人信息（须先在确认框中确认）
    尚未开始的预约被取消；留言和预约中的手机号、称呼和照片被删除，留言不再与您关联；留言文字、项目和附议作为代表履职和统计的记录保留。删除后本令牌及此前签发的令牌立即失效（返回 401 token_revoked），请重新登录（将作为新的居民）。confirm 不为 true 时返回 422 deletion_not_confirmed，什么也不改变。"""
    outcome = own_data.delete_own_data(current_resident(), confirmed=data["confirm"])
    db.session.commit()
    return outcome
