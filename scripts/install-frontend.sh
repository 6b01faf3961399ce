#!/usr/bin/env bash
# Installs the portal's frontend toolchain: the bun Reflex pins (from the npm registry) and .web's node_modules.
# Idempotent and offline-safe: nothing is fetched from anywhere but PyPI's lock and the npm registry.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
UV="${UV:-$(command -v uv || echo "python3 -m uv")}"
# shellcheck source=my-dev-portal/reflex-env.sh
source "$ROOT/my-dev-portal/reflex-env.sh"

# 1. bun, at the version the installed Reflex pins, as the npm registry's platform package.
want="$($UV run --frozen python -c 'from reflex_base.constants.installer import Bun; print(Bun.VERSION)')"
have="$("$REFLEX_BUN_PATH" --version 2>/dev/null || true)"
if [ "$have" != "$want" ]; then
  case "$(uname -m)" in
    x86_64 | amd64)
      # bun's default x64 build needs AVX2; the baseline build runs on older CPUs.
      if grep -qw avx2 /proc/cpuinfo 2>/dev/null; then pkg=bun-linux-x64; else pkg=bun-linux-x64-baseline; fi ;;
    aarch64 | arm64) pkg=bun-linux-aarch64 ;;
    *) echo "install-frontend: unsupported machine $(uname -m)" >&2; exit 1 ;;
  esac
  rm -rf "$ROOT/.tools/node_modules/@oven"
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$ROOT/.tools" "@oven/$pkg@$want"
  mkdir -p "$(dirname "$REFLEX_BUN_PATH")"
  # One stable path whatever the platform package was.
  ln -sf "$ROOT/.tools/node_modules/@oven/$pkg/bin/bun" "$REFLEX_BUN_PATH"
  "$REFLEX_BUN_PATH" --version >/dev/null
fi

# 2. .web: Reflex's frontend skeleton plus node_modules, installed by `reflex compile` through bun.
# The stamp holds what the install depends on; when unchanged, nothing runs.
stamp="$PORTAL_DIR/.web/.install-frontend.stamp"
fingerprint() { cat "$PORTAL_DIR/reflex.lock/"* "$PORTAL_DIR/.web/reflex.json" 2>/dev/null | sha256sum | cut -c1-16; }
if [ -d "$PORTAL_DIR/.web/node_modules" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want $(fingerprint)" ]; then
  exit 0
fi
(cd "$PORTAL_DIR" && $UV run --frozen reflex compile --no-rich --loglevel warning)
echo "$want $(fingerprint)" >"$stamp"
