"""What a resident is told where a phone number is asked: what it is for, who sees it, how long
it is kept. One wording for the portal's forms and the mini-program's documented field."""
from backend.privacy.period import retention_months

_TEXTS = {
    "message": ("您的手机号只用于联系您核实情况和答复留言：只有您留言的代表和联络站工作人员能看到完整号码"
                "（每次查看都有记录），其他人只看到打码后的号码；留言未形成代表建议的，"
                "满{months}个月后手机号、照片等个人信息会被删除。"),
    "appointment": ("您的称呼和手机号只用于联系您确认或调整这次见面：只有联络站工作人员和接待的代表能看到；"
                    "满{months}个月后会被删除。"),
    # Read out by the organiser who writes down a matter raised at an activity.
    "matter": ("请告诉群众：手机号只用于联系其核实情况和答复，只有联络站工作人员和经办代表能看到完整号码；"
               "转成的留言未形成代表建议的，满{months}个月后手机号等个人信息会被删除。"),
}


def phone_consent(kind: str, months: int | None = None) -> str:
    if months is None:
        months = retention_months()
    return _TEXTS[kind].format(months=months)
