#!/usr/bin/env bash
# Starts the portal (Reflex, production build) on PORTAL_PORT and prints its URL; API_URL says where the API is.
# Reflex 0.10's prod mode serves the pages and its own backend (state websocket) on one port, so
# PORTAL_BACKEND_PORT is accepted for compatibility but not needed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
UV="${UV:-$(command -v uv || echo "python3 -m uv")}"

bash scripts/install-frontend.sh
# shellcheck source=my-dev-portal/reflex-env.sh
source "$ROOT/my-dev-portal/reflex-env.sh"

PORTAL_PORT="${PORTAL_PORT:-3000}"
PORTAL_HOST="${PORTAL_HOST:-127.0.0.1}"
export API_URL="${API_URL:-http://127.0.0.1:8000}"
export PORTAL_URL="${PORTAL_URL:-http://localhost:$PORTAL_PORT}"
# The browser opens the state websocket on the address it loaded the page from.
export REFLEX_API_URL="${REFLEX_API_URL:-$PORTAL_URL}"
export REFLEX_DEPLOY_URL="${REFLEX_DEPLOY_URL:-$PORTAL_URL}"

cd "$PORTAL_DIR"
# Reflex pickles each browser's state (the websocket handshake's headers, the session cookie among them)
# into .states/: files only this user may read.
umask 077
echo "Portal starting at $PORTAL_URL (API: $API_URL)"
exec $UV run --frozen reflex run --env prod --loglevel warning \
  --frontend-port "$PORTAL_PORT" --backend-port "$PORTAL_PORT" --backend-host "$PORTAL_HOST"
