"""Reads of dashboards and lists sent to a PostgreSQL streaming replica when one is configured
(`XIETONG_READ_REPLICA_URL`), and back to the primary whenever the replica could answer wrong:
down, too far behind, or not yet holding what this client just wrote (read-your-writes).

A write request answers with the primary's WAL position after its commit (header and cookie
`WRITTEN_LSN`); a read that carries it goes to the replica only once the replica has replayed
that far. The replica's state is checked at most once per `check_every` seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Engine, text

from xietong.storage.engine import build_engine

logger = logging.getLogger(__name__)

WRITTEN_LSN = "x-xietong-written-lsn"
WRITTEN_COOKIE = "xietong_written_lsn"
READ_FROM = "x-xietong-read-from"
DEFAULT_MAX_LAG_BYTES = 16 * 2**20


def parse_lsn(lsn: str) -> int:
    """A WAL position (`16/B374D848`) as a byte offset; ValueError if it is not one."""
    high, _, low = lsn.strip().partition("/")
    if not low:
        raise ValueError(f"not a WAL position: {lsn!r}")
    return (int(high, 16) << 32) | int(low, 16)


@dataclass(frozen=True)
class ReplicaState:
    reachable: bool
    replayed: int = 0  # byte offset the replica has replayed to
    behind: int = 0  # bytes of WAL the primary has written and the replica not yet replayed
    checked_at: float = 0.0


Source = Literal["replica", "primary"]


class ReadRouting:
    """Chooses the engine of one read: the replica if it can answer right, else the primary."""

    def __init__(
        self,
        *,
        primary: Engine,
        replica: Engine,
        max_lag_bytes: int = DEFAULT_MAX_LAG_BYTES,
        check_every: float = 1.0,
    ) -> None:
        self.primary = primary
        self.replica = replica
        self.max_lag_bytes = max_lag_bytes
        self.check_every = check_every
        self._state = ReplicaState(reachable=False, checked_at=float("-inf"))
        self._lock = threading.Lock()

    @classmethod
    def for_urls(cls, *, primary: Engine, replica_url: str, max_lag_bytes: int) -> ReadRouting:
        # A replica that does not answer in two seconds is treated as down until the next check.
        replica = build_engine(replica_url, connect_args={"connect_timeout": 2})
        return cls(primary=primary, replica=replica, max_lag_bytes=max_lag_bytes)

    def written_position(self) -> str:
        """The primary's WAL position now: what a client's next read must see."""
        with self.primary.connect() as connection:
            return str(connection.execute(text("SELECT pg_current_wal_lsn()")).scalar_one())

    def state(self, *, fresh: bool = False) -> ReplicaState:
        with self._lock:
            if fresh or time.monotonic() - self._state.checked_at >= self.check_every:
                self._state = self._check()
            return self._state

    def _check(self) -> ReplicaState:
        now = time.monotonic()
        try:
            with self.replica.connect() as connection:
                recovering, replayed = connection.execute(
                    text("SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()")
                ).one()
            with self.primary.connect() as connection:
                current = connection.execute(text("SELECT pg_current_wal_lsn()")).scalar_one()
        except Exception:
            logger.warning("read replica unreachable; reading from the primary", exc_info=True)
            return ReplicaState(reachable=False, checked_at=now)
        if not recovering or replayed is None:
            logger.warning("the read replica is not replaying WAL; reading from the primary")
            return ReplicaState(reachable=False, checked_at=now)
        position = parse_lsn(str(replayed))
        return ReplicaState(
            reachable=True,
            replayed=position,
            behind=max(0, parse_lsn(str(current)) - position),
            checked_at=now,
        )

    def source_for(self, written: str | None) -> Source:
        """Where a read by a client who last wrote at WAL position `written` goes."""
        needed = None
        if written:
            try:
                needed = parse_lsn(written)
            except ValueError:
                return "primary"  # not a position we gave: the primary is always right
        state = self.state()
        if needed is not None and state.reachable and state.replayed < needed:
            state = self.state(fresh=True)  # it may have caught up since the last check
        if not state.reachable or state.behind > self.max_lag_bytes:
            return "primary"
        if needed is not None and state.replayed < needed:
            return "primary"
        return "replica"

    def dispose(self) -> None:
        self.replica.dispose()
