"""Log output: one JSON object per line (python-json-logger), or plain text for a terminal.

The access log and audit events are always JSON lines; everything else ``serve`` prints (its own
messages, warnings, gunicorn's) follows ``VAULT_BRIDGE_LOG_FORMAT``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import functools
import json
import logging
import logging.handlers
import os
import sys
from typing import IO, Any

from pythonjsonlogger.json import JsonFormatter

ACCESS_LOGGER = "vault_bridge.access"
SERVE_LOGGER = "vault_bridge.serve"
_compact = functools.partial(json.dumps, separators=(",", ":"))
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode  # made once
# What every LogRecord carries; anything else came as ``extra`` and becomes a field.
_RECORD_ATTRIBUTES = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime"}
)


_FIXED_FIELDS = frozenset({"time", "level", "logger", "message"})


class LineFormatter(JsonFormatter):
    """``{"time", "level", "logger", "message", ...}``; a dict logged as the message becomes the
    fields themselves (and there is no empty ``message``)."""

    def __init__(self) -> None:
        super().__init__(
            ["levelname", "name", "message"],
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
            json_serializer=_compact,
            json_ensure_ascii=False,
        )

    def format(self, record: logging.LogRecord) -> str:
        """A dict logged alone (the access log, once per request) is written directly, in the
        library's exact shape at a fraction of its cost; anything else goes through the library."""
        fields = record.msg
        if (
            type(fields) is dict
            and not record.exc_info
            and not record.exc_text
            and not record.stack_info
            and record.__dict__.keys() <= _RECORD_ATTRIBUTES
            and not fields.keys() & _FIXED_FIELDS
        ):
            moment = dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat()
            head = {"time": moment, "level": record.levelname, "logger": record.name}
            try:
                return _encode({**head, **fields})
            except (TypeError, ValueError):  # a value JSON cannot hold: the library's encoder
                pass
        return super().format(record)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        """Time first; no empty message."""
        if log_data.get("message") == "":
            del log_data["message"]
        return {"time": log_data.pop("time"), **log_data}


class EventFormatter(JsonFormatter):
    """Exactly the dict that was logged, one compact JSON object (audit events)."""

    def __init__(self) -> None:
        super().__init__([], json_serializer=_compact, json_ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """For a terminal: serve's own messages as they are, anything else with level and origin."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The message alone for serve's own INFO lines."""
        if record.name == SERVE_LOGGER and record.levelno == logging.INFO:
            return record.getMessage()
        return super().format(record)


class StrictHandler(logging.Handler):
    """A handler whose failures reach the caller (an audit event that cannot be written must
    fail the action), where logging's own handlers print a traceback and carry on."""

    def handleError(self, record: logging.LogRecord) -> None:
        """Raise the error being handled."""
        raise  # the exception emit() is handling


class AppendFileHandler(StrictHandler, logging.handlers.WatchedFileHandler):
    """Appends each line with a single write(2) on an O_APPEND descriptor, unbuffered: lines of
    several processes (gunicorn workers) never interleave, and a failed write (a full disk)
    raises at once instead of waiting in a buffer. The file is opened once and reopened when it
    was moved or deleted (log rotation)."""

    def __init__(self, path: str) -> None:
        super().__init__(path, mode="ab", delay=True)

    def _open(self) -> Any:
        return open(self.baseFilename, "ab", buffering=0)  # kept open; close() closes it

    def emit(self, record: logging.LogRecord) -> None:
        """Write one line; a short write (no space left) is an error."""
        try:
            line = (self.format(record) + "\n").encode("utf-8")
            self.reopenIfNeeded()
            if self.stream is None:
                self.stream = self._open()
                self._statstream()
            stream: Any = self.stream  # a binary file (see _open), whatever the base class says
            written = stream.write(line)
            if written != len(line):
                raise OSError(errno.ENOSPC, "No space left on device (short write)")
        except Exception:
            self.handleError(record)


class LineWriter(logging.Handler):
    """Writes each line to a file descriptor with write(2), unbuffered. The line is formatted
    before the lock is taken, and the lock is held for the write alone (logging's own handlers
    hold it while formatting too), so the threads of a worker do not queue behind each other's
    formatting (the access log, once per request). A failed write is reported as logging's own
    handlers report it."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd

    def handle(self, record: logging.LogRecord) -> bool:
        """Filter, then emit (which locks for the write alone)."""
        if not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        """Write one line."""
        try:
            line = memoryview((self.format(record) + "\n").encode("utf-8"))
            with self.lock or contextlib.nullcontext():  # a long line to a pipe takes writes
                while line:
                    line = line[os.write(self.fd, line) :]
        except Exception:
            self.handleError(record)


class StderrHandler(StrictHandler, logging.StreamHandler[IO[str]]):
    """Writes to whatever ``sys.stderr`` is at the time of the event."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> IO[str]:
        """The current standard error."""
        return sys.stderr

    @stream.setter
    def stream(self, value: IO[str]) -> None:
        """Fixed to sys.stderr."""


def stream_handler(stream: IO[str], formatter: logging.Formatter) -> logging.Handler:
    """A handler writing lines to ``stream``."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    return handler


def configure(log_format: str, access_log: str) -> logging.Logger:
    """Logging for ``serve``: the root logger on stderr in ``log_format`` (``json`` or ``text``);
    the access log as JSON lines on stdout (``-``), appended to a file (reopened after
    rotation), or nowhere (empty). Returns serve's own logger."""
    # No format here prints the thread or process: not looked up for every record (the access
    # log writes one per request)
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers = [
        stream_handler(sys.stderr, LineFormatter() if log_format == "json" else TextFormatter())
    ]
    root.setLevel(logging.INFO)
    access = logging.getLogger(ACCESS_LOGGER)
    handler: logging.Handler
    if access_log == "-":
        sys.stdout.flush()  # what was printed before goes first
        handler = LineWriter(sys.stdout.fileno())
    elif access_log:
        handler = logging.handlers.WatchedFileHandler(access_log, encoding="utf-8", delay=True)
    else:
        handler = logging.NullHandler()
    handler.setFormatter(LineFormatter())
    access.handlers = [handler]
    access.propagate = False
    return logging.getLogger(SERVE_LOGGER)


def release_broken_streams() -> None:
    """Point stdout and stderr at /dev/null when their reader is gone (``| tee`` and Ctrl-C):
    what they still hold would otherwise fail again at exit, with a traceback and status 120."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)
