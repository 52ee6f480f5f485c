#!/usr/bin/env bash
# Crash consistency: kill -9 a real `keyward serve` during concurrent key rolls, revocations and
# payment-key creation, restart it, and check every acknowledged change, that no key is half-rolled, and
# the audit chain. On SQLite, then on a fresh PostgreSQL database when a URL is given ($1).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$(cd "$root" && swift build --show-bin-path)/keyward"
python3 "$root/Tests/peers/crash_consistency.py" "$bin" --rounds 3
if [ -n "${1:-}" ]; then
  database="keyward_crash_$$"
  psql -q "$1" -c "CREATE DATABASE $database" >/dev/null
  python3 "$root/Tests/peers/crash_consistency.py" "$bin" --rounds 3 --database-url "${1%/*}/$database"
fi
echo "crash consistency OK"
