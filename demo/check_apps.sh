#!/usr/bin/env bash
# Checks the demo's two small apps for real: starts each and calls its health check.
# The Flask app runs in a virtualenv kept under ~/.cache/dockerpulse (created once).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${DOCKERPULSE_CACHE:-$HOME/.cache/dockerpulse}"

wait_for() { # url
  for _ in $(seq 1 50); do curl -fsS "$1" 2>/dev/null && return 0; sleep 0.2; done
  echo "no answer from $1" >&2; return 1
}

echo "node-service:"
PORT=38731 node "$HERE/node-service/server.js" >/dev/null & node_pid=$!
trap 'kill $node_pid ${flask_pid:-} 2>/dev/null || true' EXIT
wait_for http://127.0.0.1:38731/health | grep -q '"status":"ok"'
curl -fsS "http://127.0.0.1:38731/api/work?n=5000" | grep -q digest
echo "  health and /api/work answer"

echo "flask-api:"
if [ ! -x "$CACHE/flask-venv/bin/python" ]; then
  python3 -m venv "$CACHE/flask-venv"
  "$CACHE/flask-venv/bin/pip" install -q -r "$HERE/flask-api/requirements.txt"
fi
PORT=38732 "$CACHE/flask-venv/bin/python" "$HERE/flask-api/app.py" >/dev/null 2>&1 & flask_pid=$!
wait_for http://127.0.0.1:38732/health | grep -q '"status":"ok"'
curl -fsS "http://127.0.0.1:38732/api/hash?text=x&rounds=10" | grep -q sha256
echo "  health and /api/hash answer"
