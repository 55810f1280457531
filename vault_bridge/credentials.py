"""AppRole credentials handed to a container or a job runner as two files in a folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from vault_bridge.vault.client import VaultClient
from vault_bridge.vault.sys import Sys

ROLE_ID_FILE = "role-id"
SECRET_ID_FILE = "secret-id"  # noqa: S105 - a file name, not a secret


def write_approle_credentials(client: VaultClient, mount: str, role: str, folder: Path) -> bool:
    """Write the role's ``role-id`` and a ``secret-id`` into ``folder`` (files of mode 0600).

    A ``secret-id`` file whose secret Vault still accepts is kept, so running this again (every
    ``docker compose up``) issues nothing new. Returns True when a new secret_id was issued.
    """
    sys_ = Sys(client)
    _replace(folder / ROLE_ID_FILE, sys_.approle_role_id(mount, role))
    current = folder / SECRET_ID_FILE
    if current.is_file() and sys_.approle_secret_id_known(mount, role, current.read_text()):
        return False
    _replace(current, sys_.approle_secret_id(mount, role))
    return True


def _replace(path: Path, text: str) -> None:
    """Write a private file whole or not at all (a reader never sees half a credential)."""
    if path.is_file() and path.read_text() == text:
        return
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
