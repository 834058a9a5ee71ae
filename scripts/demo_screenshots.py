"""The README's pictures of the demo's referral pages: a small demo city is built and replayed as
`xietong demo` does it, served on the demo's clock (the close of its last day), and a browser
whose own clock is the wall's (years later) photographs a district's inbox, one referral and the
command centre's board. Each countdown must read minutes (or a few hours), never years.

    .venv/bin/python scripts/demo_screenshots.py [--population 100000] [--days 21]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright
from sqlalchemy import func, select

from xietong.api.app import create_app
from xietong.areas.models import District
from xietong.cli.twin import DEFAULT_DAYS, DEFAULT_POPULATION, build_and_replay
from xietong.config import Settings
from xietong.core.wallclock import RunningClock
from xietong.referrals.models import Referral
from xietong.storage.engine import build_engine, session_factory
from xietong.twin.replay import START_DAY, day_closes
from xietong.twin.users import DEMO_PASSWORD

REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# What a countdown may read: minutes, or hours below a day; never thousands of hours.
COUNTDOWN = re.compile(r"^(剩余|已超时) (\d+) (分钟|小时)$")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _busiest_receiver(engine: object) -> tuple[str, int]:
    """The district with the most open referrals, and its newest open referral."""
    with session_factory(engine)() as session:  # type: ignore[arg-type]
        open_ = Referral.status.in_(["pushed", "acknowledged", "located"])
        district_id, _ = session.execute(
            select(Referral.to_district_id, func.count())
            .where(open_)
            .group_by(Referral.to_district_id)
            .order_by(func.count().desc(), Referral.to_district_id)
        ).first() or (None, 0)
        if district_id is None:
            raise SystemExit("the replay left no open referral: replay more days")
        code = session.scalar(select(District.code).where(District.id == district_id))
        newest = session.scalar(
            select(func.max(Referral.id)).where(open_, Referral.to_district_id == district_id)
        )
    assert code is not None and newest is not None
    return code, newest


def _check_countdowns(page: object, where: str) -> int:
    texts = page.locator(".countdown").all_inner_texts()  # type: ignore[attr-defined]
    for text in texts:
        match = COUNTDOWN.match(text.strip())
        if match is None or (match.group(3) == "小时" and int(match.group(2)) >= 24):
            raise SystemExit(f"{where}: a countdown reads {text!r}")
    return len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=DEFAULT_POPULATION)
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'demo.sqlite'}"
        settings = Settings(database_url=url, run_workers=True)
        engine = build_engine(url)
        build_and_replay(
            engine, settings, population=options.population, days=options.days, seed=2022
        )
        last = START_DAY + timedelta(days=options.days - 1)
        app = create_app(
            settings, engine=engine, clock=RunningClock(day_closes(last, "Asia/Shanghai"))
        )
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.1)  # the server is a real one, started in this process
        base = f"http://127.0.0.1:{port}"
        code, referral_id = _busiest_receiver(engine)
        env = {
            **os.environ,
            "XDG_CONFIG_HOME": str(Path(folder) / "config"),
            "XDG_CACHE_HOME": str(Path(folder) / "cache"),
        }
        SHOTS.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, env=env
            )
            for username, path, name in (
                (f"coord-{code}", "/referrals", "demo-inbox"),
                (f"coord-{code}", f"/referrals/{referral_id}", "demo-referral"),
                ("command", "/referrals/board", "demo-board"),
            ):
                context = browser.new_context(
                    viewport={"width": 1366, "height": 768}, locale="zh-CN"
                )
                page = context.new_page()
                page.goto(f"{base}/login")
                page.fill("input[name=username]", username)
                page.fill("input[name=password]", DEMO_PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_load_state("networkidle")
                page.goto(f"{base}{path}")
                page.wait_for_load_state("networkidle")
                counted = _check_countdowns(page, path)
                page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)
                print(f"{name}.png: {path} as {username}, {counted} countdowns")
                context.close()
            browser.close()
        server.should_exit = True
        thread.join()
        engine.dispose()


if __name__ == "__main__":
    main()
