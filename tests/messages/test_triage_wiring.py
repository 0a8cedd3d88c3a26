"""The triage model wired to messages: suggestions stored off the submission's path, a missing
or failing model that loses nothing, the liaison's accept/correct with audit and event, the
corrections export read back by training, and near-duplicates of the same station."""
import csv
import logging

import pytest
import sqlalchemy as sa

from backend.core.audit_model import AuditEvent
from backend.core.errors import Forbidden, ValidationFailed
from backend.core.extensions import db
from backend.messages import triage
from backend.messages.models import Message, MessageEvent
from backend.messages.triage_model import MessageTriage
from backend.triage import category
from backend.triage.training import read_rows
from tests.conftest import at_once

# What the shipped model says of these (its labels are the data set's): 城乡建设 0.94, 教育文体 0.98.
BUS = "解放路公交站台取消后，附近居民要走一公里才能坐上公交车，希望恢复公交站点，增加班次。"
BUS_AGAIN = "希望恢复公交站点、增加班次！解放路公交站台取消以后，附近居民要走一公里才能坐上公交车。电话13912345678"
SCHOOL = "孩子所在的实验小学放学时间太早，家长下班前没人接，希望学校开设课后托管服务，解决双职工家庭的难题。"


@pytest.fixture(autouse=True)
def _fresh_models():
    category.forget_models()
    yield
    category.forget_models()


@pytest.fixture
def no_model(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "TRIAGE_MODEL_DIR", str(tmp_path / "absent"))


def _rows():
    db.session.expire_all()
    return db.session.scalars(sa.select(MessageTriage).order_by(MessageTriage.message_id)).all()


def test_submission_writes_no_suggestion_and_the_job_stores_one_once(submit):
    m = submit(body=BUS).message
    assert _rows() == []  # the hot path never runs the model
    assert triage.fill_suggestions() == 1
    (row,) = _rows()
    assert (row.message_id, row.label, row.decision) == (m.id, "城乡建设", None)
    assert 0 < row.confidence <= 1
    assert triage.fill_suggestions() == 0  # already stored


def test_read_path_computes_without_writing(submit):
    m = submit(body=SCHOOL).message
    found = triage.suggestion_for(m)
    assert found.label == "教育文体"
    db.session.flush()
    assert _rows() == []


def test_missing_model_loses_no_message_and_says_so_in_the_log(submit, no_model, caplog):
    with caplog.at_level(logging.WARNING, logger="lianxin.triage"):
        m = submit(body=BUS).message
        assert db.session.get(Message, m.id).status == "new"
        assert triage.suggestion_for(m) is None
        assert triage.fill_suggestions() == 0
    assert "category model" in caplog.text and "not loaded" in caplog.text
    assert _rows() == []


def test_failing_model_gives_no_suggestion_and_a_log_line(submit, monkeypatch, caplog):
    def boom(self, subject, body):
        raise RuntimeError("corrupt weights")
    monkeypatch.setattr(category.CategoryModel, "suggest", boom)
    with caplog.at_level(logging.ERROR, logger="lianxin.triage"):
        m = submit(body=BUS).message
        assert triage.suggestion_for(m) is None
        assert triage.fill_suggestions() == 0
    assert "category suggestion failed" in caplog.text
    assert db.session.get(Message, m.id) is not None


def test_accept_and_correct_record_decision_audit_and_event(submit, liaison_of):
    a, b = submit(body=BUS).message, submit(body=SCHOOL).message
    liaison = liaison_of(a.station, b.station)
    triage.fill_suggestions()
    triage.categorise(a, "城乡建设", actor=liaison)
    triage.categorise(b, "民政", actor=liaison)
    db.session.flush()
    rows = {r.message_id: r for r in _rows()}
    assert (rows[a.id].decision, rows[a.id].decided_label, rows[a.id].decided_by_id) == ("accepted", "城乡建设", liaison.id)
    assert (rows[b.id].decision, rows[b.id].decided_label, rows[b.id].label) == ("corrected", "民政", "教育文体")
    actions = db.session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.object_type == "message_triage").order_by(AuditEvent.id)).all()
    assert actions == ["message.category_accepted", "message.category_corrected"]
    kinds = db.session.scalars(sa.select(MessageEvent.kind).where(MessageEvent.message_id == b.id)).all()
    assert "set_category" in kinds
    assert db.session.get(Message, b.id).category == "民政"


def test_deciding_a_suggestion_not_yet_stored_stores_it(submit, liaison_of):
    m = submit(body=BUS).message
    triage.categorise(m, "交通运输", actor=liaison_of(m.station))
    (row,) = _rows()
    assert (row.label, row.decision, row.decided_label) == ("城乡建设", "corrected", "交通运输")


def test_bad_label_or_wrong_role_changes_nothing(submit, liaison_of, make_staff, make_station):
    # the deputy the message is addressed to may answer it, not classify it
    m = submit(body=BUS).message
    triage.fill_suggestions()
    with pytest.raises(ValidationFailed) as err:
        triage.categorise(m, "不存在的分类", actor=liaison_of(m.station))
    assert err.value.code == "category_invalid"
    with pytest.raises(Forbidden):
        triage.categorise(m, "城乡建设", actor=liaison_of(make_station()))  # another station's liaison
    with pytest.raises(Forbidden):
        triage.categorise(m, "城乡建设", actor=make_staff("deputy", deputy=m.deputy))
    (row,) = _rows()
    assert row.decision is None and db.session.get(Message, m.id).category == ""


def test_the_job_and_a_liaison_at_once_both_succeed(app, postgres_only, submit, liaison_of):
    m = submit(body=BUS).message
    liaison = liaison_of(m.station)
    db.session.commit()
    mid, lid = m.id, liaison.id

    def decide():
        from backend.accounts.models import StaffUser
        return triage.categorise(db.session.get(Message, mid), "城乡建设",
                                 actor=db.session.get(StaffUser, lid)).decision
    outcomes = at_once(app, triage.fill_suggestions, decide)
    assert not any(isinstance(o, Exception) for o in outcomes), outcomes
    (row,) = _rows()
    assert row.decision == "accepted"


def test_corrections_export_is_what_training_reads(app, submit, liaison_of, tmp_path):
    a, b, c = (submit(body=t).message for t in (BUS, SCHOOL, BUS_AGAIN))
    liaison = liaison_of(a.station, b.station, c.station)
    triage.categorise(a, "城乡建设", actor=liaison)
    triage.categorise(b, "卫生计生", actor=liaison)
    triage.categorise(c, "民政", actor=liaison)  # not a label the model knows: left out by default
    db.session.commit()
    out = tmp_path / "corrections.csv"
    result = app.test_cli_runner().invoke(args=["triage", "corrections", str(out)])
    assert result.exit_code == 0, result.output
    assert "已导出 2 条（其中更正 1 条）" in result.output
    rows = read_rows(out)
    assert [(r.body, r.label) for r in rows] == [(BUS, "城乡建设"), (SCHOOL, "卫生计生")]
    with open(out, encoding="utf-8") as fh:
        assert [r["decision"] for r in csv.DictReader(fh)] == ["accepted", "corrected"]
    result = app.test_cli_runner().invoke(args=["triage", "corrections", str(out), "--all-labels"])
    assert "已导出 3 条" in result.output


def test_duplicates_are_earlier_open_messages_of_the_same_station(submit, make_deputy, liaison_of):
    first = submit(body=BUS).message
    deputy = first.deputy
    other = submit(body=SCHOOL, deputy=deputy).message
    elsewhere = submit(body=BUS).message  # another deputy, another station
    copy = submit(body=BUS_AGAIN, deputy=deputy).message
    found = triage.duplicates_of(copy)
    assert [d.message.id for d in found] == [first.id]
    assert found[0].score >= 0.5
    assert triage.duplicates_of(first) == []  # only earlier ones
    assert other.id not in [d.message.id for d in triage.duplicates_of(copy)]
    assert elsewhere.station_id != copy.station_id
    # a merged one is no longer a candidate
    from backend.messages import operations as ops
    ops.merge(first, other, actor=liaison_of(first.station))
    assert triage.duplicates_of(copy) == []


def test_the_scheduler_job_stores_suggestions_and_reports(submit, app):
    from backend.jobs.scheduler import default_jobs, run_job
    job = {j.id: j for j in default_jobs(app.config)}["triage.suggest"]
    assert job.run_key is None and job.trigger.interval.total_seconds() == app.config["TRIAGE_SUGGEST_SECONDS"]
    submit(body=BUS)
    db.session.commit()
    assert run_job("triage.suggest") == "done"
    assert len(_rows()) == 1


def test_the_job_looks_only_at_the_latest_messages(submit, monkeypatch):
    monkeypatch.setattr(triage, "FILL_LOOKBACK", 2)
    old, *latest = [submit(body=b).message for b in (BUS, SCHOOL, BUS_AGAIN)]
    assert triage.fill_suggestions() == 2
    assert [r.message_id for r in _rows()] == [m.id for m in latest]
    assert triage.suggestion_for(old).label == "城乡建设"  # still shown, computed on read
