"""Metrics, request logs and audit events."""

from __future__ import annotations

import json
import logging
import re

from tests.helpers import Account, Api, pat_headers
from vault_bridge.logs import ACCESS_LOGGER, LineFormatter


def metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_verifications_vault_and_denylist(api: Api, user: Account) -> None:
    api.login(user)
    token = api.new_pat()["token"]
    client = api.client.application.test_client()
    for _ in range(3):
        assert client.get("/api/v1/user", headers=pat_headers(token)).status_code == 200
    client.get("/api/v1/user", headers=pat_headers("not.a.token"))
    text = client.get("/metrics").get_data(as_text=True)
    assert "# TYPE vault_bridge_http_requests_total counter" in text
    assert metric(text, "vault_bridge_http_requests_total", route="/api/v1/user", status="200") == 3
    assert metric(text, "vault_bridge_http_requests_total", route="/api/v1/user", status="401") == 1
    assert metric(text, "vault_bridge_token_verifications_total", result="ok") == 3
    assert metric(text, "vault_bridge_token_verifications_total", result="invalid_token") == 1
    assert metric(text, "vault_bridge_vault_requests_total", outcome="ok") > 0
    assert (
        metric(text, "vault_bridge_http_request_duration_seconds_count", route="/api/v1/user") == 4
    )
    assert metric(text, "vault_bridge_vault_request_duration_seconds_bucket", le="+Inf") > 0
    assert re.search(r"^vault_bridge_denylist_entries \d+", text, re.M)
    assert 0 <= metric(text, "vault_bridge_denylist_age_seconds") < 5
    assert token not in text


def test_request_log_lines_have_a_request_id_and_no_token(api: Api, user: Account, caplog) -> None:
    caplog.set_level(logging.INFO, logger="vault_bridge.access")
    api.login(user)
    token = api.new_pat()["token"]
    client = api.client.application.test_client()
    response = client.get(
        "/api/v1/user?token=should-not-be-logged",
        headers={**pat_headers(token), "X-Request-Id": "req-12345"},
    )
    assert response.headers["X-Request-Id"] == "req-12345"
    formatter = LineFormatter()
    lines = [json.loads(formatter.format(r)) for r in caplog.records if r.name == ACCESS_LOGGER]
    entry = next(e for e in lines if e["request_id"] == "req-12345")
    assert entry["route"] == "/api/v1/user" and entry["status"] == 200 and entry["user"] == user.id
    assert entry["level"] == "INFO" and entry["logger"] == ACCESS_LOGGER and "message" not in entry
    everything = "\n".join(formatter.format(r) for r in caplog.records)
    assert token not in everything and "should-not-be-logged" not in everything
    odd = client.get("/healthz", headers={"X-Request-Id": "bad id with spaces; and more"})
    assert re.fullmatch(r"[0-9a-f]{32}", odd.headers["X-Request-Id"])


def test_audit_events_for_login_pat_use_and_revocation(make_app, user: Account, tmp_path) -> None:
    path = tmp_path / "audit.jsonl"
    app = make_app(audit_log=str(path))
    api = Api(app.test_client())
    bad = app.test_client().post(
        "/api/v1/session", json={"username": user.id, "password": "nope-nope"}
    )
    assert bad.status_code == 401
    api.login(user)
    created = api.new_pat()
    client = app.test_client()
    for _ in range(3):
        client.get("/api/v1/user", headers=pat_headers(created["token"]))
    client.get(
        "/api/v1/user",
        headers=pat_headers(created["token"]),
        environ_base={"REMOTE_ADDR": "127.0.0.9"},
    )
    api.client.delete(
        f"/api/v1/user/personal-access-tokens/{created['id']}", headers={"X-CSRF-Token": api.csrf}
    )
    events = [json.loads(line) for line in path.read_text().splitlines()]
    summary = [(e["event"], e["outcome"]) for e in events]
    assert summary == [
        ("login", "failure"),
        ("login", "success"),
        ("pat.create", "success"),
        ("pat.use", "success"),
        ("pat.use", "success"),
        ("pat.revoke", "success"),
    ]
    uses = [e for e in events if e["event"] == "pat.use"]
    assert [e["source_ip"] for e in uses] == ["127.0.0.1", "127.0.0.9"]
    assert all(e["request_id"] for e in events[1:])
    assert created["token"] not in path.read_text()


def test_an_audit_log_that_cannot_be_written_is_a_503_and_the_retry_audits_again(
    make_app, user: Account, tmp_path
) -> None:
    """A full disk: the request says so (never a 500), and the first use of a PAT from an
    address is only counted as audited once its event is written."""
    written = tmp_path / "audit.jsonl"
    link = tmp_path / "audit-link.jsonl"  # the file the service appends to; we swap its target
    link.symlink_to(written)
    app = make_app(audit_log=str(link))
    api = Api(app.test_client())
    api.login(user)
    token = api.new_pat()["token"]
    client = app.test_client()

    link.unlink()
    link.symlink_to("/dev/full")  # every write: ENOSPC, no space left on device
    refused = client.get("/api/v1/user", headers=pat_headers(token))
    assert refused.status_code == 503
    error = refused.get_json()["error"]
    assert error["code"] == "audit_unavailable" and "no space left on device" in error["message"]
    assert token not in refused.get_data(as_text=True)

    link.unlink()
    link.symlink_to(written)  # space again: the handler notices the new file and reopens
    assert client.get("/api/v1/user", headers=pat_headers(token)).status_code == 200
    assert client.get("/api/v1/user", headers=pat_headers(token)).status_code == 200
    events = [json.loads(line)["event"] for line in written.read_text().splitlines()]
    assert events == ["login", "pat.create", "pat.use"]  # the use audited once, after the retry
