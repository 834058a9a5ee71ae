"""The MLLP listener: laboratory systems connect over TCP and send ORU^R01 messages framed by
MLLP; each message is answered with its ACK, in order, on the same connection.

Messages that arrive together (on one connection that does not wait for each ACK, or on many
connections) are applied as one delivery in one transaction, and their ACKs are sent only once
that transaction has committed: a listener killed at any moment has stored every message it
acknowledged, and the sender resends what was not acknowledged (which changes nothing if it was
stored after all). Framing and the asyncio server come from python-hl7 (`hl7.mllp`).

Who sends: over TLS with client certificates (mutual TLS, as laboratory networks connect), each
connection acts as the active user its certificate's common name names, and its messages are
stored and audited as that laboratory's; a certificate naming no active user gets an AR for each
message. Without TLS the listener acts as one given principal and serves loopback only, for an
interface engine on the same machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import ssl
from pathlib import Path

from hl7.mllp import HL7StreamReader, HL7StreamWriter, start_hl7_server
from sqlalchemy.orm import Session, sessionmaker

from xietong.auth import service as auth_service
from xietong.core.clock import Clock
from xietong.core.errors import DomainError
from xietong.core.principal import Principal
from xietong.interop import hl7v2, service
from xietong.storage.unit_of_work import unit_of_work

log = logging.getLogger(__name__)


LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def mutual_tls(*, certificate: Path, key: Path, client_ca: Path) -> ssl.SSLContext:
    """A server context that requires a client certificate signed by `client_ca`."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(client_ca))
    context.load_cert_chain(certfile=str(certificate), keyfile=str(key))
    context.verify_mode = ssl.CERT_REQUIRED
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def common_name(peer_certificate: object) -> str | None:
    """The subject's common name of a verified peer certificate (as `getpeercert()` gives it)."""
    if not isinstance(peer_certificate, dict):
        return None
    for part in itertools.chain.from_iterable(peer_certificate.get("subject", ())):
        if part[0] == "commonName":
            return str(part[1])
    return None


class Listener:
    """Receives messages from any number of connections and applies them in batches.

    With `principal`, every connection acts as it (plain TCP on loopback); without, each
    connection acts as the user its client certificate names (`serve(..., tls=...)`).
    """

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        principal: Principal | None,
        tz: str,
        clock: Clock,
        batch_size: int = 5_000,
    ) -> None:
        self.sessions = sessions
        self.principal = principal
        self.tz = tz
        self.clock = clock
        self.batch_size = batch_size
        self.inbox: asyncio.Queue[tuple[str, Principal, asyncio.Future[str]]] = asyncio.Queue()
        self.applied = 0

    async def serve(
        self, host: str, port: int, *, tls: ssl.SSLContext | None = None
    ) -> asyncio.Server:
        """Start listening (the returned server's sockets tell the port when `port` is 0)."""
        if tls is None and (self.principal is None or host not in LOOPBACK):
            raise ValueError(
                "plain MLLP serves loopback only, as one given principal: give a TLS context "
                "that requires client certificates to listen on another interface"
            )
        server: asyncio.Server = await start_hl7_server(self._connected, host, port, ssl=tls)
        asyncio.get_running_loop().create_task(self._apply_forever())
        return server

    async def _sender_of(self, writer: HL7StreamWriter) -> Principal | str:
        """The connection's principal, or why it has none."""
        if self.principal is not None:
            return self.principal
        name = common_name(writer.get_extra_info("peercert"))
        if name is None:
            return "the client certificate names no user"
        try:
            return await asyncio.to_thread(self._principal_named, name)
        except DomainError as exc:
            return exc.message

    def _principal_named(self, username: str) -> Principal:
        with self.sessions() as session:
            return auth_service.principal_named(session, username=username)

    async def _connected(self, reader: HL7StreamReader, writer: HL7StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        answers: asyncio.Queue[asyncio.Future[str] | None] = asyncio.Queue()
        sender = loop.create_task(self._send_answers(answers, writer))
        principal = await self._sender_of(writer)
        try:
            while True:
                try:
                    block = await reader.readblock()
                except (asyncio.IncompleteReadError, ConnectionError):
                    break
                for message in hl7v2.split_messages(block.decode("utf-8", errors="replace")):
                    answer: asyncio.Future[str] = loop.create_future()
                    if isinstance(principal, str):
                        answer.set_result(self._refused(message, f"not accepted: {principal}"))
                    else:
                        self.inbox.put_nowait((message, principal, answer))
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
            try:
                acks = await asyncio.to_thread(self._apply, batch)
            except Exception as exc:  # the database failed: nothing stored, nothing promised
                log.exception("applying %d messages failed", len(batch))
                acks = [
                    self._refused(message, f"not stored, send it again ({type(exc).__name__})")
                    for message, _, _ in batch
                ]
            for (_, _, answer), ack in zip(batch, acks, strict=True):
                answer.set_result(ack)

    def _apply(self, batch: list[tuple[str, Principal, asyncio.Future[str]]]) -> list[str]:
        """Each sender's messages as one delivery, all in one transaction; ACKs in batch order."""
        acks: dict[int, str] = {}
        by_sender: dict[Principal, list[int]] = {}
        for index, (_, principal, _) in enumerate(batch):
            by_sender.setdefault(principal, []).append(index)
        accepted = 0
        with unit_of_work(self.sessions, clock=self.clock) as session:
            for principal, indexes in by_sender.items():
                answer = service.receive_hl7(
                    session,
                    principal=principal,
                    messages=[batch[i][0] for i in indexes],
                    source="hl7:mllp",
                    tz=self.tz,
                    now=self.clock.now(),
                )
                acks.update(zip(indexes, answer.acks, strict=True))
                accepted += answer.accepted
        self.applied += accepted
        return [acks[i] for i in range(len(batch))]

    def _refused(self, message: str, reason: str) -> str:
        reading = hl7v2.read_message(message)
        problem = hl7v2.Problem("MSH", 1, 0, 1, hl7v2.APPLICATION_ERROR, reason)
        return hl7v2.ack(
            reading,
            code="AR",
            at=self.clock.now(),
            control_id=f"ACK{reading.control_id}",
            problems=[problem],
        )
