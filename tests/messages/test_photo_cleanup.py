"""Photos residents uploaded but never sent are purged: rows and files, after the commit, and
only the old unclaimed ones."""
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from backend.core.adapters import get_storage
from backend.jobs.models import JobRun
from backend.messages.models import MessagePhoto
from backend.messages.photos import purge_unclaimed_photos, take_failed_removals

NOW = datetime(2026, 12, 13, 19, 30, tzinfo=timezone.utc)  # 03:30 on the 14th in Shanghai
LOCAL_DAY = date(2026, 12, 14)


@pytest.fixture
def resident(make_resident):
    return make_resident()


@pytest.fixture
def photo(db, resident, each_storage):  # every test here runs on the disk and on the object store
    """A stored photo file and its row, uploaded `age` before NOW."""
    def make(age: timedelta, *, message=None, with_file=True) -> MessagePhoto:
        storage = get_storage()
        key = storage.save(b"\xff\xd8jpeg", "messages", "jpg")
        if not with_file:
            storage.delete(key)
        row = MessagePhoto(resident_id=resident.id, storage_key=key, created_at=NOW - age,
                           message_id=message.id if message else None)
        db.session.add(row)
        db.session.flush()
        return row
    return make


@pytest.fixture
def message(db, resident, make_station):
    from backend.messages.operations import submit_message
    return submit_message(resident=resident, station=make_station(), body="小区门口路灯坏了好几天",
                          idempotency_key="photo-cleanup-0001",
                          now=NOW - timedelta(days=3)).message


def _rows(db):
    db.session.expire_all()
    return set(db.session.scalars(sa.select(MessagePhoto.storage_key)))


def test_old_unclaimed_photo_goes_row_and_file_recent_and_claimed_stay(db, photo, message):
    storage = get_storage()
    old = photo(timedelta(hours=25)).storage_key
    recent = photo(timedelta(hours=23)).storage_key
    claimed = photo(timedelta(days=3), message=message).storage_key
    db.session.commit()

    assert purge_unclaimed_photos(NOW) == 1
    assert _rows(db) == {recent, claimed}
    assert storage.exists(old)  # the file waits for the commit
    db.session.commit()
    assert not storage.exists(old)
    assert storage.exists(recent) and storage.exists(claimed)
    assert take_failed_removals() == []


def test_older_than_and_batch(db, photo):
    keys = [photo(timedelta(hours=h)).storage_key for h in (5, 6, 7)]
    db.session.commit()
    assert purge_unclaimed_photos(NOW, older_than=timedelta(hours=4), batch=2) == 2
    db.session.commit()
    assert purge_unclaimed_photos(NOW, older_than=timedelta(hours=4), batch=2) == 1
    db.session.commit()
    assert _rows(db) == set()
    assert not any(get_storage().exists(k) for k in keys)


def test_a_rollback_keeps_rows_and_files(db, photo):
    key = photo(timedelta(days=2)).storage_key
    db.session.commit()
    assert purge_unclaimed_photos(NOW) == 1
    db.session.rollback()
    assert _rows(db) == {key} and get_storage().exists(key)
    db.session.commit()  # a later commit does not remove the file of a row that came back
    assert get_storage().exists(key)


def test_a_missing_file_does_not_break_the_run(db, photo):
    gone = photo(timedelta(days=2), with_file=False).storage_key
    other = photo(timedelta(days=2)).storage_key
    db.session.commit()
    assert purge_unclaimed_photos(NOW) == 2
    db.session.commit()
    assert _rows(db) == set() and not get_storage().exists(other)
    assert take_failed_removals() == []
    assert gone


def test_a_storage_error_on_one_file_leaves_the_others_and_is_reported(db, photo, monkeypatch,
                                                                       caplog):
    storage = get_storage()
    broken = photo(timedelta(days=2)).storage_key
    fine = photo(timedelta(days=2)).storage_key
    db.session.commit()
    real_delete = storage.delete

    def delete(key):
        if key == broken:
            raise PermissionError("read-only file system")
        real_delete(key)
    monkeypatch.setattr(storage, "delete", delete)

    assert purge_unclaimed_photos(NOW) == 2
    db.session.commit()
    assert _rows(db) == set()  # no row ever points at a removed file, and none stays behind
    assert not storage.exists(fine)
    assert take_failed_removals() == [broken]
    assert broken in caplog.text


def test_refused_inside_a_savepoint(db):
    with pytest.raises(RuntimeError), db.session.begin_nested():
        purge_unclaimed_photos(NOW)


def test_a_released_savepoint_does_not_remove_files_early(db, photo):
    key = photo(timedelta(days=2)).storage_key
    db.session.commit()
    assert purge_unclaimed_photos(NOW) == 1
    with db.session.begin_nested():
        pass
    assert get_storage().exists(key)
    db.session.rollback()
    assert _rows(db) == {key} and get_storage().exists(key)


def test_the_daily_job_runs_once_a_day(db, photo):
    from backend.jobs.scheduler import run_job
    storage = get_storage()
    first = photo(timedelta(days=2)).storage_key
    db.session.commit()

    assert run_job("photos.purge", now=NOW) == "done"
    assert _rows(db) == set() and not storage.exists(first)
    second = photo(timedelta(days=2)).storage_key
    db.session.commit()
    assert run_job("photos.purge", now=NOW + timedelta(hours=3)) == "skipped"  # same local day
    assert _rows(db) == {second}
    assert run_job("photos.purge", now=NOW + timedelta(days=1)) == "done"
    assert _rows(db) == set() and not storage.exists(second)

    runs = db.session.scalars(sa.select(JobRun).filter_by(job="photos.purge")
                              .order_by(JobRun.id)).all()
    assert [(r.run_key, r.status, r.detail) for r in runs] == [
        (LOCAL_DAY.isoformat(), "done", "删除未发送的照片 1 张"),
        ((LOCAL_DAY + timedelta(days=1)).isoformat(), "done", "删除未发送的照片 1 张")]


def test_the_job_is_registered_at_half_past_three(app):
    from backend.jobs.scheduler import default_jobs
    job = {j.id: j for j in default_jobs(app.config)}["photos.purge"]
    assert job.label == "清理未发送的照片"
    assert str(job.trigger) == "cron[hour='3', minute='30']"
    assert job.run_key(LOCAL_DAY, NOW) == LOCAL_DAY.isoformat()
