"""Benchmark poster rendering for a station printing 100 deputies at once.

    python bench/posters.py            # timing table
    python bench/posters.py -n 20      # fewer posters
    python bench/posters.py --docs     # also rewrite docs/poster-a5.png and -a4.png

Not a test: run by hand on the target machine.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw  # noqa: E402

from qr.codes import qr_png  # noqa: E402
from qr.posters import (  # noqa: E402
    PosterInfo,
    render_poster_image,
    render_station_pdf,
    render_station_zip,
)

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
GIVEN = "建国华明丽娟强军平红芳伟秀英敏静磊洋艳勇杰涛"
JOBS = ["社区卫生服务中心医生", "小学教师", "个体工商户", "街道社区党委书记", "退休职工", "企业职工", ""]


def sample_photo(seed: int, size: tuple[int, int] = (900, 1200)) -> bytes:
    """A plain illustrated head-and-shoulders portrait as a JPEG (like an upload)."""
    rnd = random.Random(seed)
    w, h = size
    image = Image.new("RGB", size)
    top, bottom = (214, 226, 238), (168, 190, 212)
    for y in range(h):  # soft studio backdrop
        t = y / h
        image.paste(tuple(round(a + (b - a) * t) for a, b in zip(top, bottom)), (0, y, w, y + 1))
    draw = ImageDraw.Draw(image)
    skin = rnd.choice([(241, 206, 178), (232, 190, 160), (224, 178, 146)])
    suit = rnd.choice([(38, 52, 82), (52, 52, 58), (30, 40, 60)])
    cx = w // 2
    hair = (42, 36, 34)
    draw.ellipse((cx - 0.42 * w, 0.66 * h, cx + 0.42 * w, 1.3 * h), fill=suit)  # shoulders
    draw.polygon([(cx - 0.13 * w, 0.66 * h), (cx + 0.13 * w, 0.66 * h), (cx, 0.9 * h)], fill=(250, 250, 250))
    draw.polygon([(cx - 0.03 * w, 0.68 * h), (cx + 0.03 * w, 0.68 * h), (cx, 0.86 * h)], fill=(170, 24, 28))
    draw.rectangle((cx - 0.08 * w, 0.52 * h, cx + 0.08 * w, 0.68 * h), fill=skin)  # neck
    draw.ellipse((cx - 0.215 * w, 0.14 * h, cx + 0.215 * w, 0.44 * h), fill=hair)
    for side in (-1, 1):  # ears
        ex = cx + side * 0.2 * w
        draw.ellipse((ex - 0.035 * w, 0.37 * h, ex + 0.035 * w, 0.47 * h), fill=skin)
    draw.ellipse((cx - 0.2 * w, 0.2 * h, cx + 0.2 * w, 0.62 * h), fill=skin)  # face
    draw.chord((cx - 0.215 * w, 0.14 * h, cx + 0.215 * w, 0.36 * h), 180, 360, fill=hair)
    for side in (-1, 1):  # eyes
        ex = cx + side * 0.075 * w
        draw.ellipse((ex - 0.016 * w, 0.4 * h, ex + 0.016 * w, 0.42 * h), fill=(50, 40, 36))
    draw.arc((cx - 0.06 * w, 0.47 * h, cx + 0.06 * w, 0.54 * h), 20, 160, fill=(170, 100, 90), width=max(2, w // 120))
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=88)
    return buf.getvalue()


def sample_infos(count: int) -> list[PosterInfo]:
    rnd = random.Random(42)
    photos = [sample_photo(seed) for seed in range(8)]
    infos = []
    for number in range(count):
        name = rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.choice((1, 2))))
        infos.append(
            PosterInfo(
                deputy_name=name,
                level_label=rnd.choice(["区人大代表", "市人大代表", "省人大代表"]),
                station_name="城关街道代表联络站",
                code_png=qr_png(f"https://lianxin.example.cn/m/deputy/{10000 + number}"),
                photo=photos[number % len(photos)] if number % 5 else None,
                occupation=rnd.choice(JOBS),
                footer="每月15日 代表接待选民日",
            )
        )
    return infos


def write_docs() -> None:
    info = PosterInfo(
        deputy_name="王建国",
        level_label="区人大代表",
        station_name="城关街道代表联络站",
        code_png=qr_png("https://lianxin.example.cn/m/deputy/10086"),
        photo=sample_photo(7),
        occupation="社区卫生服务中心医生",
        footer="每月15日 代表接待选民日",
    )
    docs = ROOT / "docs"
    render_poster_image(info, "A5", 150).save(docs / "poster-a5.png", optimize=True, dpi=(150, 150))
    a4 = render_poster_image(info, "A4", 150)  # 1240 px wide
    a4.save(docs / "poster-a4.png", optimize=True, dpi=(150, 150))
    for name in ("poster-a5.png", "poster-a4.png"):
        print(f"wrote docs/{name} ({(docs / name).stat().st_size / 1024:.0f} KB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=100, help="posters per run (default 100)")
    parser.add_argument("--docs", action="store_true", help="regenerate the sample images in docs/")
    args = parser.parse_args()
    if args.docs:
        write_docs()

    infos = sample_infos(args.n)
    render_station_pdf(infos[:1], "A5")  # load fonts and build backgrounds outside the timing
    render_station_pdf(infos[:1], "A4")
    runs = [
        ("PDF A5 300dpi", lambda: render_station_pdf(infos, "A5")),
        ("PDF A4 300dpi", lambda: render_station_pdf(infos, "A4")),
        ("ZIP A5 300dpi", lambda: render_station_zip(infos, "A5")),
    ]
    # CPU seconds (all threads) tell more than wall time on a shared machine.
    print(f"{'output':<15}{'pages':>7}{'seconds':>10}{'cpu s':>8}{'pages/s':>10}{'MB':>8}")
    for label, run in runs:
        start, cpu = time.perf_counter(), time.process_time()
        data = run()
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        print(
            f"{label:<15}{len(infos):>7}{seconds:>10.2f}{cpu:>8.1f}"
            f"{len(infos) / seconds:>10.1f}{len(data) / 1e6:>8.1f}"
        )


if __name__ == "__main__":
    main()
