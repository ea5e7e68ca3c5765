# VoiceSurveyAgent service image: `voicesurvey serve` as a non-root user, with a health check.
# Build: docker build -t voicesurvey .   Run it with DATABASE_URL set (see docs/deploy.md).

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /build
COPY pyproject.toml README.md ./
COPY src ./src
# The pinned dependencies and the package, into a virtual environment the final stage copies.
RUN python -m venv /opt/voicesurvey && /opt/voicesurvey/bin/pip install .

FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --user-group --home-dir /srv/voicesurvey --create-home voicesurvey
COPY --from=build /opt/voicesurvey /opt/voicesurvey
ENV PATH=/opt/voicesurvey/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    LOG_FORMAT=json \
    PROMETHEUS_MULTIPROC_DIR=/tmp/voicesurvey-metrics
USER voicesurvey
WORKDIR /srv/voicesurvey
EXPOSE 8880
# /readyz: the database answers and the schema is at the latest migration.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8880/readyz', timeout=4).status != 200)"]
CMD ["voicesurvey", "serve", "--host", "0.0.0.0", "--port", "8880", "--workers", "2"]
