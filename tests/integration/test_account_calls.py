"""What an account costs in Vault: creating one, and the requests that follow a sign-in.

Counted in the test server's own audit log, so every request any part of the service sends is
seen, whichever thread sent it.
"""

from __future__ import annotations

from tests.conftest import PASSWORD
from tests.helpers import Account, Api, AuditTail, unique_id
from vault_bridge.directory.users import Directory


def test_creating_an_account_writes_it_without_reading_back(admin, bao) -> None:
    directory = Directory(admin.client, admin.settings)
    directory.create_user(unique_id(), PASSWORD)  # the first may look up the userpass mount
    user_id = unique_id()
    tail = AuditTail(bao.audit_log)
    directory.create_user(user_id, PASSWORD)
    sent = [
        (operation, path)
        for operation, path in tail.requests()
        if user_id in path or path.startswith(("identity/", "sys/auth"))
    ]
    assert [path for _, path in sent] == [
        f"auth/userpass/users/{user_id}",  # does it exist?
        f"identity/entity/name/{user_id}",  # the entity, whose id Vault answers with
        "identity/entity-alias",  # the login name tied to it
        f"auth/userpass/users/{user_id}",  # the login
    ]
    assert directory.authenticate(user_id, PASSWORD).id == user_id
    entity = directory.identity.read_entity(user_id) or {}
    assert [alias["name"] for alias in entity["aliases"]] == [user_id]


def test_an_account_whose_entity_exists_gets_its_alias_once(admin) -> None:
    directory = Directory(admin.client, admin.settings)
    user_id = unique_id()
    directory.identity.write_entity(user_id, {"vault_bridge": "user"})  # left by an earlier try
    directory.create_user(user_id, PASSWORD)
    directory.userpass.delete_user(user_id)
    directory.create_user(user_id, PASSWORD)  # the alias is there already: not made twice
    entity = directory.identity.read_entity(user_id) or {}
    assert [alias["name"] for alias in entity["aliases"]] == [user_id]
    assert directory.authenticate(user_id, PASSWORD).id == user_id


def test_the_requests_after_a_sign_in_do_not_read_the_account_again(
    make_app, user: Account, bao
) -> None:
    app = make_app(directory_cache_ttl=60)  # far longer than the test: nothing runs out
    api = Api(app.test_client())
    tail = AuditTail(bao.audit_log)
    api.login(user)
    for _ in range(3):
        assert api.client.get("/api/v1/user").get_json()["id"] == user.id
    reads = [
        path
        for operation, path in tail.requests()
        if operation == "read" and path.endswith(f"/{user.id}")
    ]
    # the sign-in reads the entity and the login once; the requests use that answer
    assert sorted(reads) == [f"auth/userpass/users/{user.id}", f"identity/entity/name/{user.id}"]
