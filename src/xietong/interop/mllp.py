"""The MLLP listener: laboratory systems connect over TCP and send ORU^R01 messages framed by
MLLP; each message is answered with its ACK, in order, on the same connection.

Messages that arrive together (on one connection that does not wait for each ACK, or on many
connections) are applied as one delivery in one transaction, and their ACKs are sent only once
that transaction has committed: a listener killed at any moment has stored every message it
acknowledged, and the sender resends what was not acknowledged (which changes nothing if it was
stored after all). Framing and the asyncio server come from python-hl7 (`hl7.mllp`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from hl7.mllp import HL7StreamReader, HL7StreamWriter, start_hl7_server
from sqlalchemy.orm import Session, sessionmaker

from xietong.core.clock import Clock
from xietong.core.principal import Principal
from xietong.interop import hl7v2, service
from xietong.storage.unit_of_work import unit_of_work

log = logging.getLogger(__name__)


class Listener:
    """Receives messages from any number of connections and applies them in batches."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        principal: Principal,
        tz: str,
        clock: Clock,
        batch_size: int = 5_000,
    ) -> None:
        self.sessions = sessions
        self.principal = principal
        self.tz = tz
        self.clock = clock
        self.batch_size = batch_size
        self.inbox: asyncio.Queue[tuple[str, asyncio.Future[str]]] = asyncio.Queue()
        self.applied = 0

    async def serve(self, host: str, port: int) -> asyncio.Server:
        """Start listening (the returned server's sockets tell the port when `port` is 0)."""
        server: asyncio.Server = await start_hl7_server(self._connected, host, port)
        asyncio.get_running_loop().create_task(self._apply_forever())
        return server

    async def _connected(self, reader: HL7StreamReader, writer: HL7StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        answers: asyncio.Queue[asyncio.Future[str] | None] = asyncio.Queue()
        sender = loop.create_task(self._send_answers(answers, writer))
        try:
            while True:
                try:
                    block = await reader.readblock()
                except (asyncio.IncompleteReadError, ConnectionError):
                    break
                for message in hl7v2.split_messages(block.decode("utf-8", errors="replace")):
                    answer: asyncio.Future[str] = loop.create_future()
                    self.inbox.put_nowait((message, answer))
                    answers.put_nowait(answer)
        finally:
            answers.put_nowait(None)
            with contextlib.suppress(ConnectionError):
                await sender
            writer.close()

    async def _send_answers(
        self, answers: asyncio.Queue[asyncio.Future[str] | None], writer: HL7StreamWriter
    ) -> None:
        while (answer := await answers.get()) is not None:
            ack = await answer
            writer.writeblock(ack.encode("utf-8"))
            await writer.drain()

    async def _apply_forever(self) -> None:
        while True:
            batch = [await self.inbox.get()]
            while len(batch) < self.batch_size and not self.inbox.empty():
                batch.append(self.inbox.get_nowait())
            messages = [message for message, _ in batch]
            try:
                acks = await asyncio.to_thread(self._apply, messages)
            except Exception as exc:  # the database failed: nothing stored, nothing promised
                log.exception("applying %d messages failed", len(messages))
                acks = [self._failed(message, exc) for message in messages]
            for (_, answer), ack in zip(batch, acks, strict=True):
                answer.set_result(ack)

    def _apply(self, messages: list[str]) -> list[str]:
        with unit_of_work(self.sessions, clock=self.clock) as session:
            answer = service.receive_hl7(
                session,
                principal=self.principal,
                messages=messages,
                source="hl7:mllp",
                tz=self.tz,
                now=self.clock.now(),
            )
        self.applied += answer.accepted
        return answer.acks

    def _failed(self, message: str, exc: Exception) -> str:
        reading = hl7v2.read_message(message)
        problem = hl7v2.Problem(
            "MSH",
            1,
            0,
            1,
            hl7v2.APPLICATION_ERROR,
            f"not stored, send it again ({type(exc).__name__})",
        )
        return hl7v2.ack(
            reading,
            code="AR",
            at=self.clock.now(),
            control_id=f"ACK{reading.control_id}",
            problems=[problem],
        )
