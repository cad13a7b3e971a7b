#!/usr/bin/env bash
# Installs what the example apps' browser tests need (Debian's chromium, node/npm, the
# npm package playwright-core pinned in tests/browser/package-lock.json) and runs them:
# each demo binary in demo mode on an ephemeral port, driven in headless Chromium.
# Screenshots land in target/artifacts/.
#
#   bash scripts/browser-test.sh            # install if needed, then run the browser tests
#   bash scripts/browser-test.sh --install  # only install
#
# With CI=true a missing tool fails the tests instead of skipping them.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ "${#need[@]}" -gt 0 ]; then
  echo "browser-test: installing ${need[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
/usr/bin/chromium --version 2>/dev/null | grep -i chromium || { echo "browser-test: chromium does not run" >&2; exit 1; }

if [ ! -d tests/browser/node_modules/playwright-core ]; then
  echo "browser-test: npm ci in tests/browser"
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ "${1:-}" = "--install" ]; then
  exit 0
fi

cargo test -p axum-demo -p actix-demo --test browser -- --nocapture
ls -l target/artifacts/*.png
