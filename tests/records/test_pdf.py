"""The printable A4 PDF of a deputy's year: read back (the text layer, with pypdf), its page
image checked against that text (ink where each line is said to be, white margins), saved
beside the screenshots to be looked at, and pages added when the record runs long."""
from io import BytesIO

import pytest
from PIL import Image
from pypdf import PdfReader

from backend.core.timeutil import local_today
from tests.records.conftest import bj

YEAR = local_today().year
A4_POINTS = (595.28, 841.89)


@pytest.fixture
def world(db, make_station, make_deputy, make_staff, add_message, add_reception_day,
          add_activity):
    from datetime import date

    class World:
        pass
    w = World()
    w.station = make_station(name="城关街道人大代表联络站")
    w.deputy = make_deputy(stations=[w.station], name="王建国")
    w.liaison = make_staff("liaison", stations=[w.station])
    jan = bj(YEAR, 1, 5, 9)
    add_message(w.station, to=w.deputy, assigned=w.deputy, at=jan, answered=bj(YEAR, 1, 7, 9),
                ratings=[("satisfied", bj(YEAR, 1, 8, 9))])
    add_message(w.station, to=w.deputy, assigned=w.deputy, at=jan)
    add_reception_day(w.station, date(YEAR, 1, 15), duty=[w.deputy], present=[w.deputy])
    add_activity(at=bj(YEAR, 1, 20, 9), attendances={w.deputy: "attended"})
    db.session.commit()
    return w


def _page_image(page) -> Image.Image:
    (image,) = page.images
    return image.image.convert("L")


def test_the_pdf_reads_back_and_its_image_says_the_same(client, login, world, screenshot_dir):
    resp = login(world.liaison).get(f"/staff/records/deputies/{world.deputy.id}.pdf?year={YEAR}")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert f"deputy-record-{world.deputy.id}-{YEAR}.pdf" in resp.headers["Content-Disposition"]
    reader = PdfReader(BytesIO(resp.data))
    assert len(reader.pages) == 2
    page = reader.pages[0]
    for p in reader.pages:
        box = p.mediabox
        assert (round(float(box.width), 2), round(float(box.height), 2)) == A4_POINTS
    text = "\n".join(p.extract_text() for p in reader.pages)
    for expected in (f"王建国 · {YEAR}年度履职档案", "所在联络站：城关街道人大代表联络站",
                     "收到留言 2 条", "已答复 1 条（答复率 50.0%）",
                     "答复用时中位数 2 个工作日（据 1 条已答复留言）", "到岗 1 次", "参与率 100.0%",
                     "答复率 50.0%（1/2）→ 得 12.5 分（满分 25 分）",
                     "合计 70.0 分 · 较好", "第 1 页，共 2 页", "第 2 页，共 2 页",
                     "述职 本年度没有述职", "1月20日 走访选民 · 走访选民 · 已到",
                     "答复两周后 回访 0 人，回答 0 人", "样本太少，不计算解决率"):
        assert expected in text, expected

    # A section is kept on one page: the evaluation moves whole to the second.
    first, second = (p.extract_text() for p in reader.pages)
    assert "履职评价（逐项计分）" in second and "→ 得" not in first

    image = _page_image(page)
    image.save(screenshot_dir / "record-pdf-page1.png")
    _page_image(reader.pages[1]).save(screenshot_dir / "record-pdf-page2.png")
    assert image.size == (1240, 1754)  # A4 at 150 dpi
    # Ink (grey labels, black values) where the text layer says each line is; white margins.
    assert _darkest(image, _box_of(resp.data, "收到留言", image)) <= 120
    assert _darkest(image, _box_of(resp.data, "2 条", image)) <= 40
    assert _darkest(image, (1160, 0, 1240, 1754)) > 240
    assert _darkest(image, (0, 1700, 1240, 1754)) > 240


def _darkest(image: Image.Image, box) -> int:
    return image.crop(box).getextrema()[0]


def _box_of(pdf: bytes, words: str, image: Image.Image) -> tuple[int, int, int, int]:
    """Where the text layer puts `words`, in the page image's pixels."""
    found = []

    def visit(text, cm, tm, font, size):
        if text.strip() == words:
            found.append((tm[4], tm[5], size))
    PdfReader(BytesIO(pdf)).pages[0].extract_text(visitor_text=visit)
    x, y, size = found[0]  # the first, in reading order
    k = image.width / A4_POINTS[0]
    return (round(x * k), round((A4_POINTS[1] - y - size) * k), round((x + size * len(words)) * k),
            round((A4_POINTS[1] - y) * k))


def test_a_long_record_runs_to_more_pages(app, world, db):
    from backend.records.dossier import deputy_record
    from backend.records.evaluation import current_settings, evaluate
    from backend.records.pdf import record_pdf
    record = deputy_record(world.deputy, YEAR)
    record.stations = "、".join(f"第{n}联络站（城关街道某某社区代表联系点）" for n in range(60))
    reader = PdfReader(BytesIO(record_pdf(record, evaluate(record, current_settings()),
                                          generated="2026-12-03 09:00")))
    assert len(reader.pages) == 2
    assert "第 2 页，共 2 页" in reader.pages[1].extract_text()
    assert "合计" in reader.pages[1].extract_text()  # nothing lost at the break
