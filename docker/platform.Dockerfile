# syntax=docker/dockerfile:1
# The platform image: every workload of ours (MLflow, Prefect server and worker with
# the pipeline flows, serving, monitoring, the Streamlit app, Prometheus) runs from this
# one image;
# the Nomad job of each workload chooses the command. Object storage (SeaweedFS)
# keeps its own upstream image. Build from the repository root:
#   docker build -f docker/platform.Dockerfile -t ghcr.io/opsctl/crm-platform:dev .

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml README.md ./
COPY ops_cli ./ops_cli
COPY ml ./ml
COPY workloads ./workloads
# Extras the workloads need; the operator's own extras (cluster, infra, dev) stay out.
RUN /opt/venv/bin/pip install ".[postgres,ml,serving]" \
    && /opt/venv/bin/pip check

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="crm-platform" \
      org.opencontainers.image.description="Workloads of the CRM win-probability MLOps platform" \
      org.opencontainers.image.source="https://github.com/opsctl/opsctl" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/home/platform
# Prometheus and Alertmanager for the metrics and alerts workloads: Debian's packages, the
# same as on a machine that runs the platform locally (no init system here, so their own
# services never start)
# A C compiler: the prediction service and the flows build a gradient-boosting champion's
# trees into native code at load (TL2cgen); without one they score with Treelite's GTIL,
# several times slower, and say so in /version
RUN apt-get update \
    && apt-get install -y --no-install-recommends prometheus=2.42.0+ds-5+deb12u1 \
        prometheus-alertmanager=0.25.0-1+b4 gcc=4:12.2.0-3 libc6-dev=2.36-9+deb12u14 \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 platform \
    && useradd --system --uid 10001 --gid platform --create-home --home-dir /home/platform platform
COPY --from=build /opt/venv /opt/venv
WORKDIR /home/platform
USER 10001:10001
# No default service: each Nomad job names its command (mlflow server, prefect ...).
CMD ["python", "-c", "print('crm-platform: run a workload command, e.g. mlflow server')"]
