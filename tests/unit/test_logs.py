"""Log lines: JSON objects from the maintained formatter; the audit file kept open across events."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading

from pythonjsonlogger.json import JsonFormatter

from vault_bridge.audit import AuditLog
from vault_bridge.logs import LineFormatter, LineWriter, TextFormatter


def record(msg: object, name: str = "x", level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, None, None)


def test_a_line_is_one_json_object_whatever_the_message_holds() -> None:
    line = LineFormatter().format(record('two\nlines and "quotes"'))
    assert "\n" not in line
    entry = json.loads(line)
    assert list(entry)[:3] == ["time", "level", "logger"]
    assert entry["message"] == 'two\nlines and "quotes"' and entry["level"] == "INFO"


def test_a_dict_message_becomes_the_fields() -> None:
    entry = json.loads(LineFormatter().format(record({"route": "/x", "status": 200})))
    assert entry["route"] == "/x" and entry["status"] == 200 and "message" not in entry


def test_the_fast_dict_line_is_the_librarys_line_exactly() -> None:
    formatter = LineFormatter()
    cases = [
        {"route": "/x", "path": '/ü/"q"\n', "status": 200, "ms": 1.25, "user": None},
        {"when": dt.datetime(2026, 1, 2, tzinfo=dt.UTC), "n": 1},  # not JSON: library encoder
        {"message": "a field named like a fixed one", "status": 500},
    ]
    for fields in cases:
        plain = record(fields)
        assert formatter.format(plain) == JsonFormatter.format(formatter, plain)
    extra = record({"route": "/x"})
    extra.tenant = "t1"  # an ``extra`` field: the library's path, which keeps it
    assert json.loads(formatter.format(extra))["tenant"] == "t1"


def test_lines_written_from_many_threads_never_mix() -> None:
    read, write = os.pipe()
    handler = LineWriter(write)
    handler.setFormatter(LineFormatter())
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.extend(iter(lambda: os.read(read, 65536), b"")))
    reader.start()
    sizes = (10, 3000, 9000)  # the longest is over PIPE_BUF: a pipe takes it in parts

    def log(n: int) -> None:
        for size in sizes * 20:
            handler.handle(record({"thread": n, "pad": "x" * size}))

    threads = [threading.Thread(target=log, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    os.close(write)
    reader.join()
    lines = b"".join(got).decode().splitlines()
    assert len(lines) == 8 * 60
    assert sorted(len(json.loads(line)["pad"]) for line in lines) == sorted(sizes * 160)


def test_text_for_a_terminal() -> None:
    text = TextFormatter()
    assert text.format(record("serving", name="vault_bridge.serve")) == "serving"
    assert text.format(record("slow", level=logging.WARNING)) == "WARNING x: slow"


def test_the_audit_file_stays_open_and_follows_rotation(tmp_path) -> None:
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(str(path))
    handler = audit._logger.handlers[0]
    audit.record("one", actor="a")
    stream = handler.stream
    audit.record("two", actor="a")
    assert handler.stream is stream  # not reopened per event
    path.rename(tmp_path / "audit.jsonl.1")
    audit.record("three", actor="a")
    audit.close()
    rotated = (tmp_path / "audit.jsonl.1").read_text().splitlines()
    assert [json.loads(line)["event"] for line in rotated] == ["one", "two"]
    assert [json.loads(line)["event"] for line in path.read_text().splitlines()] == ["three"]
