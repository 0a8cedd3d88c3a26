"""Production refuses to start on the public development key or without a phone-encryption key
(issue #15), and a mini-program token signed with any other key is refused."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from itsdangerous import URLSafeTimedSerializer

from backend import create_app
from config import DEV_SECRET_KEY, MissingSecret

ROOT = Path(__file__).resolve().parents[2]
FERNET_KEY = "x7Yq0V3m1pS8bX5oQk2nR9tW4uZ6cA0eD3fG7hJ1kL8="


def production(tmp_path, **keys):
    return create_app("production", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'p.sqlite'}",
                      **keys)


@pytest.mark.parametrize("keys, named", [
    ({"SECRET_KEY": DEV_SECRET_KEY, "FIELD_ENCRYPTION_KEY": FERNET_KEY}, "SECRET_KEY"),
    ({"SECRET_KEY": None, "FIELD_ENCRYPTION_KEY": FERNET_KEY}, "SECRET_KEY"),
    ({"SECRET_KEY": "a-real-secret-of-our-own", "FIELD_ENCRYPTION_KEY": None},
     "FIELD_ENCRYPTION_KEY"),
    ({"SECRET_KEY": "a-real-secret-of-our-own", "FIELD_ENCRYPTION_KEY": "not-a-fernet-key"},
     "FIELD_ENCRYPTION_KEY"),
    # One bad key in a rotation list is as bad as a bad single key.
    ({"SECRET_KEY": "a-real-secret-of-our-own", "FIELD_ENCRYPTION_KEY": f"{FERNET_KEY},nope"},
     "FIELD_ENCRYPTION_KEY"),
    ({"SECRET_KEY": "a-real-secret-of-our-own", "FIELD_ENCRYPTION_KEY": FERNET_KEY,
      "PHONE_INDEX_KEY": None}, "PHONE_INDEX_KEY"),
])
def test_production_refuses_to_start_without_its_keys(tmp_path, keys, named):
    with pytest.raises(MissingSecret) as caught:
        production(tmp_path, **keys)
    assert named in str(caught.value) and "环境变量" in str(caught.value)


def test_production_starts_with_its_keys(tmp_path):
    app = production(tmp_path, SECRET_KEY="a-real-secret-of-our-own",
                     FIELD_ENCRYPTION_KEY=FERNET_KEY, PHONE_INDEX_KEY="an-index-key-of-our-own")
    assert app.config["LIANXIN_ENV"] == "production" and app.secret_key == "a-real-secret-of-our-own"


def test_a_production_process_without_keys_exits_naming_the_variable(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("SECRET_KEY", "FIELD_ENCRYPTION_KEY", "PHONE_INDEX_KEY", "DATABASE_URL")}
    env.update(LIANXIN_ENV="production", LIANXIN_INSTANCE=str(tmp_path),
               SECRET_KEY="a-real-secret-of-our-own")
    run = subprocess.run([sys.executable, "-m", "flask", "--app", "backend", "routes"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "FIELD_ENCRYPTION_KEY" in run.stderr and "生产环境必须设置环境变量" in run.stderr
    env["FIELD_ENCRYPTION_KEY"] = FERNET_KEY
    env["PHONE_INDEX_KEY"] = "an-index-key-of-our-own"
    run = subprocess.run([sys.executable, "-m", "flask", "--app", "backend", "routes"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "/api/mp/v1/messages" in run.stdout


def test_a_token_signed_with_another_key_is_refused(client, db, make_resident):
    from miniprogram_api.auth import TOKEN_SALT, session_for
    resident = make_resident(openid="o-forged-target")
    db.session.commit()
    good = session_for(resident)["token"]
    assert client.get("/api/mp/v1/messages",
                      headers={"Authorization": f"Bearer {good}"}).status_code == 200
    for key in (DEV_SECRET_KEY, "guessed-key"):
        forged = URLSafeTimedSerializer(key, salt=TOKEN_SALT).dumps(
            {"r": resident.id, "o": resident.openid, "s": None})
        resp = client.get("/api/mp/v1/messages", headers={"Authorization": f"Bearer {forged}"})
        assert resp.status_code == 401 and resp.get_json()["code"] == "token_invalid"
