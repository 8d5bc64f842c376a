"""A moto server in a child process, on a free loopback port, for the live tests' moto mode.

Why a child process and not moto in this one: moto keeps its state in module-level backends, and every
``mock_aws()`` of the other test suites resets all of them when it starts; a server in another process
cannot be wiped by them, and clients reach it only through an explicit ``endpoint_url``, so nothing leaks
either way. The child reads its standard input until end of file and then stops: when the test session
ends (or dies) the pipe closes and the server goes with it, so no process outlives the tests.

Run as a script (``python moto_server.py``) it is that child: it prints the port it listens on, then waits.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

# moto's EC2 backend loads its default AMI catalogue when it starts (seconds): no test reads an AMI.
_CHILD_ENV = {"MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}
# The services the moto world creates resources in. moto imports a service's code on its first request
# (EC2's takes about two seconds); the child imports them while the test session plans the stack.
WARM_SERVICES = (
    "acm",
    "cloudtrail",
    "cloudwatch",
    "dynamodb",
    "ec2",
    "events",
    "fis",
    "iam",
    "kms",
    "lambda",
    "logs",
    "rds",
    "route53",
    "s3",
    "sns",
    "wafv2",
)
_START_TIMEOUT_SECONDS = 60.0


class MotoServerError(RuntimeError):
    """The server did not start; the message carries the end of its log."""


class MotoServer:
    """One moto server for this test session (each pytest-xdist worker has its own, on its own port).

    ``account_id`` is the account moto puts in every ARN: the plan's, so that names holding the account
    (bucket names) and ARNs agree as they do in one real account.
    """

    def __init__(self, account_id: str, log_path: Path) -> None:
        self.account_id = account_id
        self.log_path = log_path
        self.endpoint_url = ""
        self._process: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None

    def start(self) -> str:
        """Start the child and wait for its port; the endpoint URL (``http://127.0.0.1:<port>``).
        Raises ``MotoServerError`` if it does not report a port within a minute.
        """
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
            **_CHILD_ENV,
            "MOTO_ACCOUNT_ID": self.account_id,
        }
        self._log = self.log_path.open("w", encoding="utf-8")
        # It lives for the whole session (stop() ends it), so no with-block.
        self._process = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, str(Path(__file__).resolve())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            text=True,
        )
        assert self._process.stdout is not None
        started = time.monotonic()
        ready, _, _ = select.select([self._process.stdout], [], [], _START_TIMEOUT_SECONDS)
        line = self._process.stdout.readline().strip() if ready else ""
        if not line.isdigit():
            self.stop()
            raise MotoServerError(
                f"moto server did not start within {time.monotonic() - started:.0f} s: {self.log_tail()}"
            )
        self.endpoint_url = f"http://127.0.0.1:{line}"
        return self.endpoint_url

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the server's log (for error messages)."""
        try:
            return " | ".join(self.log_path.read_text(encoding="utf-8").splitlines()[-lines:]) or "(empty log)"
        except OSError as error:
            return f"(log unreadable: {error})"

    def stop(self) -> None:
        """Close the child's input (it stops by itself); kill it if it has not gone within 10 s."""
        process, self._process = self._process, None
        if process is not None:
            if process.stdin is not None:
                process.stdin.close()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            if process.stdout is not None:
                process.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None


def main() -> None:
    """The child: serve on a free loopback port, print it, stop at end of input."""
    import logging  # noqa: PLC0415  # pylint: disable=import-outside-toplevel

    from moto.backends import get_backend  # noqa: PLC0415  # pylint: disable=import-outside-toplevel
    from moto.moto_server.threaded_moto_server import (  # noqa: PLC0415  # pylint: disable=import-outside-toplevel
        ThreadedMotoServer,
    )

    # One log line per request would drown the log that errors quote.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    print(port, flush=True)

    def warm() -> None:
        for service in WARM_SERVICES:
            get_backend(service)  # type: ignore[call-overload]  # typed by one overload per literal name

    threading.Thread(target=warm, daemon=True).start()
    sys.stdin.read()
    # Nothing to save: end at once rather than wait for the server's polling loop to notice a shutdown.
    os._exit(0)


if __name__ == "__main__":
    main()
