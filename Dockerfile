# syntax=docker/dockerfile:1

# Image for collate-handoff-bot. Two stages: `build` turns this project into a wheel and installs
# it into a virtual environment; `runtime` receives only that environment. No compiler is
# installed in either stage: every dependency must come as a binary wheel (--only-binary).
# Pin the base further (a patch tag or @sha256 digest) where reproducible rebuilds matter.

FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src

# Only what the wheel is built from (see [tool.setuptools.packages.find] in pyproject.toml).
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY blocks ./blocks
COPY sim ./sim

# Called as plain `python -m pip` with the venv first on PATH, not by absolute path: hadolint's
# pip rules only recognise the bare command, and would silently skip /opt/venv/bin/python.
RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:${PATH}"

# The same two pip steps as .ci/run: build this project's wheel, then install that wheel, and
# the dependencies pyproject.toml declares, into the venv.
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
    && python -m pip install --no-cache-dir --only-binary=:all: /wheels/collate_handoff_bot-*.whl

FROM python:3.11-slim AS runtime

ENV PATH="/opt/venv/bin:${PATH}" \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

RUN groupadd --system --gid 10001 handoff \
    && useradd --system --uid 10001 --gid handoff --no-log-init --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin handoff

COPY --from=build /opt/venv /opt/venv

WORKDIR /app

# Numeric, so an orchestrator's runAsNonRoot check can verify it without reading /etc/passwd.
USER 10001:10001

# The bot's health endpoint. Socket Mode needs no inbound port; the port serves /healthz (and
# /slack/events in HTTP mode).
EXPOSE 3000

# Exec form, so no shell is involved; PORT falls back to 3000 when unset or empty, as
# ${PORT:-3000} would. urlopen raises (exit 1, unhealthy) on a refused connection, a timeout or
# any HTTP status of 400 or more.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + (os.environ.get('PORT') or '3000') + '/healthz', timeout=4)"]

ENTRYPOINT ["collate-handoff-bot"]
CMD ["run"]
