"""The PLANQK-compatible shapes: what the PLANQK CLI (``/qc-catalog``) and the planqk-quantum
SDK (``/quantum``) send and read, as models (snake_case for the SDK, camelCase for the CLI)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, RootModel, StrictInt

from vault_bridge.api.spec import ErrorDetail, RequestModel, coded

# -- /qc-catalog ----------------------------------------------------------------------------------


class PlanqkUser(BaseModel):
    """The PAT's user as ``planqk login`` reads it."""

    id: str
    username: str
    firstName: str
    lastName: str
    email: str


class Authorized(BaseModel):
    """The answer of ``POST /qc-catalog/authorize``."""

    user: PlanqkUser
    roles: list[str] = Field(description="the PAT's scopes in PLANQK's spelling")


class Account(BaseModel):
    """One account context (the personal account, or an organization)."""

    id: str
    displayName: str
    role: str
    isOrganization: bool
    accountType: Literal["USER", "ORGANIZATION"]


class Accounts(RootModel[list[Account]]):
    """A list of Account."""


class PlanqkError(BaseModel):
    """Errors of ``/qc-catalog``: PLANQK clients read ``errorMessage``."""

    errorMessage: str
    error: ErrorDetail


# -- /quantum -------------------------------------------------------------------------------------


class QuantumError(BaseModel):
    """Errors of ``/quantum``, in the shape the SDK reads."""

    error: str
    error_message: str
    detail: str
    status: int


class Gate(BaseModel):
    """A gate a backend supports."""

    name: str
    native_gate: bool


class ShotsRange(BaseModel):
    """How many shots a job may ask for."""

    min: int
    max: int


class Connectivity(BaseModel):
    """Qubit connectivity."""

    fully_connected: bool
    graph: dict[str, list[int]] | None = None


class Configuration(BaseModel):
    """A backend's configuration, as the SDK builds a Qiskit backend from it."""

    model_config = ConfigDict(extra="allow")

    gates: list[Gate]
    instructions: list[Any]
    qubit_count: int
    connectivity: Connectivity
    supported_input_formats: list[str]
    shots_range: ShotsRange


class Backend(BaseModel):
    """The SDK's BackendDto."""

    model_config = ConfigDict(extra="allow")

    id: str
    provider: str
    hardware_provider: str
    name: str
    type: Literal["QPU", "SIMULATOR", "ANNEALER", "UNKNOWN"]
    status: Literal["UNKNOWN", "ONLINE", "PAUSED", "OFFLINE", "RETIRED"]
    configuration: Configuration


class Backends(RootModel[list[Backend]]):
    """A list of Backend."""


class BackendState(BaseModel):
    """The SDK's BackendStateInfosDto."""

    status: str
    queue_avg_time: int
    queue_size: int
    provider_token_valid: bool


JobStatusName = Literal[
    "UNKNOWN", "ABORTED", "PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLING", "CANCELLED"
]


class CircuitInput(BaseModel):
    """An IonQ circuit: ``qubits`` and the circuit itself."""

    model_config = ConfigDict(extra="allow")

    qubits: StrictInt = Field(ge=1, le=1024)


class SubmitJob(RequestModel):
    """A job as the SDK submits it."""

    backend_id: str = Field(max_length=200, json_schema_extra=coded("backend_not_found"))
    shots: StrictInt = Field(1, json_schema_extra=coded("invalid_shots"))
    input: CircuitInput = Field(json_schema_extra=coded("invalid_input"))
    input_format: str = Field(max_length=100, json_schema_extra=coded("invalid_input"))
    input_params: dict[str, Any] | None = Field(None, json_schema_extra=coded("invalid_input"))
    provider: str | None = Field(None, max_length=100)
    sdk_provider: str | None = Field(None, max_length=100, json_schema_extra=coded("invalid_input"))
    name: str | None = Field(None, max_length=200, json_schema_extra=coded("invalid_input"))
    tags: list[str] | None = Field(None, max_length=20, json_schema_extra=coded("invalid_input"))


class Job(BaseModel):
    """The SDK's JobDto."""

    id: str
    provider: str
    backend_id: str
    shots: int
    input_format: str
    input_params: dict[str, Any]
    sdk_provider: str | None
    provider_job_id: str | None
    name: str | None
    tags: list[str]
    created_at: str
    started_at: str | None
    ended_at: str | None
    error_data: dict[str, str] | None
    status: JobStatusName


class JobPage(BaseModel):
    """A page of jobs."""

    content: list[Job]
    page: int
    size: int
    total_elements: int
    total_pages: int
    last: bool


def _whole(default: int, low: int, high: int) -> Any:
    """A lenient whole number: unreadable means ``default``, out of range is clamped."""

    def read(value: object) -> int:
        try:
            number = int(str(value)) if not isinstance(value, int) else value
        except ValueError:
            return default
        return min(high, max(low, number))

    return BeforeValidator(read)


class JobPageQuery(RequestModel):
    """Which page of jobs (unreadable values fall back to the defaults, ranges are clamped)."""

    page: Annotated[int, _whole(0, 0, 1_000_000)] = Field(0, ge=0, le=1_000_000)
    size: Annotated[int, _whole(50, 1, 200)] = Field(50, ge=1, le=200)


class JobState(BaseModel):
    """``{"status": ...}``."""

    status: JobStatusName


class JobResult(BaseModel):
    """A completed job's histogram, or a failed job's error."""

    model_config = ConfigDict(extra="allow")

    histogram: dict[str, float] | None = None
    code: str | None = None
    message: str | None = None
