#!/usr/bin/env bash
# The fresh-machine check: clone this repository into a new folder with no .venv, give pip and
# uv empty cache folders, run the README's two commands and report the wall time of each.
#   scripts/fresh_clone_check.sh [--no-tests]
# Prints: environment ready (s), first page served after that (s), ./run test (s) and its summary.
# Needs Debian's chromium (./run test installs it) for the first-page timing.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/interviewer-fresh.XXXXXX)"
port="${PORT:-8765}"
export PIP_CACHE_DIR="$work/pip-cache" UV_CACHE_DIR="$work/uv-cache"
export INTERVIEWER_DATA_DIR="$work/data" INTERVIEWER_CACHE_DIR="$work/model-cache"
git clone --quiet "$repo" "$work/clone"
cd "$work/clone"
echo "clone: $work/clone (pip and uv caches empty: $PIP_CACHE_DIR, $UV_CACHE_DIR)"

start=$(date +%s.%N)
./run app --server.headless true --server.port "$port" > "$work/app.log" 2>&1 &
app=$!
ready=""
served=""
while kill -0 "$app" 2>/dev/null; do
  now=$(date +%s.%N)
  if [ -z "$ready" ] && grep -q "Environment ready" "$work/app.log"; then ready=$now; fi
  if [ -n "$ready" ] && curl -fs "http://127.0.0.1:$port/_stcore/health" >/dev/null 2>&1; then
    # The first page a person sees: the setup form, rendered in Debian's headless Chromium.
    .venv/bin/python - "$port" "$work/first-page.png" <<'PY'
import sys
from playwright.sync_api import sync_playwright
from interviewer.web.local import CHROMIUM, CHROMIUM_ARGS
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"http://127.0.0.1:{sys.argv[1]}/")
    page.get_by_role("button", name="Start interview").wait_for(timeout=120_000)
    page.screenshot(path=sys.argv[2])
    browser.close()
PY
    served=$(date +%s.%N); break
  fi
  if [ "$(echo "$now - $start > 900" | bc)" = 1 ]; then break; fi
  sleep 0.2
done
kill "$app" 2>/dev/null || true
wait "$app" 2>/dev/null || true
if [ -z "$served" ]; then
  echo "the app did not serve a page; log:"; tail -20 "$work/app.log"; exit 1
fi
printf 'environment ready: %.1f s\n' "$(echo "$ready - $start" | bc)"
printf 'first page (setup form in Chromium) after that: %.1f s; screenshot %s\n' \
  "$(echo "$served - $ready" | bc)" "$work/first-page.png"

if [ "${1:-}" != "--no-tests" ]; then
  t0=$(date +%s.%N)
  ./run test -q -p no:cacheprovider > "$work/test.log" 2>&1 || { tail -30 "$work/test.log"; exit 1; }
  printf './run test: %.0f s (%s)\n' "$(echo "$(date +%s.%N) - $t0" | bc)" "$(tail -1 "$work/test.log")"
fi
rm -rf "$work/clone" "$work/pip-cache" "$work/uv-cache"
