"""`xietong labs`: laboratory results as HL7 v2 ORU^R01, over MLLP or from a file."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from xietong.cli import context
from xietong.cli.context import err_console
from xietong.core.errors import DomainError
from xietong.core.principal import SYSTEM
from xietong.interop import hl7v2, mllp, service
from xietong.storage.engine import session_factory

GROUP_NAME = "labs"
app = typer.Typer(help="Laboratory results in HL7 v2 (ORU^R01).", no_args_is_help=True)


@app.command("listen")
def listen(
    port: Annotated[int, typer.Option(help="TCP port (2575 is MLLP's usual one; 0: any free).")],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    batch: Annotated[
        int, typer.Option(help="At most this many waiting messages applied together.")
    ] = 5_000,
    tls_cert: Annotated[
        Path | None, typer.Option(help="The listener's certificate (PEM), for mutual TLS.")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option(help="Its private key (PEM).")] = None,
    client_ca: Annotated[
        Path | None,
        typer.Option(
            help="CA (PEM) that signs the laboratories' client certificates; each connection "
            "acts as the user its certificate's common name names."
        ),
    ] = None,
) -> None:
    """Listen for ORU^R01 messages over MLLP; answer each with its ACK once it is stored.

    Without TLS it serves loopback only (an interface engine on this machine), as the system."""
    tls_files = (tls_cert, tls_key, client_ca)
    if any(tls_files) and not all(tls_files):
        context.fail(DomainError("--tls-cert, --tls-key and --client-ca go together"))
    tls = None
    if tls_cert and tls_key and client_ca:
        tls = mllp.mutual_tls(certificate=tls_cert, key=tls_key, client_ca=client_ca)
    elif host not in mllp.LOOPBACK:
        context.fail(
            DomainError(
                f"--host {host}: plain MLLP serves loopback only; give --tls-cert, --tls-key "
                "and --client-ca to take laboratories' connections on another interface",
                code="plain_mllp_off_loopback",
            )
        )

    async def run() -> None:
        listener = mllp.Listener(
            sessions=session_factory(context.engine()),
            principal=None if tls else SYSTEM,
            tz=context.settings().timezone,
            clock=context.clock(),
            batch_size=batch,
        )
        server = await listener.serve(host, port, tls=tls)
        bound = server.sockets[0].getsockname()[1]
        # One plain line: whoever started the listener reads the port from it.
        print(f"listening for MLLP{' over TLS' if tls else ''} on {host}:{bound}", flush=True)
        async with server:
            await server.serve_forever()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        err_console.print("stopped")


@app.command("hl7")
def load_file(
    path: Annotated[Path, typer.Argument(help="A file of ORU^R01 messages (a batch file too).")],
    acks: Annotated[
        Path | None, typer.Option(help="Write the ACKs here (default: standard output).")
    ] = None,
    batch: Annotated[int, typer.Option(help="Messages per transaction.")] = 50_000,
) -> None:
    """Apply a file of ORU^R01 messages; one ACK per message, as over MLLP."""
    out = acks.open("w", encoding="utf-8", newline="") if acks else sys.stdout
    counts = {"AA": 0, "AE": 0, "AR": 0}
    with path.open(encoding="utf-8", newline="") as stream:
        for messages in hl7v2.chunked(hl7v2.iter_messages(stream), batch):
            with context.work() as session:
                answer = service.receive_hl7(
                    session,
                    principal=SYSTEM,
                    messages=messages,
                    source=f"hl7:{path.name}"[:200],
                    tz=context.settings().timezone,
                    now=context.now(),
                )
            out.write("\n".join(a.replace("\r", "\n") for a in answer.acks))
            counts["AA"] += answer.accepted
            counts["AE"] += answer.errors
            counts["AR"] += answer.rejected
    if acks:
        out.close()
    err_console.print(
        f"{counts['AA']} accepted, {counts['AE']} with errors, {counts['AR']} rejected"
    )
    if counts["AE"] or counts["AR"]:
        raise typer.Exit(code=2)
