#!/usr/bin/env bash
# JWE benchmark for issue 4 (Alliance Bank sessions), one run, four figures:
#   (a) the ceiling: swift-crypto P-384 key generation + ECDH pairs/s on one core (what each encrypt must do);
#   (b) our JWE encrypt and decrypt ops/s in-process on one core (ECDH-ES+A256KW, A256GCM, P-384);
#   (c) joserfc doing the same in Python on one core;
#   (d) POST /api-gateway/authorize_virtual_device sessions/s over HTTPS on both cores (wrk, release build).
# Targets: (b) >= 0.85 x (a); (b) >= joserfc; (d) >= 1.5 x joserfc's one-core encrypt rate.
#
#   Benchmarks/jwe.sh            # 5 s per figure
#   SECONDS_EACH=2 Benchmarks/jwe.sh
#
# Not part of the test suite. Needs wrk, curl, Python joserfc and jwcrypto.
set -euo pipefail
# These measure the gateway, not a merchant's rate limit (100/s live, 25/s test by default): lift it.
export KEYWARD_RATE_LIMIT_LIVE=1000000 KEYWARD_RATE_LIMIT_TEST=1000000
root="$(cd "$(dirname "$0")/.." && pwd)"
each="${SECONDS_EACH:-5}"
connections="${CONNECTIONS:-32}"
http_port=18480 https_port=18843

echo "== building release"
(cd "$root" && swift build -c release --product keyward 2>&1 | tail -1 && swift build -c release --product keyward-bench 2>&1 | tail -1)
bindir="$(cd "$root" && swift build -c release --show-bin-path)"
work="$(mktemp -d)"
cd "$work"
cleanup() { [ -n "${server:-}" ] && kill "$server" 2>/dev/null || true; }
trap cleanup EXIT

echo "== (a) and (b): in-process, one core"
read -r ab < <(taskset -c 0 "$bindir/keyward-bench" jwe "$each")
echo "$ab"
echo "== (c): joserfc, one core"
read -r c < <(taskset -c 0 python3 "$root/Benchmarks/joserfc_rate.py" "$each")
echo "$c"

echo "== (d): authorize_virtual_device over HTTPS"
"$bindir/keyward" migrate >/dev/null
"$bindir/keyward" serve --http-port "$http_port" --https-port "$https_port" --log-level warning 2>serve.log &
server=$!
merchant=$("$bindir/keyward" merchant create --name bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
secret=$("$bindir/keyward" keys create --merchant "$merchant" --mode test --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
base="https://localhost:$https_port"
until curl -sf --cacert .keyward/ca.pem -o /dev/null -H "Authorization: Bearer $secret" "$base/v1/auth/test"; do sleep 0.05; done
python3 "$root/Tests/peers/jose_peer.py" generate P-384 > merchant.jwk
body=$(python3 -c 'import json; k=json.load(open("merchant.jwk")); k.pop("d"); print(json.dumps({"jwk": json.dumps(k)}))')
curl -sf --cacert .keyward/ca.pem -H "Authorization: Bearer $secret" -H 'Content-Type: application/json' -d "$body" "$base/v1/manage/jwks" >/dev/null
code=$(curl -sf --cacert .keyward/ca.pem -H "Authorization: Bearer $secret" "$base/v1/manage/service-code" | python3 -c 'import json,sys; print(json.load(sys.stdin)["service_code"])')
cat > authorize.lua <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["x-api_version"] = "V1"
wrk.body = '{"serviceCode":"$code"}'
LUA
wrk -t2 -c"$connections" -d2s -s authorize.lua "$base/api-gateway/authorize_virtual_device" >/dev/null
wrk -t2 -c"$connections" -d"${each}s" --latency -s authorize.lua "$base/api-gateway/authorize_virtual_device" > wrk.out
d=$(python3 -c 'import re; t=open("wrk.out").read(); print(int(float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))))')
errors=$(grep -oE "Non-2xx or 3xx responses: [0-9]+" wrk.out | grep -oE "[0-9]+$" || echo 0)
sessions=$(python3 -c "import sqlite3; print(sqlite3.connect('.keyward/keyward.sqlite').execute('select count(*) from device_sessions').fetchone()[0])")

python3 - "$ab" "$c" "$d" "$errors" "$sessions" <<'PY'
import json, sys
ab, c = json.loads(sys.argv[1]), json.loads(sys.argv[2])
d, errors, sessions = int(sys.argv[3]), sys.argv[4], sys.argv[5]
print()
print("JWE (ECDH-ES+A256KW, A256GCM, P-384), release build")
print(f"  (a) swift-crypto P-384 keygen + ECDH, one core:   {ab['keygen_ecdh_per_s']:>7}/s")
print(f"  (b) keyward JWE encrypt, one core:                {ab['jwe_encrypt_per_s']:>7}/s   ratio to (a) {ab['jwe_encrypt_per_s'] / ab['keygen_ecdh_per_s']:.2f} (target >= 0.85)")
print(f"      keyward JWE decrypt, one core:                {ab['jwe_decrypt_per_s']:>7}/s")
print(f"  (c) joserfc encrypt / decrypt, one core:          {c['encrypt_per_s']:>7}/s / {c['decrypt_per_s']}/s   keyward/joserfc encrypt {ab['jwe_encrypt_per_s'] / c['encrypt_per_s']:.2f}, decrypt {ab['jwe_decrypt_per_s'] / c['decrypt_per_s']:.2f} (target >= 1)")
print(f"  (d) authorize_virtual_device over HTTPS, 2 cores: {d:>7}/s   ratio to joserfc one-core encrypt {d / c['encrypt_per_s']:.2f} (target >= 1.5); non-2xx {errors}; sessions stored {sessions}")
PY
