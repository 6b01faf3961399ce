#!/usr/bin/env bash
# `make run`: start the Stripe emulator (unless a real Stripe key is configured), the API and the portal.
# Local state (SQLite database, generated secrets, logs) lives in .run/ and survives restarts.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
UV="${UV:-$(command -v uv || echo "python3 -m uv")}"
RUN_DIR="$ROOT/.run"
mkdir -p "$RUN_DIR/logs"

EMULATOR_PORT="${EMULATOR_PORT:-12111}"
API_PORT="${API_PORT:-8000}"
export PORTAL_PORT="${PORTAL_PORT:-3000}"
export PORTAL_BACKEND_PORT="${PORTAL_BACKEND_PORT:-8001}"
export API_URL="${API_URL:-http://127.0.0.1:$API_PORT}"
export PORTAL_URL="${PORTAL_URL:-http://localhost:$PORTAL_PORT}"

# A value from the environment wins, then my-dev-portal-api/.env, then nothing.
env_file_value() {
  local name=$1 file="$ROOT/my-dev-portal-api/.env"
  [ -f "$file" ] || return 0
  sed -n "s/^[[:space:]]*${name}[[:space:]]*=[[:space:]]*//p" "$file" | tail -n 1 | tr -d "\"'"
}

# A secret generated once and kept in .run/ so sessions and keys survive a restart.
persistent_secret() {
  local file="$RUN_DIR/$1" prefix=$2
  [ -s "$file" ] || python3 -c "import secrets,sys; print(sys.argv[1] + secrets.token_urlsafe(32))" "$prefix" >"$file"
  chmod 600 "$file"
  cat "$file"
}

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

wait_for() {
  local url=$1 name=$2 log=$3
  for _ in $(seq 1 120); do
    if python3 -c "import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" "$url" 2>/dev/null; then
      return 0
    fi
    sleep 0.5
  done
  echo "$name did not start; last lines of $log:" >&2
  tail -n 40 "$log" >&2
  exit 1
}

configured_key="${STRIPE_API_KEY:-$(env_file_value STRIPE_API_KEY)}"
configured_base="${STRIPE_API_BASE:-$(env_file_value STRIPE_API_BASE)}"
using_emulator=""
if [ -n "$configured_key" ] && [ -z "$configured_base" ]; then
  echo "Using the Stripe account configured in my-dev-portal-api/.env (no emulator)."
else
  using_emulator=1
  export STRIPE_API_KEY="sk_test_emulator"
  export STRIPE_API_BASE="http://127.0.0.1:$EMULATOR_PORT"
  export STRIPE_WEBHOOK_SECRET
  STRIPE_WEBHOOK_SECRET=$(persistent_secret webhook_secret whsec_)
  bash scripts/start-emulator.sh "$EMULATOR_PORT" "$API_URL/v1/webhooks/stripe" "$RUN_DIR/emulator-state.json" \
    >"$RUN_DIR/logs/emulator.log" 2>&1 &
  pids+=($!)
  wait_for "$STRIPE_API_BASE/_emulator/clock" "Stripe emulator" "$RUN_DIR/logs/emulator.log"
  echo "Stripe emulator  $STRIPE_API_BASE"
fi

export DATABASE_URL="${DATABASE_URL:-$(env_file_value DATABASE_URL)}"
export DATABASE_URL="${DATABASE_URL:-sqlite+aiosqlite:///$RUN_DIR/portal.db}"
export SECRET_KEY="${SECRET_KEY:-$(env_file_value SECRET_KEY)}"
[ -n "$SECRET_KEY" ] || SECRET_KEY=$(persistent_secret secret_key "")
export ADMIN_BOOTSTRAP_EMAIL="${ADMIN_BOOTSTRAP_EMAIL:-admin@example.com}"
export ADMIN_BOOTSTRAP_PASSWORD
ADMIN_BOOTSTRAP_PASSWORD="${ADMIN_BOOTSTRAP_PASSWORD:-$(persistent_secret admin_password "")}"
export ADMIN_BOOTSTRAP_TOKEN
ADMIN_BOOTSTRAP_TOKEN="${ADMIN_BOOTSTRAP_TOKEN:-$(persistent_secret admin_token mdp_admin_)}"
# The console's API token administers; the gateway's may only verify keys and send usage.
export ADMIN_BOOTSTRAP_TOKEN_SCOPES="${ADMIN_BOOTSTRAP_TOKEN_SCOPES:-admin}"
export GATEWAY_BOOTSTRAP_TOKEN
GATEWAY_BOOTSTRAP_TOKEN="${GATEWAY_BOOTSTRAP_TOKEN:-$(persistent_secret gateway_token mdp_admin_)}"
export LOG_JSON="${LOG_JSON:-false}"

(cd my-dev-portal-api && exec $UV run uvicorn portal_api.main:create_app --factory \
  --host 127.0.0.1 --port "$API_PORT") >"$RUN_DIR/logs/api.log" 2>&1 &
pids+=($!)
wait_for "$API_URL/healthz" "API" "$RUN_DIR/logs/api.log"
echo "API              $API_URL   (health: $API_URL/healthz, docs: $API_URL/docs)"

# The emulator's demo catalog bills out of the box: one "API calls" meter per metered price that has none
# (repeating this on a restart changes nothing). A real Stripe account gets its meters in the console only.
demo_meters="none: create a meter per metered price in the console (Admin > Meters)"
if [ -n "$using_emulator" ]; then
  if (cd my-dev-portal-api && $UV run portal-api seed-demo-meters) >"$RUN_DIR/logs/demo-meters.log" 2>&1; then
    demo_meters="one \"API calls\" meter per metered demo price, counting every call (.run/logs/demo-meters.log)"
  else
    demo_meters="not seeded; see .run/logs/demo-meters.log"
  fi
fi

if [ -x scripts/run-portal.sh ]; then
  bash scripts/run-portal.sh >"$RUN_DIR/logs/portal.log" 2>&1 &
  pids+=($!)
  wait_for "$PORTAL_URL" "Portal" "$RUN_DIR/logs/portal.log"
  echo "Portal           $PORTAL_URL"
fi

cat <<INFO

Provider admin   $ADMIN_BOOTSTRAP_EMAIL / $ADMIN_BOOTSTRAP_PASSWORD
Admin API token  $ADMIN_BOOTSTRAP_TOKEN   (scope admin: the console's routes, /v1/admin/*)
Gateway token    $GATEWAY_BOOTSTRAP_TOKEN   (scopes verify + ingest: POST /v1/keys/verify, /v1/usage/events)
Demo meters      $demo_meters
Logs             .run/logs/   Stop with Ctrl-C.
INFO
wait -n "${pids[@]}" || true
echo "A process stopped; see .run/logs/." >&2
