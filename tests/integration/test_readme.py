"""The README's curl tour, run literally and in order against `vault-bridge serve` (the embedded
OpenBao, as `make run` starts it): a step that fails fails the test."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.integration.test_embedded import Served, serve_env  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
ADMIN_PASSWORD = "readme-admin-password"
pytestmark = pytest.mark.slow


def tour_blocks(text: str, tour: str) -> list[str]:
    """The shell blocks marked ``<!-- tour: NAME -->`` (the line before the fence), in order."""
    pattern = rf"<!-- tour: {tour} -->\n```sh\n(.*?)```"
    return re.findall(pattern, text, flags=re.DOTALL)


def test_the_readme_marks_its_tour_blocks() -> None:
    blocks = tour_blocks(README.read_text(), "curl")
    assert len(blocks) >= 2
    assert blocks[0].startswith("B=http://127.0.0.1:8080\nADMIN_PASSWORD='")


# Fail on an HTTP error status like a careful user would notice one, still showing the body.
STRICT_CURL = 'curl() { command curl --fail-with-body "$@"; }\n'


def run_tour(script: str, base: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """Run the tour in bash, stopping at the first step that fails; only B and the admin
    password are set to this server's."""
    script = script.replace("B=http://127.0.0.1:8080\n", f"B={base}\n", 1)
    script = re.sub(
        r"^ADMIN_PASSWORD='.*'$", f"ADMIN_PASSWORD='{ADMIN_PASSWORD}'", script, count=1, flags=re.M
    )
    return subprocess.run(
        ["/bin/bash", "-euo", "pipefail", "-c", STRICT_CURL + script],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_the_curl_tour_runs_as_written(serve_env, tmp_path) -> None:  # noqa: F811
    env = {**serve_env, "VAULT_BRIDGE_ADMIN_PASSWORD": ADMIN_PASSWORD}
    served = Served(env, tmp_path / "serve.log")
    workdir = tmp_path / "clone"
    workdir.mkdir()
    (workdir / ".venv").symlink_to(ROOT / ".venv")  # the tour runs `.venv/bin/vault-bridge`
    try:
        result = run_tour(
            "".join(tour_blocks(README.read_text(), "curl")), served.base, env, workdir
        )
    finally:
        served.interrupt()
    shown = result.stdout + result.stderr
    assert result.returncode == 0, shown
    # the refusals the tour predicts, and nothing else refused
    assert '"code":"token_revoked"' in shown.replace(" ", "")
    assert '"code":"token_restricted"' in shown.replace(" ", "")
    assert shown.replace(" ", "").count('"error":') == 2, shown


def test_a_failing_step_fails_the_tour(serve_env, tmp_path) -> None:  # noqa: F811
    # a tour that reuses a revoked token, as the README once did, must not pass
    script = (
        "B=http://127.0.0.1:8080\nADMIN_PASSWORD='x'\n"
        'curl -s -H "X-Auth-Token: nonsense" $B/api/v1/user\necho reached\n'
    )
    port = serve_env["VAULT_BRIDGE_PORT"]
    result = run_tour(script, f"http://127.0.0.1:{port}", os.environ.copy(), tmp_path)
    assert result.returncode != 0 and "reached" not in result.stdout
