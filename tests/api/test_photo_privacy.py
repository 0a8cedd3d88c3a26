"""Residents' photos are private (issue #15): the public /media route serves deputies' portraits
only, whatever dot segments or escapes the path carries, and a message photo reaches only who
may see the message — its writer and the staff the message policy lets see it — and never
with a cache header that lets a proxy keep it."""
import secrets
import uuid

import pytest

from backend.core.adapters import get_storage
from backend.messages.operations import add_photo, submit_message
from backend.core.ratelimit import RESIDENT_COOKIE
from tests.api.conftest import image_bytes


@pytest.fixture
def photo_world(db, world, make_staff, each_storage):
    w = world
    data = image_bytes()
    w.photo_data = data
    w.photo = add_photo(resident=w.owner, storage_key=get_storage().save(data, "messages", "jpg"),
                        width=40, height=30, size_bytes=len(data))
    w.photo_message = submit_message(
        resident=w.owner, deputy=w.deputy, body="井盖松动，请看照片。", photo_ids=[w.photo.id],
        idempotency_key=uuid.uuid4().hex).message
    w.owner.web_key = secrets.token_urlsafe(32)
    w.portrait = get_storage().save(image_bytes("PNG"), "photos", "png")
    w.staff = {
        "admin": make_staff("admin"),
        "liaison": make_staff("liaison", stations=[w.station]),
        "other_liaison": make_staff("liaison", stations=[w.station_b]),
        "deputy": make_staff("deputy", deputy=w.deputy),
        "other_deputy": make_staff("deputy", deputy=w.deputy_b),
    }
    db.session.commit()
    return w


def assert_private(resp, data):
    assert resp.status_code == 200 and resp.data == data
    cache = resp.headers["Cache-Control"]
    assert "private" in cache and "no-store" in cache and "public" not in cache


@pytest.mark.parametrize("template", [
    "/media/photos/../{key}",
    "/media/photos/%2e%2e/{key}",
    "/media/photos/%2E%2E/{key}",
    "/media/photos/..%2f{key}",
    "/media/photos/%2e%2e%2f{key}",
    "/media/photos/./../{key}",
    "/media/photos//../{key}",
    "/media/photos/x/../../{key}",
    "/media/./photos/../{key}",
    "/media/photos/..%5c{key}",
])
def test_dot_segments_never_reach_a_residents_photo(client, photo_world, template):
    key = photo_world.photo.storage_key
    resp = client.get(template.format(key=key))
    assert resp.status_code == 404 and resp.data != photo_world.photo_data
    assert "public" not in resp.headers.get("Cache-Control", "")


def test_deputy_portraits_stay_public(client, photo_world):
    resp = client.get(f"/media/{photo_world.portrait}")
    assert resp.status_code == 200 and "public" in resp.headers["Cache-Control"]
    # A dot segment that stays inside photos/ names the same portrait; it is not a way out.
    folder, name = photo_world.portrait.split("/")
    assert client.get(f"/media/{folder}/x/../{name}").status_code == 200


API_VIEWERS = {"owner": True, "deputy": True, "liaison": True, "other_resident": False,
               "other_deputy": False, "other_liaison": False, "none": False}


@pytest.mark.parametrize("role, allowed", API_VIEWERS.items())
def test_photo_through_the_api_by_role(api, photo_world, role, allowed):
    resp = api.get(f"/photos/{photo_world.photo.id}", photo_world.tokens[role])
    if allowed:
        assert_private(resp, photo_world.photo_data)
    else:
        assert resp.status_code in (401, 404) and resp.data != photo_world.photo_data


STAFF_VIEWERS = {"admin": True, "liaison": True, "deputy": True, "other_liaison": False,
                 "other_deputy": False}


@pytest.mark.parametrize("role, allowed", STAFF_VIEWERS.items())
def test_photo_on_the_staff_pages_by_role(client, login, photo_world, role, allowed):
    w = photo_world
    login(w.staff[role])
    resp = client.get(f"/staff/messages/{w.photo_message.id}/photos/{w.photo.id}")
    if allowed:
        assert_private(resp, w.photo_data)
    else:
        assert resp.status_code in (403, 404) and resp.data != w.photo_data


def test_photo_on_the_portal_only_for_its_writer(client, app, photo_world):
    w = photo_world
    url = f"/m/{w.photo_message.id}/photos/{w.photo.id}"
    stranger = app.test_client()
    assert stranger.get(url).status_code == 404
    stranger.set_cookie(RESIDENT_COOKIE, secrets.token_urlsafe(32))
    assert stranger.get(url).status_code == 404
    client.set_cookie(RESIDENT_COOKIE, w.owner.web_key)
    assert_private(client.get(url), w.photo_data)
