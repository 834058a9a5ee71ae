"""What every step of the replay shares: the city and its infections, the simulated clock, the
users who act (one per role and district) and the names the twin gives its sites and
laboratories.

The clock is the outbreak's: every service is handed `scene.at(day, "14:00")`, never the wall
clock, so that the records carry November 2022 times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy.orm import Session

from xietong.auth import service as auth_service
from xietong.core.clock import FixedClock
from xietong.core.principal import Principal
from xietong.people.protection import PersonalDataProtector
from xietong.twin.world import City, Truth

# Days after infection on which a swab is positive (PCR, Omicron): from the day after
# infection for about ten days.
DETECTABLE_FROM = 1
DETECTABLE_UNTIL = 10
# Days from infection to symptom onset for the symptomatic (Omicron incubation, ~3 days).
ONSET_AFTER = (2, 4)


@dataclass
class Scene:
    city: City
    truth: Truth
    seed: int
    tz: str
    protector: PersonalDataProtector
    clock: FixedClock
    # District id → the district whose laboratory tests its samples: each central urban district
    # has one; every other district sends its samples to the nearest of them.
    lab_of: dict[int, int] = field(default_factory=dict)
    rejects_dir: Path | None = None
    _principals: dict[str, Principal] = field(default_factory=dict)

    # --- time ---------------------------------------------------------------------------------

    def at(self, day: date, hhmm: str) -> datetime:
        """`hh:mm` local time on `day`, in UTC; the simulated clock moves there."""
        hours, minutes = (int(part) for part in hhmm.split(":"))
        moment = datetime.combine(day, time(hours, minutes), tzinfo=ZoneInfo(self.tz)).astimezone(
            UTC
        )
        self.clock.set(moment)
        return moment

    def rng(self, day: date, *purpose: int) -> np.random.Generator:
        """A random stream of its own for each day and purpose: a resumed step draws as the
        first attempt did."""
        return np.random.default_rng([self.seed, day.toordinal(), *purpose])

    # --- who acts -----------------------------------------------------------------------------

    def principal(self, session: Session, username: str) -> Principal:
        known = self._principals.get(username)
        if known is None:
            user = auth_service.get_user(session, username=username)
            if user is None:
                raise RuntimeError(f"demo user {username!r} is missing; run the setup step")
            known = self._principals[username] = auth_service.principal_of(user)
        return known

    def command(self, session: Session) -> Principal:
        return self.principal(session, "command")

    def lab(self, session: Session) -> Principal:
        return self.principal(session, "lab")

    def coordinator(self, session: Session, district_id: int) -> Principal:
        return self.principal(session, f"coord-{self.code(district_id).lower()}")

    def field_worker(self, session: Session, district_id: int) -> Principal:
        return self.principal(session, f"field-{self.code(district_id).lower()}")

    # --- names --------------------------------------------------------------------------------

    def code(self, district_id: int) -> str:
        return self.city.district_codes[district_id]

    def prefix(self) -> str:
        return f"W{self.seed}"

    def lab_code(self, district_id: int) -> str:
        """The laboratory that tests the samples of `district_id`."""
        return f"{self.prefix()}-LAB-{self.code(self.lab_of.get(district_id, district_id))}"

    def clinic_site(self, district_id: int) -> str:
        return f"{self.prefix()}-CLINIC-{self.code(district_id)}"

    @staticmethod
    def street_site(street_code: str) -> str:
        return f"{street_code}-P"

    def tube_code(self, kind: str, day: date, number: int) -> str:
        return f"{self.prefix()}{kind}{day:%m%d}-{number:07d}"
