import io
import xml.etree.ElementTree as ET

import pytest
import zxingcpp
from PIL import Image

from qr.codes import qr_png, qr_svg


def decode(png: bytes) -> list:
    return zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))


@pytest.mark.parametrize(
    "data",
    [
        "https://lianxin.example.cn/m/deputy/10086?from=poster",
        "https://lianxin.example.cn/s/城关街道?page=1&x=%20",
    ],
)
def test_png_decodes_to_the_exact_data_with_level_q(data):
    [barcode] = decode(qr_png(data))
    assert barcode.format == zxingcpp.BarcodeFormat.QRCode
    assert barcode.text == data
    assert barcode.ec_level == "Q"


def test_png_size_follows_box_size_and_border():
    small = Image.open(io.BytesIO(qr_png("https://x.cn/a", box_size=1, border=0)))
    modules = small.width
    assert (modules - 17) % 4 == 0  # a QR symbol is 17 + 4 * version modules wide
    big = Image.open(io.BytesIO(qr_png("https://x.cn/a", box_size=7, border=4)))
    assert big.size == ((modules + 8) * 7,) * 2


def test_svg_is_xml_with_size_and_viewbox_matching_the_symbol():
    data = "https://lianxin.example.cn/m/deputy/10086"
    root = ET.fromstring(qr_svg(data))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("width") and root.get("height")
    x, y, w, h = (float(v) for v in root.get("viewBox").split())
    modules = Image.open(io.BytesIO(qr_png(data, box_size=1, border=4))).width
    assert (x, y, w, h) == (0, 0, modules, modules)
    assert root.find("{http://www.w3.org/2000/svg}path") is not None


def test_empty_data_is_rejected():
    with pytest.raises(ValueError):
        qr_png("")
    with pytest.raises(ValueError):
        qr_svg("")
