import dataclasses
import io
import os
import re
import shutil
import subprocess
import zipfile

import pytest
import zxingcpp
from PIL import Image, ImageChops, ImageDraw

from qr import posters
from qr.fonts import ENV_VAR, FontFace, FontNotFound, find_cjk_font, get_font, has_cjk_glyphs
from qr.posters import (
    poster_filename,
    render_poster_pdf,
    render_poster_png,
    render_station_pdf,
    render_station_zip,
    surname,
)
from qr.text import fit_text

LONG_STATION = "城关街道办事处第三社区居民委员会人大代表联络站东门分站"  # 28 characters
EXTREMES = {
    "long station": dict(station_name=LONG_STATION + "（临时）"),
    "four-character compound surname, no photo": dict(deputy_name="欧阳娜娜", photo=None),
    "minority name": dict(deputy_name="阿卜杜热合曼·买买提", level_label="自治区人大代表"),
    "everything long": dict(
        deputy_name="司马欧阳上官诸葛",
        level_label="全国人民代表大会代表（第十四届）",
        station_name=LONG_STATION * 2,
        occupation="某某省某某市某某区人民医院心血管内科主任医师兼社区卫生服务中心主任",
        caption="请扫描下方二维码给Ta留言，反映您身边的急难愁盼问题",
        footer="每月15日上午9:00—11:30 代表接待选民日（节假日顺延）；地址：城关街道人民路128号二楼",
    ),
}


def open_png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def decoded(image: Image.Image) -> list[str]:
    return [barcode.text for barcode in zxingcpp.read_barcodes(image)]


# --- fonts -----------------------------------------------------------------


def glyph(char: str, weight: str) -> Image.Image:
    image = Image.new("L", (80, 80), 0)
    ImageDraw.Draw(image).text((8, 4), char, font=get_font(64, weight), fill=255)
    return image


def ink(image: Image.Image) -> int:
    return sum(image.point(lambda v: 255 if v > 128 else 0).histogram()[255:])


@pytest.mark.parametrize("weight", ["regular", "bold"])
def test_chosen_font_has_real_chinese_glyphs(weight):
    notdef = glyph("\U000f0000", weight)  # private-use plane: shows the font's tofu (or nothing)
    seen = []
    for char in "国留言代表":
        bitmap = glyph(char, weight)
        assert ink(bitmap) > 300, f"{char} renders (almost) nothing"
        assert ImageChops.difference(bitmap, notdef).getbbox(), f"{char} renders as tofu"
        seen.append(bitmap.tobytes())
    assert len(set(seen)) == len(seen), "different characters gave identical bitmaps"


def test_font_is_the_simplified_chinese_face():
    face = find_cjk_font("bold")
    family, style = get_font(20, "bold").getname()
    if "Noto" in family:
        assert "SC" in family and style == "Bold"
    assert has_cjk_glyphs(face)


def test_latin_only_font_is_rejected():
    dejavu = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    if not os.path.exists(dejavu):
        pytest.skip("DejaVu not installed")
    assert not has_cjk_glyphs(FontFace(dejavu))
    with pytest.raises(FontNotFound):
        find_cjk_font(candidates=[dejavu])


def test_missing_override_font_raises_helpful_error(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "/nonexistent/NotoSansCJK-Regular.ttc")
    with pytest.raises(FontNotFound) as error:
        find_cjk_font(candidates=[])
    message = str(error.value)
    assert "fonts-noto-cjk" in message and ENV_VAR in message and "字体" in message


def test_no_font_anywhere_raises_helpful_error(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(FontNotFound) as error:
        find_cjk_font(candidates=["/nonexistent/font.ttc"])
    assert "fonts-noto-cjk" in str(error.value) and "未找到可用的中文字体" in str(error.value)


def test_override_picks_the_sc_face_of_a_collection(monkeypatch):
    face = find_cjk_font("regular")
    monkeypatch.setenv(ENV_VAR, face.path)
    assert find_cjk_font("bold", candidates=[]) == face


def test_fonts_are_loaded_once_per_weight_and_size():
    assert get_font(41, "bold") is get_font(41, "bold")
    assert get_font(41, "bold") is not get_font(41, "regular")


# --- text fitting --------------------------------------------------------------


@pytest.mark.parametrize("max_lines", [1, 2, 3])
def test_fitted_text_never_exceeds_its_box(max_lines):
    for text in [LONG_STATION, LONG_STATION * 4, "给Ta留言", "Supercalifragilisticexpialidocious" * 3]:
        fitted = fit_text(text, 300, 80, max_size=60, min_size=14, max_lines=max_lines)
        assert fitted.height <= 80
        assert all(fitted.font.getlength(line) <= 300 for line in fitted.lines)
        assert len(fitted.lines) <= max_lines


def test_wrapping_keeps_punctuation_off_line_starts_and_balances_lines():
    fitted = fit_text(LONG_STATION + "（东门）", 420, 200, max_size=40, min_size=40, max_lines=3)
    assert len(fitted.lines) >= 2
    assert not any(line[0] in "，。）" for line in fitted.lines)
    lengths = [len(line) for line in fitted.lines]
    assert max(lengths) - min(lengths) <= 2


def test_surname_handles_compound_surnames():
    assert surname("王建国") == "王"
    assert surname("欧阳娜娜") == "欧阳"
    assert surname("司马光") == "司马"
    assert surname("阿卜杜热合曼·买买提") == "阿"


# --- PNG posters ---------------------------------------------------------------------


@pytest.mark.parametrize("size, mm", [("A5", (148, 210)), ("A4", (210, 297))])
def test_png_has_the_paper_size_in_pixels(info, size, mm):
    image = open_png(render_poster_png(info, size=size, dpi=150))
    assert abs(image.width - mm[0] / 25.4 * 150) <= 2
    assert abs(image.height - mm[1] / 25.4 * 150) <= 2
    assert round(image.info["dpi"][0]) == 150


@pytest.mark.parametrize("size", ["A5", "A4"])
@pytest.mark.parametrize("with_photo", [True, False], ids=["photo", "placeholder"])
def test_qr_on_the_poster_decodes_to_the_url(info, url, size, with_photo):
    if not with_photo:
        info = dataclasses.replace(info, photo=None)
    image = open_png(render_poster_png(info, size=size, dpi=150))
    assert decoded(image) == [url]


def test_qr_spans_at_least_45_percent_of_the_width(info):
    image = open_png(render_poster_png(info, dpi=150))
    [barcode] = zxingcpp.read_barcodes(image)
    width = barcode.position.top_right.x - barcode.position.top_left.x
    assert width >= 0.45 * image.width


@pytest.mark.parametrize("case", EXTREMES, ids=list(EXTREMES))
def test_extreme_texts_render_and_qr_still_decodes(info, url, case):
    image = open_png(render_poster_png(dataclasses.replace(info, **EXTREMES[case]), dpi=150))
    assert decoded(image) == [url]


@pytest.mark.parametrize("case", EXTREMES, ids=list(EXTREMES))
def test_extreme_texts_stay_inside_their_slots(info, case):
    """Only the text slots may change; margins, photo, QR card, rules stay put."""
    changed = dataclasses.replace(info, **EXTREMES[case])
    if changed.photo is None:
        changed = dataclasses.replace(changed, photo=info.photo)
    size, dpi = "A5", 150
    base = posters.render_poster_image(info, size, dpi)
    other = posters.render_poster_image(changed, size, dpi)
    w, h = base.size
    diff = ImageChops.difference(base, other).convert("L").point(lambda v: 255 if v > 24 else 0)
    page = posters._Page(size, dpi)
    centre, rows = posters._photo_geometry(page, has_occupation=True)
    allowed = [
        (0.08, rows[0][1], 0.92, rows[-1][1] + rows[-1][2]),  # name, label, occupation
        posters.CAPTION_BOX,
        posters.STATION_BOX,
        posters.FOOTER_BOX,
    ]
    for box in allowed:
        diff.paste(0, page.box(box))
    assert diff.getbbox() is None, f"pixels changed outside the text slots at {diff.getbbox()}"
    assert decoded(other)


def test_profile_rows_do_not_overlap_the_photo_or_each_other():
    for size in ("A5", "A4"):
        page = posters._Page(size, 150)
        for occupation in (True, False):
            centre, rows = posters._photo_geometry(page, occupation)
            photo_bottom = centre + (posters.PHOTO_D / 2 + posters.PHOTO_RING + posters.PHOTO_GOLD) * page.w / page.h
            edges = [photo_bottom] + [edge for _, top, height in rows for edge in (top, top + height)]
            assert edges == sorted(edges)
            assert edges[-1] <= posters.PROFILE_BOTTOM < posters.HERO_BOTTOM


@pytest.mark.parametrize("photo_size", [(1600, 300), (300, 1600), (64, 64)])
def test_any_photo_aspect_fills_the_portrait_circle(info, make_jpeg, photo_size):
    green = (40, 120, 60)
    image = posters.render_poster_image(dataclasses.replace(info, photo=make_jpeg(photo_size, green)), "A5", 150)
    page = posters._Page("A5", 150)
    centre, _ = posters._photo_geometry(page, True)
    radius = posters.PHOTO_D * page.w / 2
    cx, cy = page.w / 2, centre * page.h
    ring = [(cx + dx * radius * 0.8, cy + dy * radius * 0.8) for dx in (-0.7, 0.7) for dy in (-0.7, 0.7)]
    for x, y in ring:
        pixel = image.getpixel((round(x), round(y)))
        assert all(abs(a - b) < 40 for a, b in zip(pixel, green)), (x, y, pixel)


def test_names_and_photos_change_the_poster(info):
    a = posters.render_poster_image(info, "A5", 100)
    b = posters.render_poster_image(dataclasses.replace(info, deputy_name="李建国"), "A5", 100)
    c = posters.render_poster_image(dataclasses.replace(info, photo=None), "A5", 100)
    assert ImageChops.difference(a, b).getbbox()
    assert ImageChops.difference(a, c).getbbox()


def test_bad_inputs_are_rejected(info):
    with pytest.raises(ValueError):
        render_poster_png(info, size="A3")
    with pytest.raises(ValueError):
        render_poster_pdf(info, size="Letter")
    with pytest.raises(ValueError):
        render_station_zip([info], size="B5")
    with pytest.raises(ValueError):
        render_poster_png(dataclasses.replace(info, photo=b"not an image"))
    with pytest.raises(ValueError):
        render_poster_png(dataclasses.replace(info, code_png=b"\x89PNG broken"))
    white = io.BytesIO()
    Image.new("RGB", (50, 50), "white").save(white, format="PNG")
    with pytest.raises(ValueError):
        render_poster_png(dataclasses.replace(info, code_png=white.getvalue()))
    with pytest.raises(ValueError):
        render_poster_png(dataclasses.replace(info, deputy_name="  "))
    with pytest.raises(ValueError):
        render_station_pdf([])


# --- PDF -------------------------------------------------------------------------


def media_boxes(pdf: bytes) -> list[tuple[float, float]]:
    return [
        (float(w), float(h))
        for w, h in re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
    ]


@pytest.mark.parametrize("size, points", [("A5", (419.5, 595.3)), ("A4", (595.3, 841.9))])
def test_station_pdf_has_one_page_per_deputy_of_the_right_size(info, size, points):
    calls = []
    infos = [info, dataclasses.replace(info, deputy_name="欧阳娜娜", photo=None), info]
    pdf = render_station_pdf(iter(infos), size=size, progress=lambda *a: calls.append(a), dpi=72)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type /Page\b", pdf)) == 3
    assert re.search(rb"/Count 3\b", pdf)
    boxes = media_boxes(pdf)
    assert len(boxes) == 3
    assert all(abs(w - points[0]) < 0.1 and abs(h - points[1]) < 0.1 for w, h in boxes)
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_single_poster_pdf(info):
    pdf = render_poster_pdf(info, size="A4", dpi=72)
    assert pdf.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type /Page\b", pdf)) == 1


@pytest.mark.skipif(shutil.which("gs") is None, reason="Ghostscript not installed")
def test_pdf_is_readable_and_the_qr_scans_from_it(info, url, tmp_path):
    other_url = url + "&n=2"
    from qr.codes import qr_png

    second = dataclasses.replace(info, deputy_name="李四", code_png=qr_png(other_url))
    pdf_path = tmp_path / "station.pdf"
    pdf_path.write_bytes(render_station_pdf([info, second], "A5", dpi=150))
    subprocess.run(
        ["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=png16m", "-r100",
         f"-sOutputFile={tmp_path}/page%d.png", str(pdf_path)],
        check=True,
        timeout=60,
    )
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == 2
    first, last = (Image.open(p) for p in pages)
    assert abs(first.width - 148 / 25.4 * 100) <= 2
    assert decoded(first) == [url]
    assert decoded(last) == [other_url]


# --- ZIP -------------------------------------------------------------------------


def test_station_zip_holds_one_named_png_per_deputy(info, url):
    names = ["王建国", "欧阳娜娜", "A/B:C*", "王建国"]
    calls = []
    data = render_station_zip(
        [dataclasses.replace(info, deputy_name=n) for n in names],
        size="A5",
        progress=lambda done, total: calls.append((done, total)),
        dpi=100,
    )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = archive.infolist()
        assert [e.filename for e in entries] == ["01-王建国.png", "02-欧阳娜娜.png", "03-ABC.png", "04-王建国.png"]
        assert all(e.flag_bits & 0x800 for e in entries if not e.filename.isascii())
        for entry in entries:
            image = open_png(archive.read(entry))
            assert image.format == "PNG"
            assert abs(image.width - 148 / 25.4 * 100) <= 2
        assert decoded(open_png(archive.read(entries[0]))) == [url]
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_poster_filenames_are_safe_sortable_and_never_empty():
    assert poster_filename(1, 9, "张三") == "01-张三.png"
    assert poster_filename(7, 120, "  李\t四 ") == "007-李 四.png"
    assert poster_filename(3, 10, '..\\/<>:"|?*') == "03-代表.png"
    assert poster_filename(1, 1, "阿卜杜热合曼·买买提") == "01-阿卜杜热合曼·买买提.png"


def test_batch_pages_match_single_renders_so_nothing_leaks_between_posters(info):
    """Batch rendering recycles canvases; a page must not keep ink from an earlier one."""
    variants = [dataclasses.replace(info, **EXTREMES["everything long"])] * 3 + [
        dataclasses.replace(info, deputy_name=f"李{n}", occupation="", footer="", photo=None) for n in "一二三四五"
    ]
    data = render_station_zip(variants, size="A5", dpi=60)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for entry, variant in zip(archive.infolist(), variants):
            batch = open_png(archive.read(entry)).convert("RGB")
            single = posters.render_poster_image(variant, "A5", 60)
            assert ImageChops.difference(batch, single).getbbox() is None, entry.filename
