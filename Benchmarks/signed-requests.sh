#!/usr/bin/env bash
# Signed-request benchmark for issue 3: /v1/auth/test authenticated three ways against the same release
# server in one run: a secret key (the reference), a pre-signed myPOS IPC form (RSA 2048, replay
# protection off: the same form every time), and RFC 9421 (RSA 2048 rsa-v1_5-sha256, a distinct
# pre-signed request with a fresh nonce each time, so every request also stores its nonce and prunes
# expired ones). Prints req/s, p99, the ratios to the secret-key rate (target >= 0.70), the machine's
# RSA 2048 verify ceiling (openssl speed x cores) and RSA 2048 key generation latency (median of 20).
#
#   Benchmarks/signed-requests.sh                  # 64 connections, 10 s per run
#   DURATION=5 CONNECTIONS=32 Benchmarks/signed-requests.sh
#
# Not part of the test suite. Needs wrk, openssl, curl and Python cryptography.
set -euo pipefail
# These measure the gateway, not a merchant's rate limit (100/s live, 25/s test by default): lift it.
export KEYWARD_RATE_LIMIT_LIVE=1000000 KEYWARD_RATE_LIMIT_TEST=1000000
root="$(cd "$(dirname "$0")/.." && pwd)"
connections="${CONNECTIONS:-64}"
duration="${DURATION:-10}"
http_port=18280 https_port=18643
cores=$(nproc)

echo "== building release"
(cd "$root" && swift build -c release --product keyward 2>&1 | tail -1)
bin="$(cd "$root" && swift build -c release --show-bin-path)/keyward"
work="$(mktemp -d)"
cd "$work"
cleanup() { [ -n "${server:-}" ] && kill "$server" 2>/dev/null || true; }
trap cleanup EXIT

"$bin" migrate >/dev/null
"$bin" serve --insecure-http --http-port "$http_port" --https-port "$https_port" --log-level warning 2>serve.log &
server=$!
base="http://127.0.0.1:$http_port"
merchant=$("$bin" merchant create --name bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
secret=$("$bin" keys create --merchant "$merchant" --mode test --name bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
until curl -sf -o /dev/null -H "Authorization: Bearer $secret" "$base/v1/auth/test"; do sleep 0.05; done
api() { curl -sS --fail-with-body -H "Authorization: Bearer $secret" -H 'Content-Type: application/json' "$@"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

echo "== RSA 2048 key generation through the API (median of 20)"
for _ in $(seq 1 20); do
  curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $secret" -H 'Content-Type: application/json' \
    -d '{"algorithm":"rsa-2048"}' "$base/v1/manage/signing-keys/generate"
done | sort -n | sed -n '10,11p' | python3 -c 'import sys; v=[float(x) for x in sys.stdin]; print(f"{sum(v)/len(v)*1000:.0f}")' > keygen_ms
for _ in $(seq 1 20); do
  start=$(date +%s%N); openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out /dev/null 2>/dev/null; echo $(( ($(date +%s%N) - start) / 1000000 ))
done | sort -n | sed -n '10,11p' | python3 -c 'import sys; v=[float(x) for x in sys.stdin]; print(f"{sum(v)/len(v):.0f}")' > openssl_keygen_ms

echo "== myPOS store, RSA 2048 key, pre-signed form"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out merchant.pem 2>/dev/null
openssl req -x509 -key merchant.pem -subj /CN=bench -days 30 -out merchant.crt
store=$(api -d '{"dialect":"mypos"}' "$base/v1/manage/stores")
store_id=$(echo "$store" | field '["id"]'); sid=$(echo "$store" | field '["sid"]'); wallet=$(echo "$store" | field '["wallet_number"]')
api -d "$(python3 -c 'import json; print(json.dumps({"public_key": open("merchant.crt").read()}))')" "$base/v1/manage/stores/$store_id/keys" >/dev/null
form=$(python3 "$root/Tests/peers/provider_peer.py" mypos-request merchant.pem "$sid" "$wallet" 1)
curl -sf -o /dev/null -H 'Content-Type: application/x-www-form-urlencoded' --data-binary "$form" "$base/v1/auth/test"
python3 - "$form" > mypos.lua <<'PY'
import json, sys
print('wrk.method = "POST"')
print('wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"')
print(f'wrk.body = {json.dumps(sys.argv[1])}')
PY

echo "== RFC 9421 signing key (RSA 2048), pre-signing requests"
openssl pkey -in merchant.pem -pubout -out merchant.pub
keyid=$(api -d "$(python3 -c 'import json; print(json.dumps({"public_key": open("merchant.pub").read()}))')" "$base/v1/manage/signing-keys" | field '["id"]')
count=$(( ${PRESIGNED:-250000} ))
python3 "$root/Benchmarks/presign_rfc9421.py" merchant.pem "$keyid" "$base/v1/auth/test" "$count" signed.tsv
cat > rfc9421.lua <<'LUA'
-- Each thread takes every n-th pre-signed request; a used one is never sent again (nonces are single-use).
local lines, index, step = {}, 0, 1
function setup(thread) thread:set("id", #threads_started); table.insert(threads_started, thread) end
threads_started = {}
function init(args)
  step = tonumber(args[1]); index = id
  for line in io.lines("signed.tsv") do table.insert(lines, line) end
end
function request()
  index = index + step
  local line = lines[index]
  if line == nil then wrk.thread:stop() return wrk.format("GET", "/v1/auth/test") end
  local input, signature = line:match("([^\t]+)\t([^\t]+)")
  return wrk.format("GET", "/v1/auth/test", { ["Signature-Input"] = input, ["Signature"] = signature })
end
LUA

run_wrk() {  # connections script-args... -> "rps p99_ms non2xx"
  local conns=$1; shift
  wrk -t2 -c"$conns" -d"${duration}s" --latency "$@" > wrk.out
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
wrk -t2 -c"$connections" -d3s -H "Authorization: Bearer $secret" "$base/v1/auth/test" >/dev/null
wrk -t2 -c"$connections" -d3s -s mypos.lua "$base/v1/auth/test" >/dev/null

echo "== runs ($connections connections, ${duration}s each)"
read -r key_rps key_p99 key_err < <(run_wrk "$connections" -H "Authorization: Bearer $secret" "$base/v1/auth/test")
read -r mp_rps mp_p99 mp_err < <(run_wrk "$connections" -s mypos.lua "$base/v1/auth/test")
read -r rf_rps rf_p99 rf_err < <(run_wrk "$connections" -s rfc9421.lua "$base/v1/auth/test" -- 2)
nonces=$(python3 -c "import sqlite3; print(sqlite3.connect('.keyward/keyward.sqlite').execute('select count(*) from signature_nonces').fetchone()[0])")

verify_core=$(openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048/ {print $NF}')
echo
echo "Signed requests on GET|POST /v1/auth/test, release build, loopback, $cores cores shared with wrk"
printf '  %-34s %10s %9s %8s\n' "" "req/s" "p99 ms" "non-2xx"
printf '  %-34s %10s %9s %8s\n' "secret key (reference)" "$key_rps" "$key_p99" "$key_err"
printf '  %-34s %10s %9s %8s\n' "myPOS IPC form, RSA 2048" "$mp_rps" "$mp_p99" "$mp_err"
printf '  %-34s %10s %9s %8s\n' "RFC 9421, RSA 2048, unique nonces" "$rf_rps" "$rf_p99" "$rf_err"
printf '  ratio myPOS / secret key:     %.2f  (target >= 0.70)\n' "$(echo "$mp_rps / $key_rps" | bc -l)"
printf '  ratio RFC 9421 / secret key:  %.2f  (target >= 0.70)\n' "$(echo "$rf_rps / $key_rps" | bc -l)"
printf '  RSA 2048 verify ceiling:      %s/s per core x %s cores = %.0f/s (openssl speed)\n' "$verify_core" "$cores" "$(echo "$verify_core * $cores" | bc -l)"
printf '  RSA 2048 keygen, median of 20: %s ms through the API, %s ms openssl genpkey\n' "$(cat keygen_ms)" "$(cat openssl_keygen_ms)"
printf '  nonces stored after the run:  %s (expired ones pruned by a background job every 30 s)\n' "$nonces"
