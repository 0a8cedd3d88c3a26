"""The office's retention period (issue #12): saved on /staff/privacy, it replaces the config
default for the dry run, the job and the consent texts; out-of-bounds input is refused with a
code and changes nothing; every change is audited; only the office may see or set it."""
import pytest
import sqlalchemy as sa

from backend.core.audit_model import AuditEvent
from backend.core.errors import Forbidden, ValidationFailed
from backend.messages.models import Message
from backend.org.codes import active_code
from backend.privacy.period_model import RetentionSetting
from tests.conftest import post_form
from tests.privacy.test_consent import CONSENT_RE
from tests.privacy.test_retention import FIRST_MINUTE_AFTER, LAST_MINUTE_BEFORE, NOW, TODAY

# Written 13 months before TODAY: kept under the 24-month default, due under a 12-month one.
THIRTEEN_MONTHS_AGO = FIRST_MINUTE_AFTER.replace(year=2025, month=11)


@pytest.fixture
def office(make_staff):
    return make_staff("admin")


@pytest.fixture
def written(db, pd_write):
    old = pd_write(LAST_MINUTE_BEFORE, status="closed", photo=False)
    recent = pd_write(THIRTEEN_MONTHS_AGO, status="closed", photo=False)
    db.session.commit()
    return old, recent


def _audits(action):
    from backend.core.extensions import db
    return db.session.scalars(sa.select(AuditEvent).filter_by(action=action)
                              .order_by(AuditEvent.id)).all()


def test_without_a_saved_period_the_config_key_applies(app, db):
    from backend.privacy.period import effective_period
    assert db.session.get(RetentionSetting, 1) is None
    period = effective_period()
    assert (period.months, period.saved) == (app.config["RETENTION_MONTHS"], False)
    assert "RETENTION_MONTHS" in period.source


def test_the_saved_period_changes_what_the_dry_run_and_the_job_touch(app, db, office, written):
    from backend.jobs.scheduler import run_job
    from backend.privacy.period import set_retention_months
    old, recent = written

    def dry_run():
        result = app.test_cli_runner().invoke(
            args=["privacy", "retain", "--dry-run", "--date", TODAY.isoformat()])
        assert result.exit_code == 0, result.output
        return result.output

    assert f"留言 1 个：{old.id}\n" in dry_run()
    set_retention_months(12, actor=office)
    db.session.commit()
    assert f"留言 2 个：{old.id} {recent.id}\n" in dry_run()

    assert run_job("privacy.retention", today=TODAY, now=NOW) == "done"
    db.session.expire_all()
    assert db.session.get(Message, recent.id).anonymised_at is not None
    [run] = _audits("privacy.retention")
    assert run.after["months"] == 12 and run.after["messages"] == 2
    assert run.after["cutoff"].startswith("2025-12-03T00:00:00+08:00")


def test_a_change_is_audited_with_old_and_new_value_and_who(db, office):
    from backend.privacy.period import set_retention_months
    set_retention_months(36, actor=office)
    set_retention_months(60, actor=office)
    db.session.commit()
    first, second = _audits("privacy.retention_period")
    assert (first.before, first.after) == ({"months": 24, "saved": False},
                                           {"months": 36, "saved": True})
    assert (second.before["months"], second.after["months"]) == (36, 60)
    assert second.actor_id == office.id and second.actor_label == office.display_name


@pytest.mark.parametrize("months", [5, 121, 0, -12, "36", None, 24.5, True])
def test_a_bad_value_is_refused_with_a_code_and_changes_nothing(db, office, months):
    from backend.privacy.period import effective_period, set_retention_months
    set_retention_months(36, actor=office)
    db.session.commit()
    with pytest.raises(ValidationFailed) as err:
        set_retention_months(months, actor=office)
    assert err.value.code == "retention_months_out_of_range"
    assert "6 到 120" in err.value.message
    db.session.rollback()
    assert effective_period().months == 36
    assert len(_audits("privacy.retention_period")) == 1


def test_the_database_holds_the_bounds_too(db):
    db.session.add(RetentionSetting(id=1, months=3))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize("role", ["liaison", "deputy", "department"])
def test_only_the_office_may_set_it(db, make_staff, district, make_deputy, role):
    from backend.privacy.period import set_retention_months
    extra = {"liaison": {"stations": [district.station_a]},
             "deputy": {"deputy": make_deputy(stations=[district.station_a])},
             "department": {"department": district.departments(1)[0]}}[role]
    with pytest.raises(Forbidden):
        set_retention_months(36, actor=make_staff(role, **extra))
    db.session.rollback()
    assert db.session.get(RetentionSetting, 1) is None


def test_the_consent_text_shows_the_saved_period(client, db, office, pd_deputy):
    from backend.privacy.period import set_retention_months
    set_retention_months(36, actor=office)
    db.session.commit()
    html = client.get(f"/d/{active_code(pd_deputy).token}/write").get_data(as_text=True)
    assert "满36个月" in CONSENT_RE.search(html).group(1)


def test_the_page_changes_the_period_and_a_bad_value_changes_nothing(client, db, login, office):
    login(office)
    page = client.get("/staff/privacy").get_data(as_text=True)
    assert 'data-testid="months">24 个月' in page and "系统默认值" in page

    resp = post_form(client, "/staff/privacy", {"months": "200"})
    assert resp.status_code == 422
    assert "请填写 6 到 120 之间的月数" in resp.get_data(as_text=True)
    assert db.session.get(RetentionSetting, 1) is None and _audits("privacy.retention_period") == []

    resp = post_form(client, "/staff/privacy", {"months": "十二"})
    assert resp.status_code == 422 and db.session.get(RetentionSetting, 1) is None

    resp = post_form(client, "/staff/privacy", {"months": "36"})
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "已将保存期限设为 36 个月" in page
    assert 'data-testid="months">36 个月' in page and "代工委管理员设置" in page
    assert f"由{office.display_name}修改" in page


def test_the_preview_counts_what_is_due_and_changes_nothing(client, db, login, office, written,
                                                            monkeypatch):
    import backend.staff.privacy as page_module
    from backend.privacy.period import set_retention_months
    monkeypatch.setattr(page_module, "utcnow", lambda: NOW)
    set_retention_months(12, actor=office)
    login(office)
    audits = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    html = client.get("/staff/privacy?preview=1").get_data(as_text=True)
    assert 'data-testid="preview-messages">2 条' in html
    assert "2025年12月3日以前" in html
    assert "13800138000" not in html and "8000" not in html  # counts only
    db.session.expire_all()
    assert all(db.session.get(Message, m.id).anonymised_at is None for m in written)
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == audits


def test_the_page_lists_the_last_runs(client, db, login, office, written):
    from backend.jobs.scheduler import run_job
    assert run_job("privacy.retention", today=TODAY, now=NOW) == "done"
    login(office)
    html = client.get("/staff/privacy").get_data(as_text=True)
    runs = html.split('data-testid="runs"')[1].split("</table>")[0]
    assert "还没有执行过" not in runs
    assert "<td>24 个月</td>" in runs and "<td>1</td>" in runs


@pytest.mark.parametrize("role,linked", [("admin", True), ("liaison", False)])
def test_the_office_menu_links_the_page(client, login, make_staff, district, role, linked):
    login(make_staff(role, **({"stations": [district.station_a]} if role == "liaison" else {})))
    assert ('href="/staff/privacy"' in client.get("/staff/").get_data(as_text=True)) is linked


def test_two_office_users_saving_at_once_both_land_and_each_logs_the_other(
        app, db, make_staff, postgres_only):
    from backend.accounts.models import StaffUser
    from backend.core.extensions import db as _db
    from backend.privacy.period import effective_period, set_retention_months
    from tests.conftest import at_once
    ids = [make_staff("admin").id, make_staff("admin").id]
    db.session.commit()

    def save(staff_id, months):
        return lambda: set_retention_months(
            months, actor=_db.session.get(StaffUser, staff_id)).months

    assert sorted(at_once(app, save(ids[0], 36), save(ids[1], 60))) == [36, 60]
    db.session.expire_all()
    first, second = _audits("privacy.retention_period")
    assert first.before == {"months": 24, "saved": False}
    assert second.before == {"months": first.after["months"], "saved": True}
    assert effective_period().months == second.after["months"]
