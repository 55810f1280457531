"""The Dockerfile, docker-compose.yml and the Makefile name the same pinned public images."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = (ROOT / "docker-compose.yml").read_text()
MAKEFILE = (ROOT / "Makefile").read_text()


def defaults(pattern: str, text: str) -> set[str]:
    return set(re.findall(pattern, text, flags=re.MULTILINE))


def test_the_python_base_is_one_pinned_patch_release() -> None:
    found = (
        defaults(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE)
        | defaults(r"\$\{PYTHON_IMAGE:-([^}]+)\}", COMPOSE)
        | defaults(r"^PYTHON_IMAGE \?= (\S+)$", MAKEFILE)
    )
    assert len(found) == 1, found
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", found.pop())


def test_the_openbao_image_is_one_pinned_release() -> None:
    found = defaults(r"\$\{OPENBAO_IMAGE:-([^}]+)\}", COMPOSE) | defaults(
        r"^OPENBAO_IMAGE \?= (\S+)$", MAKEFILE
    )
    assert len(found) == 1, found
    assert re.fullmatch(r"openbao/openbao:\d+\.\d+\.\d+(@sha256:[0-9a-f]{64})?", found.pop())


def test_the_compose_file_no_longer_claims_to_be_untested() -> None:
    header = COMPOSE.split("\nx-", 1)[0].lower()
    assert "not exercised" not in header and "untested" not in header
    assert "make test-containers" in header
