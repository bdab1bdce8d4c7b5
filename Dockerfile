# Image for the GitHub Action (`runs: using: docker`, built from this file on every run).
# Pinned base: Debian 13 (trixie) ships upx-ucl 4.x, which can unpack today's UPX-packed binaries.
FROM python:3.13.7-slim-trixie

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# upx follows the distro's security updates instead of a pinned build.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends upx-ucl \
    && rm -rf /var/lib/apt/lists/*

# The package comes from this repository, not from a registry.
COPY pyproject.toml README.md /action/
COPY checker /action/checker
COPY entrypoint.py /action/entrypoint.py
RUN pip install --no-cache-dir /action

# No USER and no WORKDIR: the runner starts the container as root in /github/workspace.
ENTRYPOINT ["python", "/action/entrypoint.py"]
