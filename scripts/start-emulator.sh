#!/usr/bin/env bash
# Start the Stripe emulator in the foreground (`make run` runs it in the background):
#   STRIPE_WEBHOOK_SECRET=whsec_... scripts/start-emulator.sh PORT WEBHOOK_URL [STATE_FILE]
# The signing secret reaches the emulator through its environment (STRIPE_EMULATOR_WEBHOOK_SECRET), never
# its command line, which every user of the machine can read with `ps`.
set -euo pipefail
cd "$(dirname "$0")/.."
UV="${UV:-$(command -v uv || echo "python3 -m uv")}"
port=$1 webhook_url=$2 state_file=${3:-}
: "${STRIPE_WEBHOOK_SECRET:?set STRIPE_WEBHOOK_SECRET (the webhook signing secret) in the environment}"
export STRIPE_EMULATOR_WEBHOOK_SECRET="$STRIPE_WEBHOOK_SECRET"
args=(--host 127.0.0.1 --port "$port" --seed demo --webhook-url "$webhook_url")
[ -z "$state_file" ] || args+=(--state-file "$state_file")
exec $UV run stripe-emulator "${args[@]}"
