"""The demo as a newcomer runs it: `scripts/start <port>` serves on that port, its QR codes
point at that port, the scheduler runs beside the web server, and Ctrl-C stops both."""
import io
import os
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

import zxingcpp
from PIL import Image

from backend import create_app
from backend.org.codes import active_code, code_image

ROOT = Path(__file__).resolve().parents[2]


def _decode(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert results, "no QR code found in the image"
    return results[0].text


def test_without_public_base_url_the_qr_target_follows_the_port(db, make_deputy, monkeypatch):
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.delenv("PUBLIC_HOST", raising=False)
    monkeypatch.setenv("FLASK_RUN_PORT", "5101")
    app = create_app("testing", PUBLIC_BASE_URL=None,
                     SQLALCHEMY_DATABASE_URI=db.engine.url.render_as_string(hide_password=False))
    code = active_code(make_deputy())
    with app.app_context():
        assert app.config["PUBLIC_BASE_URL"] == "http://127.0.0.1:5101"
        assert _decode(code_image(code, "png")[0]) == f"http://127.0.0.1:5101/d/{code.token}"

    monkeypatch.setenv("PUBLIC_HOST", "192.168.1.23")  # what `scripts/start --lan` exports
    assert create_app("testing", PUBLIC_BASE_URL=None).config["PUBLIC_BASE_URL"] == (
        "http://192.168.1.23:5101")
    # A configured address always wins.
    assert create_app("testing", PUBLIC_BASE_URL="https://lx.example.cn").config[
        "PUBLIC_BASE_URL"] == "https://lx.example.cn"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[str]:
    out = subprocess.run(["ps", "-ww", "-o", "args=", "--ppid", str(pid)], capture_output=True,
                         text=True).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def test_start_serves_on_the_port_runs_the_scheduler_and_ctrl_c_stops_both(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in {"PUBLIC_BASE_URL", "PUBLIC_HOST", "DATABASE_URL", "LIANXIN_ENV", "LAN"}}
    env.update(SKIP_BOOTSTRAP="1", LIANXIN_INSTANCE=str(tmp_path / "instance"),
               UPLOAD_DIR=str(tmp_path / "uploads"))
    log = (tmp_path / "start.log").open("w+")
    proc = subprocess.Popen([str(ROOT / "scripts/start"), str(port)], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (tmp_path / "start.log").read_text()
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "start.log").read_text()
                time.sleep(0.5)
        output = (tmp_path / "start.log").read_text()
        assert f"连心桥已启动：http://127.0.0.1:{port}/" in output
        children = _children(proc.pid)
        assert any("scheduler run" in c for c in children), children
        assert any("flask run" in c and str(port) in c for c in children), children

        with sqlite3.connect(tmp_path / "instance" / "lianxin.sqlite") as conn:
            token = conn.execute(
                "SELECT token FROM deputy_codes WHERE revoked_at IS NULL LIMIT 1").fetchone()[0]
        png = urllib.request.urlopen(f"http://127.0.0.1:{port}/d/{token}/qr.png", timeout=5).read()
        assert _decode(png) == f"http://127.0.0.1:{port}/d/{token}"

        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        proc.wait(timeout=60)  # a scheduler job in flight finishes first (a loaded CI machine)
        time.sleep(0.5)
        assert _children(proc.pid) == []
        leftovers = subprocess.run(["pgrep", "-f", f"--port {port}"], capture_output=True,
                                   text=True).stdout.split()
        assert leftovers == []
        assert subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True).returncode == 1
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
