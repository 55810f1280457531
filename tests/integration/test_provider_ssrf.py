"""The bundled runner calls only allowed provider hosts: a credential naming any other address
(query, fragment, userinfo tricks, loopback) fails the job without a connection; redirects are
not followed; a provider's answer reaches the job's result only as parsed numbers."""

from __future__ import annotations

import json
import socket
import threading
import uuid

import pytest
from flask import Flask, jsonify, redirect

from tests.helpers import Api, LiveServer, eventually, pat_headers

JOB = {
    "backend_id": "azure.ionq.simulator",
    "shots": 10,
    "input": {"qubits": 2, "circuit": [{"gate": "h", "target": 0}]},
    "input_format": "IONQ_CIRCUIT_V1",
    "input_params": {},
}


class Listener:
    """A TCP port on loopback that counts the connections it gets (an internal service)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


def run_job(app, make_user, endpoint: str) -> dict:
    """Store an Azure Quantum credential naming ``endpoint``, run a job, return its end state."""
    api = Api(app.test_client())
    api.login(make_user("ssrf"))
    connection = (
        f"SubscriptionId={uuid.uuid4()};ResourceGroupName=rg;WorkspaceName=ws;"
        f"ApiKey={'k' * 32};QuantumEndpoint={endpoint};"
    )
    stored = api.client.put(
        "/api/v1/user/provider-access-tokens/azure-quantum",
        json={"connection_string": connection},
        headers={"X-CSRF-Token": api.csrf},
    )
    assert stored.status_code == 201, stored.get_json()
    token = api.new_pat(scopes=["api", "quantum_tokens"])["token"]
    client = app.test_client()
    submitted = client.post("/quantum/jobs", json=JOB, headers=pat_headers(token))
    assert submitted.status_code == 200, submitted.get_json()
    job_id = submitted.get_json()["id"]

    def finished() -> dict | None:
        job = client.get(f"/quantum/jobs/{job_id}", headers=pat_headers(token)).get_json()
        return job if job["status"] in ("COMPLETED", "FAILED") else None

    eventually(lambda: finished() is not None, timeout=20, interval=0.1)
    job = finished()
    assert job is not None
    job["result"] = client.get(
        f"/quantum/jobs/{job_id}/result", headers=pat_headers(token)
    ).get_json()
    return job


@pytest.mark.parametrize(
    "template",
    [
        "https://127.0.0.1:{port}/",
        "https://127.0.0.1:{port}/v1/sys/health?",
        "https://127.0.0.1:{port}/x#.quantum.azure.com",
        "https://westeurope.quantum.azure.com@127.0.0.1:{port}/",
        "https://localhost:{port}/",
    ],
)
def test_a_credential_cannot_point_the_runner_anywhere(
    make_app, make_user, listener, template: str
) -> None:
    app = make_app()  # no VAULT_BRIDGE_PROVIDER_URLS: the credential's endpoint is used
    job = run_job(app, make_user, template.format(port=listener.port))
    assert job["status"] == "FAILED"
    assert job["error_data"]["code"] == "provider_endpoint"
    assert job["result"]["code"] == "provider_endpoint"
    assert listener.connections == 0  # not even a connection


@pytest.fixture
def hostile_provider(listener):
    """An operator-configured provider that redirects, or answers with more than numbers."""
    app = Flask("hostile-provider")
    mode = {"answer": "redirect"}

    @app.post("/v0.3/jobs")
    def submit():  # type: ignore[no-untyped-def]
        if mode["answer"] == "redirect":
            return redirect(f"http://127.0.0.1:{listener.port}/internal", code=307)
        return jsonify({"id": "job-1"})

    @app.get("/v0.3/jobs/<job_id>/results")
    def results(job_id: str):  # type: ignore[no-untyped-def]
        if mode["answer"] == "redirect-result":
            return redirect(f"http://127.0.0.1:{listener.port}/internal", code=302)
        return jsonify({"0": 0.5, "internal": "secret data from behind the provider"})

    server = LiveServer(app)
    yield server, mode
    server.stop()


@pytest.mark.parametrize("answer", ["redirect", "redirect-result", "junk"])
def test_redirects_are_not_followed_and_bodies_not_relayed(
    make_app, make_user, listener, hostile_provider, answer: str
) -> None:
    server, mode = hostile_provider
    mode["answer"] = answer
    app = make_app(provider_urls=json.dumps({"azure-quantum": server.url}))
    job = run_job(app, make_user, "https://westeurope.quantum.azure.com/")
    assert job["status"] == "FAILED"
    assert job["error_data"]["code"] == "provider_error"
    text = json.dumps(job)
    assert "secret data" not in text and "internal" not in text
    assert listener.connections == 0
