#!/usr/bin/env bash
# Load and abuse (issue 13): does the gateway keep its rate while someone floods it with idle sockets,
# slow bodies and never-ending headers? wrk measures GET /v1/auth/test with a valid key twice on one
# server, first alone, then while Benchmarks/abuse_clients.py holds IDLE idle sockets (half of them on the
# TLS port, never starting a handshake), SLOW unauthenticated 8 MiB posts trickled 64 bytes a second with
# a bogus Signature-Input, and HEADERS header blocks that never end, reopening whatever the server closes.
# Prints both rates, their ratio (the target: within 20 %), the server's peak RSS during the abuse (the
# target: under MEMORY_BOUND_MB) and what the abusive clients saw closed.
#
#   Benchmarks/abuse.sh                        # release build, 2000 idle, 200 slow, 200 headers, 20 s
#   BUILD=debug IDLE=500 DURATION=10 Benchmarks/abuse.sh
#
# Not part of the test suite. Needs wrk (installed if missing).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD:-release}"
idle="${IDLE:-2000}" slow="${SLOW:-200}" headers="${HEADERS:-200}"
duration="${DURATION:-20}" connections="${CONNECTIONS:-32}"
memory_bound_mb="${MEMORY_BOUND_MB:-400}"
# This measures the listener under abuse, not a merchant's rate limit: lift it.
export KEYWARD_RATE_LIMIT_LIVE=1000000 KEYWARD_RATE_LIMIT_TEST=1000000
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
if [ -n "${KEYWARD_BIN:-}" ]; then bin="$KEYWARD_BIN"; else   # a binary built elsewhere (e.g. another scratch path)
  (cd "$root" && swift build -c "$build" --product keyward 2>&1 | tail -1)
  bin="$(cd "$root" && swift build -c "$build" --show-bin-path)/keyward"
fi
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
http_port=$(port) https_port=$(port)

work="$(mktemp -d)"
cd "$work"
cleanup() { [ -n "${server:-}" ] && kill "$server" 2>/dev/null || true; }
trap cleanup EXIT
merchant=$("$bin" merchant create --name abuse --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
secret=$("$bin" keys create --merchant "$merchant" --mode test --name abuse --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
"$bin" serve --insecure-http --http-port "$http_port" --https-port "$https_port" --log-level warning 2>serve.log &
server=$!
until curl -sf -o /dev/null -H "Authorization: Bearer $secret" "http://127.0.0.1:$http_port/v1/auth/test"; do sleep 0.05; done

rate() { wrk -t2 -c"$connections" -d"$1"s -H "Authorization: Bearer $secret" "http://127.0.0.1:$http_port/v1/auth/test" | awk '/Requests\/sec/ {print $2}'; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }

echo "== alone"
rate 3 >/dev/null   # warm up
alone=$(rate "$duration")
rss_before=$(rss_kb)
echo "alone: $alone req/s, RSS $((rss_before / 1024)) MiB"

echo "== under abuse ($idle idle, $slow slow bodies, $headers endless headers)"
python3 "$root/Benchmarks/abuse_clients.py" 127.0.0.1 "$http_port" "$https_port" $((duration + 8)) "$idle" "$slow" "$headers" > clients.json &
clients=$!
peak=$rss_before
( while kill -0 $clients 2>/dev/null; do rss_kb; sleep 0.5; done ) > rss.txt &
sleep 5   # let the abusers connect
abused=$(rate "$duration")
wait $clients
peak=$(sort -n rss.txt | tail -1)
echo "under abuse: $abused req/s, peak RSS $((peak / 1024)) MiB"
echo "abusive clients, closed by the server: $(tail -1 clients.json)"
ratio=$(python3 -c "print(f'{$abused / $alone:.2f}')")
echo "ratio under abuse / alone: $ratio (target >= 0.80); peak RSS $((peak / 1024)) MiB (bound $memory_bound_mb MiB)"
grep -m3 -i "connection" serve.log || true
