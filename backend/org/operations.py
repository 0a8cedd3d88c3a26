"""The organisation: terms, deputy groups, departments, stations and deputies.

Each function takes plain values (a dict of already-validated fields) and `actor`, checks the
actor may do it, changes the models, flushes and writes the audit entry. `actor=None` means the
system itself (a CLI command or a job), which may do everything."""
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from backend.org import policy as access
from backend.core.adapters import get_storage
from backend.core.errors import Forbidden, ValidationFailed
from backend.core.extensions import db
from backend.core.images import clean_image
from backend.org.models import LEVELS, STATION_KINDS, Department, Deputy, DeputyGroup, Station, Term
from backend.core.audit import record, snapshot
from backend.org.codes import ensure_code

# What a person may set through a form, per model; is_active changes only through set_active.
EDITABLE = {
    Term: ("name", "starts_on", "ends_on", "is_current"),
    DeputyGroup: ("name",),
    Department: ("name", "contact_name", "contact_phone"),
    Station: ("name", "kind", "address", "latitude", "longitude", "heads", "opening_hours",
              "phone", "ack_workdays", "answer_workdays"),
    Deputy: ("name", "level", "term_id", "group_id", "constituency", "occupation", "expertise",
             "intro", "phone"),
}
AUDITED = {
    Term: EDITABLE[Term],
    DeputyGroup: EDITABLE[DeputyGroup],
    Department: EDITABLE[Department] + ("is_active",),
    Station: EDITABLE[Station] + ("is_active",),
    Deputy: EDITABLE[Deputy] + ("photo_path", "is_active", "stations"),
}
AUDIT_NAMES = {Term: "term", DeputyGroup: "group", Department: "department", Station: "station",
               Deputy: "deputy"}
NOUNS = {Term: "届次", DeputyGroup: "代表小组", Department: "承办单位", Station: "联络站",
         Deputy: "代表"}


# ---- terms, deputy groups, departments: admin only, alike but for a rule or two ----

def create_term(data: dict, *, actor=None) -> Term:
    _check_term_dates(data)
    term = _create(Term, data, actor=actor)
    _keep_one_current(term)
    return term


def update_term(term: Term, data: dict, *, actor=None) -> Term:
    _check_term_dates(data)
    _update(term, data, actor=actor)
    _keep_one_current(term)
    return term


def create_group(data: dict, *, actor=None) -> DeputyGroup:
    return _create(DeputyGroup, data, actor=actor)


def update_group(group: DeputyGroup, data: dict, *, actor=None) -> DeputyGroup:
    return _update(group, data, actor=actor)


def create_department(data: dict, *, actor=None) -> Department:
    return _create(Department, data, actor=actor)


def update_department(department: Department, data: dict, *, actor=None) -> Department:
    return _update(department, data, actor=actor)


def _check_term_dates(data: dict) -> None:
    starts, ends = data.get("starts_on"), data.get("ends_on")
    if starts and ends and ends < starts:
        raise ValidationFailed("届次的结束日期不能早于开始日期", code="term_dates",
                               errors={"ends_on": ["结束日期不能早于开始日期"]})


def _keep_one_current(term: Term) -> None:
    # Only one term is "本届": marking one current retires the flag on the others.
    if term.is_current:
        db.session.execute(sa.update(Term).where(Term.id != term.id, Term.is_current.is_(True))
                           .values(is_current=False))


# ---- stations: admin creates and deactivates; a liaison edits their own ----

def create_station(data: dict, *, actor=None) -> Station:
    _require(actor, access.can_create_station)
    return _create(Station, _clean_station(data), actor=actor)


def update_station(station: Station, data: dict, *, actor=None) -> Station:
    _require(actor, lambda u: access.can_manage_station(u, station))
    return _update(station, _clean_station(data), actor=actor)


def _clean_station(data: dict) -> dict:
    data = dict(data)
    if "kind" in data and data["kind"] not in STATION_KINDS:
        raise ValidationFailed("站点类型无效", code="station_kind",
                               errors={"kind": ["请选择站点类型"]})
    if "heads" in data:
        # Two people in charge at most; rows left blank are dropped.
        heads = [{k: (h.get(k) or "").strip() for k in ("name", "title", "phone")}
                 for h in data["heads"] or []]
        data["heads"] = [h for h in heads if any(h.values())][:2]
    return data


# ---- deputies ----

def create_deputy(data: dict, *, actor=None) -> Deputy:
    """A new deputy with their first QR code. A liaison must put them in one of their stations."""
    _require(actor, access.can_create_deputy)
    data = _clean_deputy(data)
    photo = _clean_photo(data.get("photo"))
    stations = _resolve_stations(actor, [], data.get("station_ids") or [])
    _check_unique(Deputy, "phone", data["phone"], message="该手机号已登记给其他代表")
    deputy = Deputy(**{f: data[f] for f in EDITABLE[Deputy] if f in data})
    deputy.stations = stations
    db.session.add(deputy)
    if photo:
        deputy.photo_path = _store_photo(photo)
    _flush(Deputy)
    ensure_code(deputy, actor=actor)
    record("deputy.create", deputy, actor=actor, after=snapshot(deputy, AUDITED[Deputy]))
    return deputy


def update_deputy(deputy: Deputy, data: dict, *, actor=None) -> Deputy:
    """Change a deputy's details, photo and stations. A liaison changes only memberships of the
    stations they manage; every other station's membership stays exactly as it was."""
    _require(actor, lambda u: access.can_manage_deputy(u, deputy))
    data = _clean_deputy(data)
    photo = _clean_photo(data.get("photo"))
    stations = (_resolve_stations(actor, deputy.stations, data["station_ids"])
                if "station_ids" in data else None)
    if "phone" in data:
        _check_unique(Deputy, "phone", data["phone"], exclude_id=deputy.id,
                      message="该手机号已登记给其他代表")
    before = snapshot(deputy, AUDITED[Deputy])
    for f in EDITABLE[Deputy]:
        if f in data:
            setattr(deputy, f, data[f])
    if stations is not None:
        deputy.stations = stations
    if photo:
        deputy.photo_path = _store_photo(photo)
    _flush(Deputy)
    record("deputy.update", deputy, actor=actor, before=before,
           after=snapshot(deputy, AUDITED[Deputy]))
    return deputy


def set_deputy_photo(deputy: Deputy, data: bytes, *, actor=None) -> Deputy:
    _require(actor, lambda u: access.can_manage_deputy(u, deputy))
    photo = _clean_photo(data)
    if photo is None:
        raise ValidationFailed("请选择照片", code="photo_required", errors={"photo": ["请选择照片"]})
    before = {"photo_path": deputy.photo_path}
    deputy.photo_path = _store_photo(photo)
    db.session.flush()
    record("deputy.photo", deputy, actor=actor, before=before,
           after={"photo_path": deputy.photo_path})
    return deputy


def _clean_deputy(data: dict) -> dict:
    data = dict(data)
    if "phone" in data:
        data["phone"] = (data["phone"] or "").strip() or None  # unique: blanks must be NULL
    if "level" in data and data["level"] not in LEVELS:
        raise ValidationFailed("代表层级无效", code="level_invalid",
                               errors={"level": ["请选择代表层级"]})
    for key, model in (("term_id", Term), ("group_id", DeputyGroup)):
        if data.get(key) and db.session.get(model, data[key]) is None:
            raise ValidationFailed(f"所选{NOUNS[model]}不存在", code=f"{key}_unknown",
                                   errors={key: [f"所选{NOUNS[model]}不存在"]})
    return data


def _resolve_stations(actor, current, requested_ids) -> list[Station]:
    """The deputy's stations after the change. Stations outside the actor's reach are kept as
    they are, whatever was submitted; adding one of them is refused outright."""
    requested_ids = {int(i) for i in requested_ids}
    requested = list(db.session.scalars(db.select(Station).where(Station.id.in_(requested_ids))))
    if len(requested) != len(requested_ids):
        raise ValidationFailed("所选联络站不存在", code="station_unknown",
                               errors={"station_ids": ["所选联络站不存在"]})
    if actor is None:
        return requested
    if not access.can_edit_deputy_stations(actor, {s.id for s in current}, requested_ids):
        raise Forbidden("只能把代表加入您负责的联络站", code="station_not_managed")
    scope = access.managed_station_ids(actor)
    if scope is None:
        return requested
    kept = [s for s in current if s.id not in scope]
    result = kept + [s for s in requested if s.id in scope]
    if not result:
        # A liaison must not leave a deputy in no station at all: nobody but admin would see them.
        raise ValidationFailed("请至少选择一个联络站", code="station_required",
                               errors={"station_ids": ["请至少选择一个联络站"]})
    return result


def _clean_photo(data: bytes | None) -> tuple[bytes, str] | None:
    if not data:
        return None
    try:
        return clean_image(data)
    except ValidationFailed as err:
        raise ValidationFailed(err.message, code=err.code, errors={"photo": [err.message]})


def _store_photo(photo: tuple[bytes, str]) -> str:
    # The file is written before the commit; a failed commit leaves an unreferenced file, never a
    # row pointing at nothing.
    clean, ext = photo
    return get_storage().save(clean, "photos", ext)


# ---- activating and deactivating: never deletes ----

def set_active(obj, active: bool, *, actor=None):
    """Deactivate (or bring back) a station, deputy or department. Rows stay; pages hide them."""
    checks = {
        Station: lambda u: access.can_deactivate_station(u, obj),
        Department: access.can_manage_org,
        DeputyGroup: access.can_manage_org,
        Deputy: lambda u: access.can_deactivate_deputy(u, obj),
    }
    _require(actor, checks[type(obj)])
    if obj.is_active == active:
        return obj
    obj.is_active = active
    db.session.flush()
    verb = "activate" if active else "deactivate"
    record(f"{AUDIT_NAMES[type(obj)]}.{verb}", obj, actor=actor, before={"is_active": not active},
           after={"is_active": active})
    return obj


# ---- shared pieces ----

def _create(model, data: dict, *, actor):
    if model in (Term, DeputyGroup, Department):
        _require(actor, access.can_manage_org)
    _check_unique(model, "name", data.get("name"), message=f"已有同名的{NOUNS[model]}")
    obj = model(**{f: data[f] for f in EDITABLE[model] if f in data})
    db.session.add(obj)
    _flush(model)
    record(f"{AUDIT_NAMES[model]}.create", obj, actor=actor, after=snapshot(obj, AUDITED[model]))
    return obj


def _update(obj, data: dict, *, actor):
    model = type(obj)
    if model in (Term, DeputyGroup, Department):
        _require(actor, access.can_manage_org)
    if "name" in data:
        _check_unique(model, "name", data["name"], exclude_id=obj.id,
                      message=f"已有同名的{NOUNS[model]}")
    before = snapshot(obj, AUDITED[model])
    for f in EDITABLE[model]:
        if f in data:
            setattr(obj, f, data[f])
    _flush(model)
    record(f"{AUDIT_NAMES[model]}.update", obj, actor=actor, before=before,
           after=snapshot(obj, AUDITED[model]))
    return obj


def _require(actor, check) -> None:
    if actor is not None and not check(actor):
        raise Forbidden()


def _check_unique(model, field: str, value, *, message: str, exclude_id=None) -> None:
    if value is None:
        return
    column = getattr(model, field)
    query = db.select(model.id).where(column == value)
    if exclude_id is not None:
        query = query.where(model.id != exclude_id)
    if db.session.scalar(query.limit(1)) is not None:
        raise ValidationFailed(message, code=f"{field}_taken", errors={field: [message]})


def _flush(model) -> None:
    """Flush, turning a unique-constraint race (the check above passed, another request won)
    into the same Chinese error. The caller must roll back after it."""
    try:
        db.session.flush()
    except IntegrityError:
        raise ValidationFailed(f"与已有的{NOUNS[model]}重复（名称或电话），请检查后重试",
                               code="duplicate")
