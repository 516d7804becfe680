"""``dlkit ui``: MLflow's UI on the store dlkit writes to, stopped with the whole server."""

import os
import sys
from typing import Annotated, Optional

import typer
from rich.markup import escape

from dlkit.cli._console import console
from dlkit.cli._errors import report_errors


@report_errors
def ui(
    tracking_uri: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--tracking-uri",
            help="Defaults to MLFLOW_TRACKING_URI, then sqlite:///mlflow.db.",
            metavar="URI",
        ),
    ] = None,
    host: Annotated[
        str, typer.Option("--host", help="Address to serve on (0.0.0.0: every interface).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to serve on.")] = 5000,
    workers: Annotated[
        int, typer.Option("--workers", help="Server worker processes (one is plenty locally).")
    ] = 1,
) -> None:
    """Open the MLflow UI on the same store dlkit writes to.

    A tracking server (an http:// or https:// store) serves its own UI: its address is printed.
    Otherwise the server runs in its own process group; Ctrl-C and SIGTERM are passed to the whole
    group (the server and its workers), which is given a few seconds to stop, then killed, so that
    stopping ``dlkit ui`` never leaves a server behind. The exit code is then 128 + the signal.
    MLflow's server jobs (its job runner: six processes polling a queue) are off unless
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION says otherwise: viewing runs needs none.
    """
    from dlkit.tracking import resolve_tracking_uri

    uri = resolve_tracking_uri(tracking_uri)
    if uri.startswith(("http://", "https://")):
        console.print(escape(f"{uri} is an MLflow tracking server: its UI is at {uri}"))
        return
    shown = f"[{host}]" if ":" in host else host  # an IPv6 address in a URL
    console.print(escape(f"MLflow UI for {uri} on http://{shown}:{port} (Ctrl-C stops it)"))
    raise typer.Exit(
        _serve(
            [
                *(sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri),
                *("--host", host, "--port", str(port), "--workers", str(workers)),
            ]
        )
    )


class _Stopped(Exception):
    """The first SIGINT or SIGTERM received while a server runs (see :func:`_serve`)."""


def _server_env() -> dict[str, str]:
    """The server's environment: MLflow's job runner off unless asked for. By default MLflow starts
    one (a runner and five consumers, each importing MLflow, then polling); viewing dlkit's runs
    queues no job. SQL trace rollups need it, so they keep it."""
    env = dict(os.environ)
    if env.get("MLFLOW_SQL_TRACE_ROLLUPS_ENABLED", "").lower() not in ("true", "1"):
        env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    return env


def _serve(cmd: list[str], grace_s: float = 10.0) -> int:
    """Run a server in its own process group until it exits or this process gets SIGINT / SIGTERM.

    A signal is passed to the whole group; the server then has ``grace_s`` seconds to stop before
    the group is killed (a second signal is passed on too, and does not shorten the wait).

    Returns:
        The server's exit code, or 128 + the signal that stopped it.
    """
    import contextlib
    import signal
    import subprocess

    server = subprocess.Popen(cmd, start_new_session=True, env=_server_env())
    received: list[int] = []

    def forward(signum: int, frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signum)
        if not received:
            received.append(signum)
            raise _Stopped

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            server.wait()
        except _Stopped:
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(grace_s)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        # what is left of the group (the server past its grace, workers that outlive it) is killed
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        code = server.wait()
    return 128 + received[0] if received else code
