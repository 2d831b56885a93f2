"""Run the synthesized Lambda functions in this process, as Lambda would run them.

Each function keeps what its template says: handler, environment variables, timeout and
the asset folder its code was staged in. An invocation sets the function's environment,
imports its handler module from the asset (once), and calls it with a Lambda-like context.
An exception becomes a Lambda function error (``errorType`` = the exception's class name,
which is what Step Functions retries and catches on); running past the timeout becomes
``Sandbox.Timedout``. Invocations are serialized: the environment is process-wide.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import importlib
import io
import json
import os
import sys
import threading
import time
import traceback
import uuid
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .resolve import REGION

#: Environment every local invocation gets on top of the function's own variables.
LOCAL_ENVIRONMENT = {
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "POWERTOOLS_TRACE_DISABLED": "true",  # there is no X-Ray daemon here
}


class LocalInvocationError(RuntimeError):
    """An invocation named a function the local runtime does not know."""


@dataclass
class LocalFunction:
    name: str
    arn: str
    handler: str  # module.path.function
    environment: dict[str, str]
    timeout_seconds: int
    memory_mb: int
    asset: Path
    dead_letter_queue: str | None = None
    #: a Python callable standing in for a handler module (the runtime's own helpers)
    target: Any = None
    invocations: int = field(default=0, compare=False)


class _LogSink(io.TextIOBase):
    """Where handler output (Powertools JSON logs, EMF metrics) goes: a file, or nowhere.

    Handlers bind their log streams once, at import; they bind this proxy, and each runtime
    points it at its own log file.
    """

    target: TextIO | None = None

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self.target is not None:
            self.target.write(text)
        return len(text)

    def flush(self) -> None:
        if self.target is not None:
            self.target.flush()


LOG_SINK = _LogSink()


class _Context:
    """The attributes of ``LambdaContext`` that handlers and Powertools read."""

    def __init__(self, function: LocalFunction, deadline: float) -> None:
        self.function_name = function.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.arn
        self.memory_limit_in_mb = function.memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.name}"
        self.log_stream_name = "local"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class FunctionRegistry:
    """The functions of one local pipeline, invocable by name or ARN."""

    def __init__(self, *, time_scale: float = 1.0) -> None:
        self._functions: dict[str, LocalFunction] = {}
        self._lock = threading.RLock()
        self._env_keys: set[str] = set()
        self._saved_environment: dict[str, str | None] = {}
        #: Multiplies every timeout (tests shorten them; 1.0 is Lambda's behaviour).
        self.time_scale = time_scale
        #: Called before each invocation; may raise to inject a fault (reliability tests).
        self.fault_injector: Any = None
        self._activity = threading.Condition()
        self._running = 0  # invocations under way

    def add(self, function: LocalFunction) -> None:
        self._functions[function.name] = function
        self._functions[function.arn] = function
        self._env_keys.update(function.environment)

    def _apply_environment(self, function: LocalFunction) -> None:
        """Give the process ``function``'s environment, without ever removing a variable.

        Other threads (moto's executions, creating clients) iterate ``os.environ`` meanwhile
        (botocore's proxy lookup does); a key removed under them raises KeyError there. So a
        variable another function declares but this one does not is set empty, which the
        handlers read as unset (they default on empty); the original environment comes back
        with :meth:`restore_environment`.
        """
        values = dict.fromkeys(self._env_keys, "")
        values.update(function.environment)
        values["AWS_LAMBDA_FUNCTION_NAME"] = function.name
        for key in values:
            self._saved_environment.setdefault(key, os.environ.get(key))
        os.environ.update(values)

    def restore_environment(self) -> None:
        """Put back what the invocations changed (when no execution runs any more)."""
        for key, old in self._saved_environment.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
        self._saved_environment.clear()

    def get(self, name_or_arn: str) -> LocalFunction:
        base = name_or_arn.split(":function:", 1)[-1].split(":", 1)[0]
        function = self._functions.get(name_or_arn) or self._functions.get(base)
        if function is None:
            raise LocalInvocationError(f"no local function named {name_or_arn!r}")
        return function

    def __iter__(self) -> Iterator[LocalFunction]:
        return iter({id(f): f for f in self._functions.values()}.values())

    @contextlib.contextmanager
    def handler_path(self, function: LocalFunction) -> Iterator[None]:
        """Import from ``function``'s asset (its modules, e.g. ``etl_handlers.core.keys``)."""
        with self._lock:
            _on_path(function.asset)
            yield

    def invoke_raw(
        self, name_or_arn: str, payload: bytes, invocation_type: str
    ) -> tuple[bytes, str | None]:
        """The Lambda Invoke API: payload bytes in, (payload bytes, FunctionError) out."""
        function = self.get(name_or_arn)
        event = json.loads(payload or b"{}")
        try:
            result = self.invoke(function, event)
        except FunctionFailed as failed:
            return json.dumps(failed.payload).encode(), "Unhandled"
        if invocation_type == "Event":
            return b"", None
        return json.dumps(result, default=str).encode(), None

    def pause(self, seconds: float, *, busy: float) -> None:
        """Sleep ``seconds``; while an invocation is under way, until it ends (or ``busy``
        seconds pass): for pollers, whose reads would only take the CPU from it meanwhile.
        """
        with self._activity:
            if self._running:
                self._activity.wait(busy)
                return
        time.sleep(seconds)

    def invoke(self, function: LocalFunction, event: Any) -> Any:
        """Run one invocation; raise :class:`FunctionFailed` as Lambda reports an error."""
        with self._lock:
            with self._activity:
                self._running += 1
            try:
                return self._invoke(function, event)
            finally:
                give_back_freed_memory()
                with self._activity:
                    self._running -= 1
                    self._activity.notify_all()

    def _invoke(self, function: LocalFunction, event: Any) -> Any:
        self._apply_environment(function)
        function.invocations += 1
        timeout = function.timeout_seconds * self.time_scale
        context = _Context(function, time.monotonic() + timeout)
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                with contextlib.redirect_stdout(LOG_SINK), warnings.catch_warnings():
                    # e.g. Powertools' "no application metrics" note: log noise here
                    warnings.simplefilter("ignore")
                    if self.fault_injector is not None:
                        self.fault_injector(function, event)
                    handler = _load_handler(function)
                    outcome["result"] = handler(event, context)
            except BaseException as exc:
                outcome["error"] = exc

        worker = threading.Thread(target=run, name=f"lambda-{function.name}", daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            raise FunctionFailed(
                {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"Task timed out after {timeout:.2f} seconds",
                }
            )
        if "error" in outcome:
            exc = outcome["error"]
            raise FunctionFailed(
                {
                    "errorType": type(exc).__name__,
                    "errorMessage": str(exc),
                    "stackTrace": traceback.format_exception(exc)[-5:],
                }
            )
        return outcome.get("result")


def give_back_freed_memory() -> None:
    """Return the memory an invocation freed to the system before the next one runs.

    On Lambda each function is a process of its own; here they share one, and the memory
    allocators keep freed pages for reuse, so one step's peak stayed in the process while
    the next step made its own (``etl-pipeline run`` of 5M rows peaked ~50 MB higher).
    Arrow's pool (when pyarrow is loaded) and glibc's heap give theirs back; elsewhere
    (no glibc) this does nothing."""
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None:
        pyarrow.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Any:
    """glibc's ``malloc_trim``, or None where the C library has none (macOS, musl)."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


class FunctionFailed(Exception):
    """A local invocation ended in a function error; ``payload`` is what Lambda returns."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(payload.get("errorMessage", ""))
        self.payload = payload


def _load_handler(function: LocalFunction) -> Any:
    if function.target is not None:
        return function.target
    module_name, _, attribute = function.handler.rpartition(".")
    return getattr(handler_module(function, module_name), attribute)


def handler_module(function: LocalFunction, name: str) -> Any:
    """The module ``name`` of ``function``'s handler package, imported from its asset as its
    handler is (so the runtime asks the deployed code, not a copy of its rules)."""
    _on_path(function.asset)
    return importlib.import_module(name)


def _on_path(asset: Path) -> None:
    """Make the function's asset importable, as /var/task is on Lambda."""
    if str(asset) not in sys.path:
        sys.path.insert(0, str(asset))


def local_environment() -> contextlib.AbstractContextManager[None]:
    """The environment every function sees, for as long as a local pipeline runs."""
    return _environment(LOCAL_ENVIRONMENT)


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
