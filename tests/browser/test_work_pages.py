"""Each role's work through the screen alone, in a real browser: a laboratory uploads a file
with a bad row, loads the valid rows and downloads the rejects; a district finds the persons of
one building that the day's round missed."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tests.browser.conftest import Server, User

TZ = ZoneInfo("Asia/Shanghai")
_serial = itertools.count(1)


def _building(server: Server, user: User, district: str, index: int = 0) -> str:
    found = server.api(user, "GET", f"/api/areas/buildings?district={district}&limit=10")
    assert found.status_code == 200, found.text
    return str(found.json()["items"][index]["code"])


def _resident(server: Server, user: User, building: str, name: str) -> int:
    from xietong.people.synthetic import synthetic_national_id

    n = 500 + next(_serial)
    body = {
        "national_id": synthetic_national_id(serial=n, birth=date(1975, 3, 1 + n % 28)),
        "name": name,
        "phone": f"1390000{n:04d}",
        "residence_building_code": building,
        "current_building_code": building,
    }
    made = server.api(user, "POST", "/api/people", json=body)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _tubes(server: Server, user: User, district: str, members: dict[str, list[int]]) -> None:
    site = f"S-{district}-{next(_serial)}"
    made = server.api(
        user,
        "POST",
        "/api/screening/sites",
        json={"code": site, "name": f"采样点{site}", "district_code": district},
    )
    assert made.status_code == 201, made.text
    collected = datetime.now(UTC) - timedelta(minutes=30)
    tubes = [
        {
            "tube_code": code,
            "site_code": site,
            "collected_at": collected.isoformat(),
            "pool_size": max(1, len(ids)),
            "person_ids": ids,
        }
        for code, ids in members.items()
    ]
    registered = server.api(user, "POST", "/api/screening/tubes", json={"tubes": tubes})
    assert registered.status_code == 200, registered.text


def test_a_laboratory_loads_the_valid_rows_and_downloads_the_rejects(
    server: Server, open_page: Any, tmp_path: Path
) -> None:
    command = server.create_user("command")
    lab = server.create_user("lab")
    building = _building(server, command, "500103")
    person = _resident(server, command, building, "检测甲")
    code = f"LABT{server.backend}{next(_serial)}"
    _tubes(server, command, "500103", {code: [person]})
    reported = datetime.now(TZ).isoformat(timespec="seconds")
    upload = tmp_path / "结果-上午.csv"
    upload.write_text(
        "tube_code,result,ct_value,lab,reported_at\n"
        f"{code},阴性,,LAB-01,{reported}\n"
        f"NO-SUCH-TUBE,阴性,,LAB-01,{reported}\n",
        encoding="utf-8",
    )

    watched = open_page()
    watched.log_in(lab)
    watched.goto("/lab")
    page = watched.page
    page.set_input_files("#upload input[type=file]", str(upload))
    page.click("#upload button[type=submit]")
    page.wait_for_selector("#row-errors")
    assert page.locator('#row-errors tr[data-error-record="line 3"]').inner_text().count("无此管码")
    watched.screenshot("lab-refused", for_docs=True)

    page.set_input_files("#upload input[type=file]", str(upload))
    page.check("#upload input[name=load_valid]")
    page.click("#upload button[type=submit]")
    page.wait_for_selector("#batch-report")
    assert page.inner_text('[data-count="applied"]') == "1"
    assert page.inner_text('[data-count="rejected"]') == "1"
    watched.screenshot("lab-batch")
    with page.expect_download() as info:
        page.click("#rejects-download")
    saved = tmp_path / "rejects.csv"
    info.value.save_as(saved)
    raw = saved.read_bytes()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [(r["line"], r["tube_code"]) for r in rows] == [("3", "NO-SUCH-TUBE")]
    # The refused file's page answers 422 (the browser logs that status), and nothing else.
    assert [e for e in watched.console_errors if "422" not in e] == []
    assert watched.page_errors == []


def test_a_district_finds_the_persons_of_a_building_the_round_missed(
    server: Server, open_page: Any
) -> None:
    command = server.create_user("command")
    # A district and building no other browser test locks or refers to.
    coordinator = server.create_user("district_coordinator", "500107")
    building = _building(server, command, "500107", 3)
    locked = server.api(
        command,
        "POST",
        "/api/zones/designations",
        json={"building_code": building, "reason": "社会面病例"},
    )
    assert locked.status_code == 201, locked.text
    today = datetime.now(TZ).date().isoformat()
    issued = server.api(command, "POST", f"/api/screening/plan?date={today}")
    assert issued.status_code == 200, issued.text
    residents = [_resident(server, command, building, f"住户{i}") for i in range(3)]
    _tubes(server, command, "500107", {f"MISS{server.backend}{next(_serial)}": residents[:1]})

    watched = open_page()
    watched.log_in(coordinator)
    watched.goto(f"/screening?day={today}")
    watched.screenshot("screening", for_docs=True)
    watched.page.click(f'a[data-missed="{building}"]')
    watched.page.wait_for_selector("#missed")
    listed = {
        int(n)
        for n in watched.page.locator("tr[data-person-id]").evaluate_all(
            "rows => rows.map(r => r.dataset.personId)"
        )
    }
    assert listed == set(residents[1:])
    watched.screenshot("screening-missed", for_docs=True)
    assert watched.console_errors == [] and watched.page_errors == []
