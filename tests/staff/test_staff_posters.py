"""Deputy posters from the staff pages and from `flask posters`: what they carry, the files they
come in, who may print them."""
import io
import re
import zipfile
from urllib.parse import quote

import pytest
import responses
import sqlalchemy as sa
import zxingcpp
from PIL import Image

from backend.core.extensions import db
from backend.org.code_model import DeputyCode
from backend.org.models import Station
from backend.reception import posters
from backend.org.codes import active_code, code_url
from backend.cli.posters import posters_command
from qr.codes import qr_png
from tests.conftest import FAKE_WECHAT

A5_POINTS, A4_POINTS = (419.5, 595.3), (595.3, 841.9)


@pytest.fixture
def fast_print(monkeypatch):
    # 300 dpi is for paper; page sizes, page counts and file names do not depend on it.
    monkeypatch.setattr(posters, "PRINT_DPI", 100)


@pytest.fixture
def station_of_three(org_world, make_deputy):
    """Station A with 王建国 (from org_world), 李秀英 without a code yet, and 张伟, inactive."""
    make_deputy(name="李秀英", stations=[org_world.station_a], with_code=False)
    make_deputy(name="张伟", stations=[org_world.station_a], is_active=False)
    db.session.commit()
    return org_world.station_a


def _decode(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image)]


def _media_boxes(pdf: bytes) -> list[tuple[float, float]]:
    return [(float(w), float(h))
            for w, h in re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)]


def _same_size(boxes, points):
    return all(abs(w - points[0]) < 0.1 and abs(h - points[1]) < 0.1 for w, h in boxes)


# ---- one deputy ----

def test_deputy_poster_png_carries_the_deputys_code(client, login, org_world):
    w = org_world
    login(w.users["liaison_own"])
    resp = client.get(f"/staff/deputies/{w.deputy_a.id}/poster.png")
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    image = Image.open(io.BytesIO(resp.data))
    assert image.size == (1748, 2480)  # A5 at 300 dpi, ready for print
    token = active_code(w.deputy_a).token
    assert _decode(image) == [f"{client.application.config['PUBLIC_BASE_URL']}/d/{token}"]
    disposition = resp.headers["Content-Disposition"]
    assert disposition == ('attachment; filename="posters-A5.png"; '
                           f"filename*=UTF-8''{quote('王建国-代表海报-A5.png')}")


@pytest.mark.parametrize("size, points", [("A5", A5_POINTS), ("A4", A4_POINTS)])
def test_deputy_poster_pdf_is_one_page_of_the_asked_size(client, login, org_world, fast_print,
                                                         size, points):
    login(org_world.users["admin"])
    resp = client.get(f"/staff/deputies/{org_world.deputy_a.id}/poster.pdf?size={size}")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    boxes = _media_boxes(resp.data)
    assert len(boxes) == 1 and _same_size(boxes, points)


@pytest.mark.parametrize("who, query, expected", [
    ("liaison_b", "", "桂花坪街道代表联络站"),  # their own station
    ("liaison_b", "?station={station_a}", "城关街道代表联络站"),
    ("admin", "", "城关街道代表联络站"),  # the deputy's first station
])
def test_the_poster_names_the_station_being_printed_for(
        client, login, org_world, make_staff, monkeypatch, who, query, expected):
    w = org_world
    w.deputy_a.stations = [w.station_a, w.station_b]
    user = make_staff("liaison", stations=[w.station_b]) if who == "liaison_b" else w.users[who]
    seen = []
    monkeypatch.setitem(posters.DEPUTY_FORMATS, "png",
                        lambda info, size, dpi: seen.append(info.station_name) or b"png")
    login(user)
    url = f"/staff/deputies/{w.deputy_a.id}/poster.png" + query.format(station_a=w.station_a.id)
    assert client.get(url).status_code == 200
    assert seen == [expected]


def test_footer_has_the_reception_day_and_a_short_address(make_station):
    assert posters.poster_footer(make_station(address="解放路12号")) == \
        "每月15日 代表接待选民日 · 解放路12号"
    long_address = "城关区解放路街道人民路与五一大道交叉口东南角党群服务中心二楼东侧"
    assert posters.poster_footer(make_station(address=long_address)) == "每月15日 代表接待选民日"


def test_refusals_are_explained(client, login, org_world, make_deputy, make_station):
    w = org_world
    login(w.users["admin"])
    w.deputy_b.is_active = False
    empty = make_station(name="空站")
    db.session.commit()
    resp = client.get(f"/staff/deputies/{w.deputy_b.id}/poster.png")
    assert resp.status_code == 409 and "该代表已停用" in resp.get_data(as_text=True)
    resp = client.get(f"/staff/stations/{empty.id}/posters.pdf")
    assert resp.status_code == 409 and "还没有在用的代表" in resp.get_data(as_text=True)
    resp = client.get(f"/staff/deputies/{w.deputy_a.id}/poster.png?size=B5")
    assert resp.status_code == 422 and "A5 或 A4" in resp.get_data(as_text=True)


# ---- a whole station ----

@pytest.mark.parametrize("size, points", [("A5", A5_POINTS), ("A4", A4_POINTS)])
def test_station_pdf_has_a_page_per_active_deputy(client, login, org_world, station_of_three,
                                                  fast_print, size, points):
    login(org_world.users["liaison_own"])
    resp = client.get(f"/staff/stations/{station_of_three.id}/posters.pdf?size={size}")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    boxes = _media_boxes(resp.data)
    assert len(boxes) == 2 and _same_size(boxes, points)
    assert f"filename*=UTF-8''{quote(f'城关街道代表联络站-代表海报-{size}.pdf')}" in \
        resp.headers["Content-Disposition"]


def test_station_zip_names_each_poster_and_issues_missing_codes(
        client, login, org_world, station_of_three, fast_print):
    login(org_world.users["admin"])
    resp = client.get(f"/staff/stations/{station_of_three.id}/posters.zip")
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(resp.data))
    assert archive.namelist() == ["01-李秀英.png", "02-王建国.png"]
    db.session.expire_all()  # the request committed the code it issued for 李秀英
    issued = db.session.scalar(sa.select(DeputyCode).join(DeputyCode.deputy)
                               .where(DeputyCode.deputy.has(name="李秀英")))
    assert _decode(Image.open(archive.open("01-李秀英.png"))) == [code_url(issued)]


def test_station_posters_load_the_roster_in_one_query(app, org_world, make_deputy, fast_print):
    for name in ("李秀英", "张伟", "赵丽华"):
        make_deputy(name=name, stations=[org_world.station_a])
    db.session.commit()
    station = db.session.get(Station, org_world.station_a.id)
    station.is_active  # loaded before counting
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        posters.station_posters(station, "A5", "pdf")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2, selects  # the roster with codes, and the station's reception rule


# ---- who may print ----

ROUTES = ["/staff/deputies/{deputy_a}/poster.png", "/staff/stations/{station_a}/posters.zip"]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("role, expected", [
    ("anonymous", 302), ("admin", 200), ("liaison_own", 200), ("liaison_other", 403),
    ("deputy", 403), ("department", 403)])
def test_who_may_print(client, login, org_world, fast_print, route, role, expected):
    if role != "anonymous":
        login(org_world.users[role])
    resp = client.get(route.format(deputy_a=org_world.deputy_a.id,
                                   station_a=org_world.station_a.id))
    assert resp.status_code == expected
    if role == "anonymous":
        assert "/staff/login" in resp.headers["Location"]


def test_the_pages_link_to_the_posters(client, login, org_world):
    w = org_world
    login(w.users["liaison_own"])
    page = client.get(f"/staff/deputies/{w.deputy_a.id}").get_data(as_text=True)
    assert f"/staff/deputies/{w.deputy_a.id}/poster.pdf" in page
    page = client.get(f"/staff/stations/{w.station_a.id}/edit").get_data(as_text=True)
    assert f"/staff/stations/{w.station_a.id}/posters.zip" in page


# ---- the command line ----

def test_cli_writes_a_pdf_and_reports_progress(app, org_world, station_of_three, fast_print,
                                               tmp_path):
    out = tmp_path / "海报.pdf"
    result = app.test_cli_runner().invoke(
        posters_command, ["--station", "城关街道代表联络站", "--size", "A4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    boxes = _media_boxes(out.read_bytes())
    assert len(boxes) == 2 and _same_size(boxes, A4_POINTS)
    assert "正在生成海报" in result.stderr
    assert f"已生成 2 位代表的海报，保存到 {out}" in result.stdout
    assert re.search(r"用时 \d+\.\d 秒", result.stdout)


def test_cli_default_file_name_and_unknown_station(app, org_world, station_of_three, fast_print,
                                                  tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = app.test_cli_runner()
    result = runner.invoke(posters_command,
                           ["--station", str(station_of_three.id), "--format", "zip"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "城关街道代表联络站-代表海报-A5.zip").is_file()
    result = runner.invoke(posters_command, ["--station", "不存在的站"])
    assert result.exit_code == 2
    assert "没有找到联络站“不存在的站”" in result.output and "桂花坪街道代表联络站" in result.output


# ---- with WeChat: the mini-program code ----

def test_with_wechat_the_poster_carries_the_mini_program_code_fetched_once(
        wechat, client, login, org_world, fast_print):
    # A stand-in mini-program code that the scanner can tell apart from the deputy's QR.
    wechat.add(responses.POST, FAKE_WECHAT + "wxa/getwxacodeunlimit",
               body=qr_png("mini-program-code"), content_type="image/png")
    login(org_world.users["liaison_own"])
    first = client.get(f"/staff/deputies/{org_world.deputy_a.id}/poster.png")
    second = client.get(f"/staff/deputies/{org_world.deputy_a.id}/poster.pdf")
    assert first.status_code == second.status_code == 200
    assert _decode(Image.open(io.BytesIO(first.data))) == ["mini-program-code"]
    assert len([c for c in wechat.calls if "getwxacodeunlimit" in c.request.url]) == 1
