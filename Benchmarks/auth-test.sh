#!/usr/bin/env bash
# Gateway benchmark for issue 2: GET /v1/auth/test with a valid key, 100,000 keys stored, against nginx
# serving a static 200 and a bare Hummingbird server (Benchmarks/HummingbirdBaseline, the framework's
# ceiling) on the same loopback in the same run. Prints req/s, p99 latency, the ratios, p99 at half of
# Keyward's own peak load, peak RSS and the cold start to the first 200.
#
#   Benchmarks/auth-test.sh            # defaults: 100000 keys, 64 connections, 15 s per run
#   KEYS=10000 DURATION=5 Benchmarks/auth-test.sh
#   KEYWARD_BIN=/path/to/keyward Benchmarks/auth-test.sh   # e.g. an older commit's build, to compare ratios
#
# Not part of the test suite. Needs wrk and nginx (installed if missing). Both servers log nothing per
# request here (nginx access_log off, Keyward --log-level warning), so the comparison is like for like.
set -euo pipefail
# These measure the gateway, not a merchant's rate limit (100/s live, 25/s test by default): lift it.
export KEYWARD_RATE_LIMIT_LIVE=1000000 KEYWARD_RATE_LIMIT_TEST=1000000
root="$(cd "$(dirname "$0")/.." && pwd)"
keys="${KEYS:-100000}"
connections="${CONNECTIONS:-64}"
duration="${DURATION:-15}"
http_port=18180 https_port=18543 nginx_port=18181 baseline_port=18182

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || missing+=(nginx-light)
command -v curl >/dev/null || missing+=(curl)
command -v bc >/dev/null || missing+=(bc)
if [ ${#missing[@]} -gt 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; fi

if [ -n "${KEYWARD_BIN:-}" ]; then bin="$KEYWARD_BIN"; else   # a binary built elsewhere (another scratch path, an older commit)
  echo "== building release"
  (cd "$root" && swift build -c release --product keyward 2>&1 | tail -1)
  bin="$(cd "$root" && swift build -c release --show-bin-path)/keyward"
fi
(cd "$root/Benchmarks/HummingbirdBaseline" && swift build -c release 2>&1 | tail -1)
baseline_bin="$(cd "$root/Benchmarks/HummingbirdBaseline" && swift build -c release --show-bin-path)/hummingbird-baseline"

work="$(mktemp -d)"
cd "$work"
cleanup() {
  [ -n "${server:-}" ] && kill "$server" 2>/dev/null || true
  [ -n "${baseline:-}" ] && kill "$baseline" 2>/dev/null || true
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
}
trap cleanup EXIT

echo "== seeding $keys keys"
merchant=$("$bin" merchant create --name bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
seed_start=$(date +%s.%N)
"$bin" keys create --merchant "$merchant" --mode test --name bench --count "$keys" --json > keys.jsonl
seed_end=$(date +%s.%N)
secret=$(sed -n "$((keys / 2))p" keys.jsonl | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
printf 'seeded %s keys in %.1f s\n' "$(wc -l < keys.jsonl)" "$(echo "$seed_end - $seed_start" | bc)"

echo "== cold start"
start=$(date +%s.%N)
"$bin" serve --insecure-http --http-port "$http_port" --https-port "$https_port" --log-level warning 2>serve.log &
server=$!
until curl -sf -o /dev/null -H "Authorization: Bearer $secret" "http://127.0.0.1:$http_port/v1/auth/test"; do sleep 0.005; done
cold=$(echo "$(date +%s.%N) - $start" | bc)

cat > nginx.conf <<NGINX
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$nginx_port;
    location / { default_type application/json; return 200 '{"ok":true}'; }
  }
}
NGINX
nginx -c "$work/nginx.conf" -p "$work"
"$baseline_bin" "$baseline_port" >/dev/null 2>&1 &
baseline=$!
until curl -sf -o /dev/null "http://127.0.0.1:$baseline_port/v1/auth/test"; do sleep 0.01; done

run_wrk() {  # url connections [extra args...] -> prints "rps p99_ms"
  local url=$1 conns=$2; shift 2
  wrk -t2 -c"$conns" -d"${duration}s" --latency "$@" "$url" > wrk.out
  python3 - wrk.out <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}
m = re.search(r"99%\s+([\d.]+)(us|ms|s)", text)
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(f"{rps:.0f} {float(m.group(1)) * unit[m.group(2)]:.3f} {errors.group(1) if errors else 0}")
PY
}

echo "== warm-up"
wrk -t2 -c"$connections" -d3s -H "Authorization: Bearer $secret" "http://127.0.0.1:$http_port/v1/auth/test" >/dev/null
wrk -t2 -c"$connections" -d3s "http://127.0.0.1:$nginx_port/" >/dev/null
wrk -t2 -c"$connections" -d3s "http://127.0.0.1:$baseline_port/v1/auth/test" >/dev/null

echo "== full load ($connections connections, ${duration}s each)"
read -r kw_rps kw_p99 kw_errors < <(run_wrk "http://127.0.0.1:$http_port/v1/auth/test" "$connections" -H "Authorization: Bearer $secret")
read -r ng_rps ng_p99 _ < <(run_wrk "http://127.0.0.1:$nginx_port/" "$connections")
read -r hb_rps hb_p99 _ < <(run_wrk "http://127.0.0.1:$baseline_port/v1/auth/test" "$connections")

echo "== half load (paced at $((${kw_rps%.*} / 2)) req/s)"
# wrk's Lua delay(): each connection waits 0-20 ms (10 ms on average) between requests, so N connections
# send ~N*100 req/s. The wait is random so connections do not fire in synchronized bursts.
echo 'function delay() return math.random(0, 20) end' > pace.lua
half_conns=$(( ${kw_rps%.*} / 2 / 100 )); [ "$half_conns" -lt 2 ] && half_conns=2
read -r half_rps half_p99 _ < <(run_wrk "http://127.0.0.1:$http_port/v1/auth/test" "$half_conns" -s pace.lua -H "Authorization: Bearer $secret")

rss_peak=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
rss_now=$(awk '/VmRSS/ {print $2}' "/proc/$server/status")

echo
echo "Keyward GET /v1/auth/test vs nginx static 200 and bare Hummingbird (loopback, 2 cores shared with wrk, $keys keys stored)"
printf '  %-28s %12s %10s\n' "" "req/s" "p99 ms"
printf '  %-28s %12s %10s\n' "keyward (full load)" "$kw_rps" "$kw_p99"
printf '  %-28s %12s %10s\n' "nginx (full load)" "$ng_rps" "$ng_p99"
printf '  %-28s %12s %10s\n' "bare hummingbird (full load)" "$hb_rps" "$hb_p99"
printf '  %-28s %12s %10s\n' "keyward (half load, paced)" "$half_rps" "$half_p99"
printf '  ratio keyward/nginx req/s:  %.2f   (target >= 0.60)\n' "$(echo "$kw_rps / $ng_rps" | bc -l)"
printf '  ratio keyward/hummingbird:  %.2f   (the framework ceiling here: hummingbird/nginx = %.2f)\n' "$(echo "$kw_rps / $hb_rps" | bc -l)" "$(echo "$hb_rps / $ng_rps" | bc -l)"
printf '  p99 at half load:           %s ms (target < 2 ms)\n' "$half_p99"
printf '  RSS peak / now:             %d MB / %d MB (target < 150 MB)\n' $((rss_peak / 1024)) $((rss_now / 1024))
printf '  cold start to first 200:    %.3f s (target < 1 s)\n' "$cold"
printf '  non-2xx answers from keyward: %s\n' "$kw_errors"
