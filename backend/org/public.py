"""What the public may see: lookups for the residents' pages and the mini-program's cards."""
from sqlalchemy.orm import selectinload

from backend.core.errors import NotFound
from backend.core.extensions import db
from backend.org.models import Deputy, Station, deputy_stations
from backend.org.code_model import DeputyCode
from backend.org.codes import active_code, find_code
from backend.core.row_cache import RowCache

# Every scan and every submission starts here: the code, its deputy and their stations.
_codes = RowCache(30, watch=(DeputyCode, Deputy, Station))


def deputy_by_token(token: str):
    """(code, deputy) for a scanned token. A revoked code still resolves, so its page can say
    where the deputy is now; an inactive deputy is never shown."""
    code = _codes.get(token, lambda: find_code(token))
    deputy = code.deputy
    if not deputy.is_active:
        raise NotFound("该代表信息暂不公开", code="deputy_inactive")
    return code, deputy


def current_code_for(deputy):
    return active_code(deputy) if deputy.is_active else None


def public_station(station_id: int) -> Station:
    station = db.session.get(Station, station_id)
    if station is None or not station.is_active:
        raise NotFound("该联络站不存在或已停用", code="station_unknown")
    return station


def public_stations() -> list[Station]:
    return list(db.session.scalars(
        db.select(Station).filter_by(is_active=True).order_by(Station.kind, Station.name)))


def station_roster(station: Station) -> list[tuple[Deputy, str | None]]:
    """The station's active deputies with their live code token, in one query."""
    rows = db.session.execute(
        db.select(Deputy, DeputyCode.token)
        .join(deputy_stations, deputy_stations.c.deputy_id == Deputy.id)
        .outerjoin(DeputyCode, (DeputyCode.deputy_id == Deputy.id) & DeputyCode.revoked_at.is_(None))
        .where(deputy_stations.c.station_id == station.id, Deputy.is_active.is_(True))
        .order_by(Deputy.name))
    return [(d, token) for d, token in rows]


def search_deputies(text: str, limit: int = 30) -> list[tuple[Deputy, str | None, list[str]]]:
    """Active deputies whose name, or the name of an active station they sit at, contains the
    text: (deputy, live code token, their active stations' names), by name."""
    text = text.strip()[:30]
    if not text:
        return []
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    at_station = (db.select(deputy_stations.c.deputy_id)
                  .join(Station, Station.id == deputy_stations.c.station_id)
                  .where(Station.is_active.is_(True), Station.name.like(pattern, escape="\\")))
    rows = db.session.execute(
        db.select(Deputy, DeputyCode.token)
        .outerjoin(DeputyCode, (DeputyCode.deputy_id == Deputy.id) & DeputyCode.revoked_at.is_(None))
        .where(Deputy.is_active.is_(True),
               Deputy.name.like(pattern, escape="\\") | Deputy.id.in_(at_station))
        .options(selectinload(Deputy.stations))  # one query for every row's stations
        .order_by(Deputy.name, Deputy.id).limit(limit))
    return [(d, token, [s.name for s in d.stations if s.is_active]) for d, token in rows]


def help_phone(configured: str) -> str:
    """The number residents may call for help: the configured one, else the phone of the
    district's 代表之家 (or of any station that has one)."""
    if configured:
        return configured
    return db.session.scalar(
        db.select(Station.phone).where(Station.is_active.is_(True), Station.phone != "")
        .order_by((Station.kind == "home").desc(), Station.id).limit(1)) or ""
