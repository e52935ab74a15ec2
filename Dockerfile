# syntax=docker/dockerfile:1
# Support Pulse stream worker image: `docker build -t supportpulse .`
#   docker run --rm supportpulse --help
#   docker run -e SUPPORTPULSE_KAFKA_BOOTSTRAP=kafka:9092 supportpulse worker
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Dependencies change less often than the code: resolve them in their own layer.
COPY pyproject.toml README.md ./
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --upgrade pip \
    && mkdir -p stream \
    && touch stream/__init__.py \
    && /opt/venv/bin/pip install . \
    && /opt/venv/bin/pip uninstall -y supportpulse \
    && rm -rf build stream *.egg-info
COPY stream ./stream
# Installed from a built wheel, as users install it: only what the wheel ships (the package data
# with the default SLA policy included) reaches the image. check-config fails the build if the
# shipped policy is missing or does not parse.
RUN /opt/venv/bin/pip wheel --no-deps --wheel-dir /wheels . \
    && /opt/venv/bin/pip install --no-deps /wheels/supportpulse-*.whl \
    && cd / && /opt/venv/bin/supportpulse check-config

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SUPPORTPULSE_WEB_HOST=0.0.0.0 \
    SUPPORTPULSE_WEB_PORT=6066 \
    SUPPORTPULSE_DATA_DIR=/data
RUN groupadd --system --gid 10001 supportpulse \
    && useradd --system --uid 10001 --gid supportpulse --home-dir /app --create-home \
       --shell /usr/sbin/nologin supportpulse \
    && mkdir -p /data \
    && chown supportpulse:supportpulse /data
COPY --from=build /opt/venv /opt/venv
# The worker's table data directory (SUPPORTPULSE_DATA_DIR): a volume, so it outlives the
# container and each worker keeps its own.
VOLUME ["/data"]
WORKDIR /app
USER 10001:10001
EXPOSE 6066
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=4 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('SUPPORTPULSE_WEB_PORT', '6066'), timeout=3)"]
ENTRYPOINT ["supportpulse"]
CMD ["worker"]
