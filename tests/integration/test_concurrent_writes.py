"""Writers on several replicas, and writers that die: no lost update, metadata that matches the
data, and nothing a dead writer leaves behind holds up the next one."""

from __future__ import annotations

import secrets
import string
import threading
import time

from vault_bridge.providers.store import describe_version
from vault_bridge.vault.locks import Lease
from vault_bridge.vault.names import lease_path, org_members_lease


def api_key() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))


def test_a_provider_writer_that_died_mid_write_holds_up_nobody(admin, user) -> None:
    store = admin.providers
    path = f"users/{user.id}/provider-access-tokens/ionq"
    store.put("users", user.id, "ionq", {"api_key": api_key()}, user.id)
    # What a writer killed mid-write leaves: its new version written, not yet described, and
    # (as writers used to) a lease on the token taken and never released.
    stranded = api_key()
    store.kv.write(f"locks/providers/users/{user.id}/ionq", {"holder": "dead", "until": 4e9})
    store.kv.write(path, {"api_key": stranded}, cas=1)

    described = store.get("users", user.id, "ionq")  # the data as it is, not the old hints
    assert described["version"] == 2
    assert described["fields"]["api_key"]["hint"] == "…" + stranded[-4:]

    started = time.monotonic()
    value = api_key()
    meta, created = store.put("users", user.id, "ionq", {"api_key": value}, user.id)
    assert time.monotonic() - started < 1.0 and not created
    assert meta["version"] == 3 and meta["fields"]["api_key"]["hint"] == "…" + value[-4:]
    custom = store.kv.read_metadata(path)["custom_metadata"]
    assert custom["data_version"] == "3" and custom["updated_by"] == user.id


def test_a_description_overwritten_by_an_older_writer_is_rebuilt(admin, user) -> None:
    store = admin.providers
    provider = store.catalog.get("ionq")
    path = f"users/{user.id}/provider-access-tokens/ionq"
    older, newer = api_key(), api_key()
    version, _ = store._write(path, {"api_key": older})  # writer A: its data, then it stalls
    store.put("users", user.id, "ionq", {"api_key": newer}, "writer-b")  # B: all of it
    # A's description lands after B's (the race no check before a write can close) ...
    meta = store.kv.read_metadata(path)
    owner = f"users/{user.id}"
    store.kv.patch_metadata(
        path, describe_version(provider, owner, version, {"api_key": older}, "writer-a", meta)
    )
    assert store.kv.read_metadata(path)["custom_metadata"]["hint_api_key"] == "…" + older[-4:]
    # ... and A, checking after its write, puts B's description back from the data
    store._publish(path, provider, owner, version, {"api_key": older}, "writer-a")
    custom = store.kv.read_metadata(path)["custom_metadata"]
    assert custom["data_version"] == "2" and custom["updated_by"] == "writer-b"
    assert custom["hint_api_key"] == "…" + newer[-4:]
    assert [key for key in custom if key.startswith("updated_by_v")] == ["updated_by_v2"]


def test_writers_on_three_replicas_lose_nothing_and_metadata_matches(make_app, user) -> None:
    replicas = [make_app().extensions["vault_bridge"].providers for _ in range(3)]
    writes = {api_key(): f"writer-{i}" for i in range(12)}
    errors: list[Exception] = []

    def write(i: int, value: str, actor: str) -> None:
        try:
            replicas[i % 3].put("users", user.id, "ionq", {"api_key": value}, actor)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=write, args=(i, value, actor))
        for i, (value, actor) in enumerate(writes.items())
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    store = replicas[0]
    path = f"users/{user.id}/provider-access-tokens/ionq"
    meta = store.kv.read_metadata(path)
    assert meta["current_version"] == len(writes)  # every write is a version of its own
    stored = store.read_credential("users", user.id, "ionq")["api_key"]
    custom = meta["custom_metadata"]
    assert custom["data_version"] == str(len(writes))
    assert custom["hint_api_key"] == "…" + stored[-4:]
    assert custom["updated_by"] == writes[stored]  # who wrote what is stored


def test_a_membership_change_is_not_held_up_by_a_dead_holder(admin, make_user) -> None:
    owner, member = make_user(), make_user()
    org = f"o-{secrets.token_hex(5)}"
    admin.orgs.create(org, "Dead holder", admin.directory.get_user(owner.id), actor=owner.id)
    # a replica killed while changing the members: its lease, never released (any clock)
    kv = admin.providers.kv
    kv.write(lease_path(org_members_lease(org)), {"holder": "dead", "until": 4e9})
    started = time.monotonic()
    admin.orgs.set_member(org, member.id, "viewer", actor=owner.id)
    assert time.monotonic() - started < Lease(kv, "any").ttl + 1.0
    assert admin.directory.get_user(member.id).memberships == {org: "viewer"}


def test_a_live_holder_keeps_its_lease_past_the_ttl(admin) -> None:
    kv = admin.providers.kv
    name = f"test/{secrets.token_hex(6)}"
    times: dict[str, float] = {}
    entered = threading.Event()

    def slow_holder() -> None:
        with Lease(kv, name, ttl=0.3, wait=5).hold():
            times["first in"] = time.monotonic()
            entered.set()
            time.sleep(1.5)  # five times the ttl: it renews meanwhile
            times["first out"] = time.monotonic()

    thread = threading.Thread(target=slow_holder)
    thread.start()
    assert entered.wait(5)
    with Lease(kv, name, ttl=0.3, wait=5).hold():
        times["second in"] = time.monotonic()
    thread.join()
    assert times["second in"] >= times["first out"]
    kv.destroy(lease_path(name))
