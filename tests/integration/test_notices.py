"""Security notices and their e-mails, through a real SMTP server (aiosmtpd on loopback) and the
real OpenBao: what is sent, to whom, exactly once across replicas, never with a token value."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.helpers import Api, eventually, free_port, jws
from vault_bridge.timeutil import iso
from vault_bridge.vault.kv import KV
from vault_bridge.vault.notices import NoticeStore

URL = "/api/v1/credentials/revoke"


@dataclass
class Inbox:
    """What the SMTP server received."""

    port: int
    messages: list[tuple[list[str], email.message.EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [message for rcpts, message in self.messages if address in rcpts]


def start_smtp(port: int) -> tuple[Controller, Inbox]:
    inbox = Inbox(port)
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, inbox


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    controller, inbox = start_smtp(free_port())
    yield inbox
    controller.stop()


def mail_settings(port: int) -> dict[str, Any]:
    return {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}


def body_of(message: email.message.EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return part.get_content()


def assert_no_value(message: email.message.EmailMessage, token: str) -> None:
    raw = message.as_string()
    assert token not in raw
    assert jws(token) not in raw
    assert jws(token).split(".")[2] not in raw  # not even the signature


def signed_in(app, make_user) -> tuple[Any, Api]:
    account = make_user(email=f"{time.monotonic_ns()}@example.org")
    api = Api(app.test_client())
    api.login(account)
    return account, api


def address_of(app, user_id: str) -> str:
    return app.extensions["vault_bridge"].directory.get_user(user_id).email


def age_token(app, user: str, token_id: str, expires_in: dt.timedelta) -> None:
    """Make a token look old and close to its expiry in its index record (as time would)."""
    now = dt.datetime.now(dt.UTC)

    def change(table):
        table[token_id]["created_at"] = iso(now - dt.timedelta(days=60))
        table[token_id]["expires_at"] = iso(now + expires_in)
        return None, True

    app.extensions["vault_bridge"].tokens.index.update(user, change)


def test_a_new_token_is_announced_by_mail_and_in_the_notices(make_app, make_user, smtp) -> None:
    app = make_app(**mail_settings(smtp.port))
    account, api = signed_in(app, make_user)
    created = api.new_pat(name="laptop cli")
    to = address_of(app, account.id)
    eventually(lambda: len(smtp.to(to)) == 1, timeout=5)
    (message,) = smtp.to(to)
    assert message["To"] == to
    assert message["Subject"] == 'A personal access token "laptop cli" was created'
    body = body_of(message)
    assert "laptop cli" in body and created["id"] in body and "revoke it now" in body
    assert_no_value(message, created["token"])

    assert app.extensions["vault_bridge"].tokens.notifier.drain()  # the outcome is noted
    notices = api.client.get("/api/v1/user/notices").get_json()
    assert [(n["kind"], n["token_id"], n["mail"]) for n in notices] == [
        ("created", created["id"], "sent")
    ]
    assert created["token"] not in str(notices)


def test_a_token_revoked_by_value_is_told_to_its_owner(make_app, make_user, smtp) -> None:
    app = make_app(**mail_settings(smtp.port))
    account, api = signed_in(app, make_user)
    created = api.new_pat(name="ci deploy")
    to = address_of(app, account.id)
    eventually(lambda: len(smtp.to(to)) == 1, timeout=5)
    app.test_client().post(URL, json={"tokens": [created["token"], "junk"]})
    eventually(lambda: len(smtp.to(to)) == 2, timeout=5)
    message = smtp.to(to)[1]
    assert "ci deploy" in message["Subject"] and "revoked" in message["Subject"]
    assert "public revocation API" in body_of(message)
    assert_no_value(message, created["token"])
    assert app.extensions["vault_bridge"].tokens.reports.drain()
    kinds = [n["kind"] for n in api.client.get("/api/v1/user/notices").get_json()]
    assert sorted(kinds) == ["created", "reported"]


def test_expiry_reminders_seven_days_and_one_day_before(make_app, make_user, smtp) -> None:
    app = make_app(**mail_settings(smtp.port))
    account, api = signed_in(app, make_user)
    created = api.new_pat(name="nightly")
    to = address_of(app, account.id)
    notifier = app.extensions["vault_bridge"].tokens.notifier
    assert notifier.drain()
    assert notifier.due_reminders(account.id) == []  # 30 days left: nothing due

    age_token(app, account.id, created["id"], dt.timedelta(days=5))
    notifier.scan(interval=0.01)
    notifier.scan(interval=0.01)  # again: already sent, nothing new
    reminders = smtp.to(to)[1:]
    assert [m["Subject"] for m in reminders] == [
        'Your personal access token "nightly" expires in 7 days'
    ]
    assert_no_value(reminders[0], created["token"])

    age_token(app, account.id, created["id"], dt.timedelta(hours=20))
    notifier.scan(interval=0.01)
    assert [m["Subject"] for m in smtp.to(to)[2:]] == [
        'Your personal access token "nightly" expires in 1 day'
    ]
    kinds = [n["kind"] for n in api.client.get("/api/v1/user/notices").get_json()]
    assert sorted(kinds) == ["created", "expires-1d", "expires-7d"]


def test_two_replicas_racing_send_each_message_once(make_app, make_user, smtp) -> None:
    replicas = [make_app(**mail_settings(smtp.port)) for _ in range(2)]
    account, api = signed_in(replicas[0], make_user)
    tokens = [api.new_pat(name=f"t{n}") for n in range(3)]
    to = address_of(replicas[0], account.id)
    eventually(lambda: len(smtp.to(to)) == 3, timeout=5)
    for token in tokens:
        age_token(replicas[0], account.id, token["id"], dt.timedelta(days=3))
    notifiers = [app.extensions["vault_bridge"].tokens.notifier for app in replicas]
    barrier = threading.Barrier(4)

    def race(notifier) -> None:
        barrier.wait()
        notifier.deliver(account.id, notifier.due_reminders(account.id))

    threads = [threading.Thread(target=race, args=(n,)) for n in notifiers * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    subjects = sorted(m["Subject"] for m in smtp.to(to)[3:])
    assert subjects == [f'Your personal access token "t{n}" expires in 7 days' for n in range(3)]


def test_one_replica_scans_per_interval(bao) -> None:
    path = f"tests/{uuid.uuid4().hex[:12]}/reminder-scan"
    stores = [NoticeStore(KV(bao.admin_client(), "vault-bridge"), path) for _ in range(4)]
    barrier = threading.Barrier(len(stores))
    claims: list[bool] = []

    def claim(store: NoticeStore) -> None:
        barrier.wait()
        claims.append(store.claim_scan(time.time(), 30.0))

    threads = [threading.Thread(target=claim, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claims) == [False, False, False, True]
    assert not stores[0].claim_scan(time.time() + 20, 30.0)  # still this interval
    assert stores[1].claim_scan(time.time() + 31, 30.0)  # the next one


def test_nothing_is_sent_and_nothing_fails_without_smtp(make_app, make_user, smtp) -> None:
    app = make_app()  # no VAULT_BRIDGE_SMTP_HOST: mail is off
    assert not app.extensions["vault_bridge"].tokens.notifier.mailer.enabled
    account, api = signed_in(app, make_user)
    created = api.new_pat()
    age_token(app, account.id, created["id"], dt.timedelta(days=2))
    notifier = app.extensions["vault_bridge"].tokens.notifier
    assert notifier.drain()
    assert notifier.scan(interval=0.01) == 0
    assert smtp.messages == []
    notices = api.client.get("/api/v1/user/notices").get_json()
    assert [(n["kind"], n["mail"]) for n in notices] == [("expires-7d", "off")]


def test_an_smtp_server_that_is_down_fails_nothing_and_reminders_are_retried(
    make_app, make_user, caplog
) -> None:
    port = free_port()
    app = make_app(**mail_settings(port))  # nothing listens there yet
    account, api = signed_in(app, make_user)
    started = time.monotonic()
    created = api.new_pat(name="offline")
    assert time.monotonic() - started < 2  # the request does not wait for SMTP
    notifier = app.extensions["vault_bridge"].tokens.notifier
    assert notifier.drain()
    age_token(app, account.id, created["id"], dt.timedelta(days=4))
    assert notifier.scan(interval=0.01) == 0
    states = {n["kind"]: n["mail"] for n in notifier.list(account.id)}
    assert states == {"created": "failed", "expires-7d": "failed"}
    assert "not sent: ConnectionRefusedError" in caplog.text
    assert created["token"] not in caplog.text

    controller, inbox = start_smtp(port)
    try:
        time.sleep(0.02)
        notifier.scan(interval=0.01)  # the reminder, on the next scan
        to = address_of(app, account.id)
        assert [m["Subject"] for m in inbox.to(to)] == [
            'Your personal access token "offline" expires in 7 days'
        ]
    finally:
        controller.stop()


def test_notices_need_authentication(client) -> None:
    response = client.get("/api/v1/user/notices")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthenticated"
