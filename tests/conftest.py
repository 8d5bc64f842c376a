"""What every test process shares: botocore's parsed service models, moto's KMS key pairs and URL tables, and
AWS calls (and pytest's assertion rewriting) that coverage does not trace.

moto's ``mock_aws()`` drops boto3's default session each time it starts, and every new botocore session
parses the service models again (about 20 ms per model, seconds per fault-injection test). The models are
read-only data, and one botocore session already hands the same parsed dicts to all of its clients, so
sharing the loader across sessions changes no answer.

moto 5.2.5 generates a 2048-bit RSA key pair for every KMS key it creates, whatever its spec (symmetric and
HMAC keys included): about 60 ms each, a tenth of the functions tests' time. No test signs with an asymmetric
key, so one pair per key spec serves every key.

Under coverage (Python 3.11's ``sys.settrace``, which coverage's C tracer uses) every Python frame runs
through the tracer, measured or not. An AWS call is botocore building, signing and parsing the request and,
in tests, moto emulating the service: hundreds of frames of third-party code, none of it measured, and none
of our measured code runs inside it (no first-party module registers a botocore event handler or credential
provider; a test's own handlers are not measured). So coverage's tracer is stopped for the length of one call
and of one client's creation, and started again on the way out. Measured: the operations tests took 123 s of
CPU with coverage and 54 s without tracing those calls, and recorded the same arcs, line for line, in every
file. Should measured code ever run inside such a call, its lines would be reported missed (the gate fails
low, never passes high).
"""

from __future__ import annotations

import functools
import importlib
import sys
import threading
import types
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import _pytest.assertion.rewrite
import botocore.client
import botocore.session
import moto.core.base_backend
import moto.core.models
import moto.kms.models
import moto.kms.utils
import moto.settings
from botocore.loaders import Loader, create_loader


@functools.cache
def _shared_loader(search_path_string: str | None = None) -> Loader:
    return create_loader(search_path_string)


botocore.session.create_loader = _shared_loader


moto.kms.models.generate_private_key = functools.cache(moto.kms.utils.generate_private_key)  # type: ignore[attr-defined]


P = ParamSpec("P")
R = TypeVar("R")


_STOPPED = threading.local()


def _stopped_tracers() -> list[Any]:
    """This thread's coverage tracers that ``untraced`` stopped, innermost last."""
    stack: list[Any] | None = getattr(_STOPPED, "tracers", None)
    if stack is None:
        stack = _STOPPED.tracers = []
    return stack


def untraced(function: Callable[P, R]) -> Callable[P, R]:
    """``function`` with coverage's C tracer stopped while it runs (any other trace function is left alone)."""

    @functools.wraps(function)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        tracer: Any = sys.gettrace()
        if type(tracer).__name__ != "CTracer":
            return function(*args, **kwargs)
        tracer.stop()
        stopped = _stopped_tracers()
        stopped.append(tracer)
        try:
            return function(*args, **kwargs)
        finally:
            stopped.pop()
            tracer.start()

    return call


def traced(function: Callable[P, R]) -> Callable[P, R]:
    """``function`` traced again when it is called from inside ``untraced`` code on the same thread."""

    @functools.wraps(function)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        stopped = _stopped_tracers()
        if not stopped or sys.gettrace() is not None:
            return function(*args, **kwargs)
        tracer = stopped[-1]
        tracer.start()
        try:
            return function(*args, **kwargs)
        finally:
            tracer.stop()

    return call


botocore.client.BaseClient._make_api_call = untraced(botocore.client.BaseClient._make_api_call)  # pylint: disable=protected-access
botocore.session.Session.create_client = untraced(botocore.session.Session.create_client)
# Starting and stopping a mock (every test that uses moto does both) registers ~1,300 URL patterns and resets
# every backend: moto's code only.
moto.core.models.MockAWS.start = untraced(moto.core.models.MockAWS.start)  # type: ignore[method-assign]
moto.core.models.MockAWS.stop = untraced(moto.core.models.MockAWS.stop)  # type: ignore[method-assign]

# moto 5.2.5 rebuilds a backend's table of URL patterns (every path of its urls module formatted for every URL
# base and DNS suffix) on each request it serves (moto/core/botocore_stubber.py: "TODO: cache this part"): seconds
# per run. The table depends only on the backend's class (its urls module's url_bases and url_paths, whose handlers
# are not bound to a backend) and on whether ISO regions are enabled.
_backend_urls = moto.core.base_backend.BaseBackend.urls.fget  # type: ignore[attr-defined]
_URL_TABLES: dict[tuple[type, bool], Any] = {}


def _urls_of(backend: moto.core.base_backend.BaseBackend) -> Any:
    key = (type(backend), moto.settings.enable_iso_regions())
    if key not in _URL_TABLES:
        _URL_TABLES[key] = _backend_urls(backend)
    return _URL_TABLES[key]


moto.core.base_backend.BaseBackend.urls = property(_urls_of)  # type: ignore[method-assign,assignment]

_import_module = importlib.import_module


def _import_module_untraced(name: str, package: str | None = None) -> types.ModuleType:
    # policy.resources.takes_tags and drctl.harness import pulumi-aws's service modules by name (tens of
    # thousands of generated lines each, seconds under the tracer when a worker's plans all come from the cache).
    if name.startswith("pulumi_aws."):
        return untraced(_import_module)(name, package)
    return _import_module(name, package)


importlib.import_module = _import_module_untraced

# pytest rewrites every test module's asserts on import (the AST of tens of thousands of lines, in each worker, and
# never cached while PYTHONDONTWRITEBYTECODE is set): pytest's code only, which runs no module it rewrites.
_pytest.assertion.rewrite._rewrite_test = untraced(_pytest.assertion.rewrite._rewrite_test)  # pylint: disable=protected-access
