"""Staff passwords of the demo are shown once; `flask demo --passwords` gives the demo accounts
new ones (the old are stored only as hashes) and shows them, leaving other accounts alone."""
import re

import sqlalchemy as sa

from backend.cli.demo import DEMO_USERNAMES
from backend.accounts.models import StaffUser
from backend.accounts.operations import authenticate

LINE_RE = re.compile(r"用户名 (\S+)\s+密码 (\S+)")


def test_demo_passwords_can_be_shown_again_as_new_ones(app, db, make_staff):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    old = dict(LINE_RE.findall(first.output))
    assert set(old) == set(DEMO_USERNAMES)
    mine = make_staff("admin", password="my-own-pass-9")  # created by hand, not the demo's
    db.session.commit()

    again = runner.invoke(args=["demo"])
    assert not LINE_RE.search(again.output)
    assert "flask demo --passwords" in again.output

    shown = runner.invoke(args=["demo", "--passwords"])
    assert shown.exit_code == 0, shown.output
    assert "已为演示账号重新生成密码" in shown.output
    new = dict(LINE_RE.findall(shown.output))
    assert set(new) == set(DEMO_USERNAMES)
    db.session.expire_all()
    for username in DEMO_USERNAMES:
        assert new[username] != old[username]
        assert authenticate(username, new[username]).username == username
        user = db.session.scalar(sa.select(StaffUser).filter_by(username=username))
        assert not user.check_password(old[username])
    assert authenticate(mine.username, "my-own-pass-9").id == mine.id
    # No Latin words reach the person at the console.
    assert not re.search(r"[A-Za-z]{4,}", LINE_RE.sub("", shown.output).replace(
        "flask demo", ""))


def test_passwords_before_any_demo_says_what_to_do(app, db):
    result = app.test_cli_runner().invoke(args=["demo", "--passwords"])
    assert result.exit_code == 0 and "请先运行 flask demo" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffUser)) == 0

