# vault-bridge production image: `make image` (builds the wheels on the host, then this).
#
# The base is a build argument so that a machine without Docker Hub can substitute its own build
# of the same Debian/Python (the tests do). The default is the official image, pinned to a Python
# patch release on Debian 12; pin it further by digest in your registry
# (PYTHON_IMAGE=python:3.11.13-slim-bookworm@sha256:...).
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

# -- build: a virtualenv from the wheels in build/wheels (no package index is used) -----------
FROM ${PYTHON_IMAGE} AS build
COPY build/wheels /wheels
RUN python3 -m venv /opt/vault-bridge \
 && /opt/vault-bridge/bin/pip install --no-index --find-links /wheels --no-cache-dir \
      --disable-pip-version-check --quiet vault-bridge \
 && /opt/vault-bridge/bin/pip uninstall --yes --quiet pip

# -- service: the virtualenv, a non-root user, gunicorn ---------------------------------------
FROM ${PYTHON_IMAGE}
# The service user; its runtime folder (gunicorn's control socket); the mount points of the
# credential volumes (docker-compose.yml): a new volume mounted on a directory of the image takes
# over its owner and mode.
RUN groupadd --system --gid 10001 vault-bridge \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin vault-bridge \
 && install -d -m 0700 -o vault-bridge -g vault-bridge /run/vault-bridge \
      /credentials /credentials/admin /credentials/service /credentials/runner \
      /credentials/reconciler
COPY --from=build /opt/vault-bridge /opt/vault-bridge
ENV PATH=/opt/vault-bridge/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    XDG_RUNTIME_DIR=/run/vault-bridge \
    VAULT_BRIDGE_HOST=0.0.0.0 \
    VAULT_BRIDGE_PORT=8080 \
    VAULT_BRIDGE_WORKERS=2 \
    VAULT_BRIDGE_DATA_DIR=/tmp/vault-bridge
USER 10001:10001
EXPOSE 8080
# Ready means: Vault reachable, unsealed and bootstrapped, revocations fresh (no curl here).
HEALTHCHECK --interval=5s --timeout=4s --start-period=30s --retries=3 \
  CMD ["python3", "-c", "import os, urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:%s/readyz' % os.environ.get('VAULT_BRIDGE_PORT', '8080'), timeout=3)"]
# gunicorn with VAULT_BRIDGE_WORKERS workers; VAULT_BRIDGE_WORKERS=0 asks for the development
# server. Operator commands run the same way: docker run ... vault-bridge doctor
CMD ["vault-bridge", "serve"]
