import io

import pytest
from PIL import Image, ImageDraw

from qr.codes import qr_png
from qr.posters import PosterInfo

URL = "https://lianxin.example.cn/m/deputy/10086?from=poster"


def jpeg(size, colour=(40, 120, 60)):
    """A photo-like JPEG: solid colour with a pale disc in the middle."""
    image = Image.new("RGB", size, colour)
    w, h = size
    ImageDraw.Draw(image).ellipse((w * 0.35, h * 0.35, w * 0.65, h * 0.65), fill=(235, 200, 170))
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


@pytest.fixture(scope="session")
def url():
    return URL


@pytest.fixture(scope="session")
def code_png():
    return qr_png(URL)


@pytest.fixture(scope="session")
def make_jpeg():
    return jpeg


@pytest.fixture(scope="session")
def photo():
    return jpeg((600, 800))


@pytest.fixture
def info(code_png, photo):
    return PosterInfo(
        deputy_name="王建国",
        level_label="区人大代表",
        station_name="城关街道代表联络站",
        code_png=code_png,
        photo=photo,
        occupation="社区卫生服务中心医生",
        footer="每月15日 代表接待选民日",
    )
