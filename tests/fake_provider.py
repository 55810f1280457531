"""A stand-in quantum provider on loopback: IonQ's job format behind Azure Quantum's key header.

It records which API key each job came with, so tests can check that exactly the stored
credential arrived, and answers an ideal Bell-state histogram for two-qubit circuits.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask, jsonify, request

from tests.helpers import LiveServer


class FakeProvider:
    """Serve on 127.0.0.1 in a thread; ``jobs`` holds what arrived."""

    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}
        self.valid_keys: set[str] = set()
        app = Flask("fake-provider")

        @app.post("/v0.3/jobs")
        def submit():  # type: ignore[no-untyped-def]
            key = request.headers.get("x-ms-quantum-api-key", "")
            if key not in self.valid_keys:
                return jsonify({"error": "unauthorized"}), 401
            job_id = str(uuid.uuid4())
            self.jobs[job_id] = {"key": key, "body": request.get_json()}
            return jsonify({"id": job_id, "status": "completed"})

        @app.get("/v0.3/jobs/<job_id>/results")
        def results(job_id: str):  # type: ignore[no-untyped-def]
            job = self.jobs.get(job_id)
            if job is None or request.headers.get("x-ms-quantum-api-key") != job["key"]:
                return jsonify({"error": "not found"}), 404
            qubits = job["body"]["input"]["qubits"]
            return jsonify({"0": 0.5, str(2**qubits - 1): 0.5})

        self._server = LiveServer(app)
        self.url = self._server.url

    def keys_used(self) -> list[str]:
        return [job["key"] for job in self.jobs.values()]

    def stop(self) -> None:
        self._server.stop()
