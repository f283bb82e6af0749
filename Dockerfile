# Rasid application image: connectors, stream workers and the CLI (`rasid ...`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # installed into site-packages, the code finds config/ and its data dirs through these
    RASID_CONFIG_DIR=/app/config \
    RASID_DATA_DIR=/data/faust \
    RASID_STATE_DIR=/data/state

WORKDIR /app

# lxml/selectolax/datasketch ship wheels for this platform; no compiler needed.
COPY pyproject.toml README.md* ./
COPY pipeline ./pipeline
COPY connectors ./connectors
COPY benchmarks ./benchmarks
COPY devstack ./devstack
RUN pip install . && useradd --system --uid 10001 --home /app rasid \
    && mkdir -p /data/faust /data/state && chown -R rasid /data

COPY config ./config

USER rasid
# worker web port (faust) and Prometheus metrics
EXPOSE 6066 9108
ENTRYPOINT []
CMD ["rasid", "--help"]
