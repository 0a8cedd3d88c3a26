"""Project photo files stay in step with their rows: a report whose commit fails leaves no
file; the sweep removes files no row names once past the grace period (dry run lists them),
never a file a row names or a fresh one; the daily job and the command run it."""
import os
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from backend.core.adapters import get_storage
from backend.core.timeutil import utcnow
from backend.projects import delivery, photo_files
from backend.projects.models import ProjectPhoto, ProjectUpdate
from tests.projects.test_photos import _gps_jpeg, project  # noqa: F401 - the fixture

LATER = timedelta(days=2)


def _files(app) -> set[str]:
    root = Path(app.config["UPLOAD_DIR"])
    return {p.relative_to(root).as_posix() for folder in photo_files.FOLDERS.values()
            for p in (root / folder).rglob("*") if p.is_file()}


def test_a_report_whose_commit_fails_leaves_no_file(app, db, project):  # noqa: F811
    proposal, lead, _ = project
    db.session.commit()
    before = _files(app)
    update = delivery.report_progress(proposal, progress=30, title="开工", actor=lead,
                                      photos=[_gps_jpeg(), _gps_jpeg()])
    assert len(_files(app) - before) == 2  # written, not yet committed
    # A second row claiming the same file breaks the commit (unique storage_key).
    db.session.add(ProjectPhoto(update_id=update.id, storage_key=update.photos[0].storage_key,
                                width=1, height=1, size_bytes=1))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert _files(app) == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProjectUpdate)) == 0


def test_a_committed_report_keeps_its_files(app, db, project):  # noqa: F811
    proposal, lead, _ = project
    update = delivery.report_progress(proposal, progress=30, title="开工", actor=lead,
                                      photos=[_gps_jpeg()])
    db.session.commit()
    db.session.rollback()  # a later transaction ending changes nothing
    assert get_storage().exists(update.photos[0].storage_key)


def test_the_sweep_removes_orphans_past_the_grace_period_only(app, db, project):  # noqa: F811
    proposal, lead, _ = project
    update = delivery.report_progress(proposal, progress=30, title="开工", actor=lead,
                                      photos=[_gps_jpeg()])
    db.session.commit()
    kept = update.photos[0].storage_key
    storage = get_storage()
    orphan = storage.save(_gps_jpeg(), "projects", "jpg")  # a killed process's leftover
    stray = storage.save(_gps_jpeg(), "proposals", "jpg")
    dry = photo_files.sweep(utcnow() + LATER, dry_run=True)
    assert {orphan, stray} <= set(dry.orphan_files) and kept not in dry.orphan_files
    assert storage.exists(orphan) and storage.exists(stray)  # a dry run deletes nothing
    fresh = photo_files.sweep(utcnow())  # both are younger than a day
    assert orphan not in fresh.orphan_files and storage.exists(orphan)
    done = photo_files.sweep(utcnow() + LATER)
    db.session.commit()
    assert {orphan, stray} <= set(done.orphan_files)
    assert not storage.exists(orphan) and not storage.exists(stray)
    assert storage.exists(kept)  # its row names it: never removed


def test_the_daily_job_and_the_command(app, db, project):  # noqa: F811
    from backend.jobs.scheduler import default_jobs, run_job
    storage = get_storage()
    orphan = storage.save(_gps_jpeg(), "projects", "jpg")
    old = (utcnow() - LATER).timestamp()
    os.utime(Path(app.config["UPLOAD_DIR"]) / orphan, (old, old))
    db.session.commit()
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["projects", "sweep-photos", "--dry-run"])
    assert listed.exit_code == 0 and orphan in listed.output and "将删除" in listed.output
    assert storage.exists(orphan)
    assert run_job("projects.photo_sweep", now=utcnow()) == "done"
    assert not storage.exists(orphan)
    job = {j.id: j for j in default_jobs(app.config)}["projects.photo_sweep"]
    assert job.label == "清理无记录的项目照片"
    again = runner.invoke(args=["projects", "sweep-photos", "--grace-hours", "1"])
    assert again.exit_code == 0 and "删除无记录的项目照片文件 0 个" in again.output
