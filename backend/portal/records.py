"""The record of duty on the deputy's public page: a template global, so the page (rendered by
backend.portal.views) shows the summary that backend.records.public_summary builds."""
from backend.portal import bp
from backend.records.public_summary import public_summary


@bp.app_template_global()
def deputy_public_summary(deputy):
    return public_summary(deputy)
