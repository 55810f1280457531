"""Log lines: JSON objects from the maintained formatter; the audit file kept open across events."""

from __future__ import annotations

import json
import logging

from vault_bridge.audit import AuditLog
from vault_bridge.logs import LineFormatter, TextFormatter


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
