# Environment for running Reflex offline; sourced by scripts/install-frontend.sh and scripts/run-portal.sh.
# Reflex must fetch nothing but npm packages from the npm registry: pinned bun from .tools, no telemetry,
# no version check, no registry latency probe.
ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
export PORTAL_DIR="$ROOT/my-dev-portal"
export REFLEX_BUN_PATH="$ROOT/.tools/bin/bun"
export REFLEX_USE_SYSTEM_BUN=false
export REFLEX_TELEMETRY_ENABLED=false
export REFLEX_CHECK_LATEST_VERSION=false
export NPM_CONFIG_REGISTRY="${NPM_CONFIG_REGISTRY:-https://registry.npmjs.org}"
