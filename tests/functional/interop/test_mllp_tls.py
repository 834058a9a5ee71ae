"""The MLLP listener over mutual TLS, as a real process spoken to by a real TLS client: a
laboratory's certificate names its user, whose deliveries its messages become; a certificate
naming no active user gets an AR for each message; a client without a certificate from the
laboratories' CA is not let in; and plain MLLP refuses to serve anything but loopback."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import ssl
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hl7.mllp import open_hl7_connection
from sqlalchemy import create_engine, text

from tests.functional.interop.test_mllp import (
    _msa,
    _stop,
    _stored,
    code,
    database,  # noqa: F401  (the fixture: a prepared database per backend)
    message,
)
from xietong.auth import service as auth_service
from xietong.auth.schemas import UserCreate
from xietong.core.principal import Role
from xietong.core.wallclock import SystemClock
from xietong.storage.engine import build_engine, normalise_url, session_factory
from xietong.storage.unit_of_work import unit_of_work

LAB_USER = "lab-tls-01"


class Authority:
    """A certificate authority of the test: it signs the listener's and clients' certificates."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.certificate = (
            self._builder(subject, self.key.public_key(), issuer=subject)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.path = self._write(name, self.certificate)

    @staticmethod
    def _builder(
        subject: x509.Name, public_key: ec.EllipticCurvePublicKey, *, issuer: x509.Name
    ) -> x509.CertificateBuilder:
        now = datetime.now(UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=1))
        )

    def _write(self, name: str, certificate: x509.Certificate) -> Path:
        path = self.folder / f"{name}.pem"
        path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return path

    def issue(self, common_name: str, *, server: bool = False) -> tuple[Path, Path]:
        """A certificate for `common_name` and its key, as PEM files."""
        key = ec.generate_private_key(ec.SECP256R1())
        builder = self._builder(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]),
            key.public_key(),
            issuer=self.certificate.subject,
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
        certificate = builder.sign(self.key, hashes.SHA256())
        key_path = self.folder / f"{common_name}.key"
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return self._write(common_name, certificate), key_path


def _lab_user(url: str) -> None:
    engine = build_engine(url)
    with unit_of_work(session_factory(engine), clock=SystemClock()) as session:
        auth_service.create_user(
            session,
            user_in=UserCreate(username=LAB_USER, role=Role.lab),
            district_id=None,
            now=datetime.now(UTC),
        )
    engine.dispose()


def _start_tls(url: str, laboratories: Authority) -> tuple[subprocess.Popen[str], int]:
    certificate, key = laboratories.issue("localhost", server=True)
    tls = ["--tls-cert", str(certificate), "--tls-key", str(key)]
    tls += ["--client-ca", str(laboratories.path)]
    process = subprocess.Popen(
        [sys.executable, "-m", "xietong", "labs", "listen", "--port", "0", *tls],
        env={**os.environ, "XIETONG_DATABASE_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # blocks until the listener is bound (or has died)
    if "listening for MLLP over TLS on" not in line:
        process.kill()
        pytest.fail(f"the listener did not start: {line!r}")
    return process, int(line.rsplit(":", 1)[1])


def _client(laboratories: Authority, identity: tuple[Path, Path] | None) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(laboratories.path))
    if identity is not None:
        context.load_cert_chain(certfile=str(identity[0]), keyfile=str(identity[1]))
    return context


def _send(port: int, context: ssl.SSLContext, outgoing: list[str]) -> list[str]:
    async def talk() -> list[str]:
        reader, writer = await open_hl7_connection(
            "127.0.0.1", port, ssl=context, server_hostname="localhost"
        )
        answers = []
        for each in outgoing:
            writer.writeblock(each.encode())
            await writer.drain()
            answers.append((await reader.readblock()).decode())
        writer.close()
        await writer.wait_closed()
        return answers

    return asyncio.run(talk())


def _senders(url: str) -> list[str]:
    engine = create_engine(normalise_url(url))
    with engine.connect() as connection:
        found = list(
            connection.execute(text("SELECT submitted_by FROM screening_result_batch")).scalars()
        )
    engine.dispose()
    return found


@pytest.mark.slow
def test_a_laboratorys_certificate_names_the_user_its_messages_are_stored_as(
    database: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    _lab_user(database)
    laboratories = Authority(tmp_path, "laboratories-ca")
    process, port = _start_tls(database, laboratories)
    try:
        known = _send(port, _client(laboratories, laboratories.issue(LAB_USER)), [message(0)])
        unknown = _send(port, _client(laboratories, laboratories.issue("lab-nobody")), [message(2)])
        # A certificate from another authority, or none, does not get through the handshake.
        stranger = Authority(tmp_path, "elsewhere-ca")
        for identity in (stranger.issue(LAB_USER), None):
            with pytest.raises((ssl.SSLError, ConnectionError, asyncio.IncompleteReadError)):
                _send(port, _client(laboratories, identity), [message(4)])
    finally:
        _stop(process)

    assert [_msa(a) for a in known] == ["MSA|AA|C00000"]
    assert _msa(unknown[0]) == "MSA|AR|C00002"
    assert "no active user 'lab-nobody'" in unknown[0]
    assert _stored(database) == {code(0)}
    assert _senders(database) == [LAB_USER]


def test_plain_mllp_refuses_an_interface_other_than_loopback_before_listening(
    tmp_path: Path,
) -> None:
    # No socket is opened: the refusal comes before the listener binds.
    finished = subprocess.run(
        [sys.executable, "-m", "xietong", "labs", "listen", "--port", "0", "--host", "192.0.2.1"],
        env={**os.environ, "XIETONG_DATABASE_URL": f"sqlite:///{tmp_path / 'none.sqlite'}"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert finished.returncode == 2
    assert "plain MLLP serves loopback only" in finished.stderr
