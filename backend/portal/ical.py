"""iCal feeds for phone calendars: no login, the token in the address is the key."""
from flask import Response

from backend.reception.ical import feed_for_token
from backend.portal import bp


@bp.get("/ical/<token>.ics")
def ical_feed(token: str):
    return Response(feed_for_token(token), mimetype="text/calendar",
                    headers={"Content-Disposition": 'inline; filename="lianxin.ics"',
                             "Cache-Control": "private, max-age=900"})
