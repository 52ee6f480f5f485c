#!/usr/bin/env bash
# Certificate benchmark for issue 5, one run, two figures:
#   (1) 20 certificates for 20 managed channels from pebble: Keyward's wall time (server start until all
#       20 channels are active; orders run concurrently) against lego issuing the same 20 names one after
#       another from the same pebble, as its CLI does. Target: ratio <= 0.3.
#   (2) the expiry scan over 100,000 stored certificates (`keyward cert scan`), target < 2 s.
#
#   Benchmarks/acme.sh
#   CERTIFICATES=200000 Benchmarks/acme.sh
#   ONLY=scan Benchmarks/acme.sh       # the expiry scan alone
#
# Not part of the test suite. Needs pebble, pebble-challtestsrv, lego, openssl, python3 (installed by .ci/run).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
count=20
certificates="${CERTIFICATES:-100000}"
acme_port=14100 management_port=15100 validation_port=5402 dns_port=8553 https_port=18845

echo "== building release"
(cd "$root" && swift build -c release --product keyward 2>&1 | tail -1)
bin="$(cd "$root" && swift build -c release --show-bin-path)/keyward"
work="$(mktemp -d)"
cd "$work"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout pebble.key -out pebble.pem -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -days 2 2>/dev/null
cat > pebble.json <<JSON
{"pebble": {"listenAddress": "127.0.0.1:$acme_port", "managementListenAddress": "127.0.0.1:$management_port",
 "certificate": "$work/pebble.pem", "privateKey": "$work/pebble.key", "httpPort": $validation_port, "tlsPort": 5401,
 "ocspResponderURL": "", "externalAccountBindingRequired": false}}
JSON
pebble-challtestsrv -dns01 "127.0.0.1:$dns_port" -http01 "" -https01 "" -tlsalpn01 "" -management 127.0.0.1:8555 -defaultIPv6 "" >challtestsrv.log 2>&1 &
pids+=($!)
PEBBLE_VA_NOSLEEP=1 pebble -config pebble.json -dnsserver "127.0.0.1:$dns_port" >pebble.log 2>&1 &
pids+=($!)
directory="https://127.0.0.1:$acme_port/dir"
for _ in $(seq 1 100); do curl -sf --cacert pebble.pem "$directory" >/dev/null && break; sleep 0.1; done

now() { python3 -c 'import time; print(time.monotonic())'; }

if [ "${ONLY:-}" != scan ]; then
echo "== (1) Keyward: $count managed channels"
export KEYWARD_DATA_DIR="$work/keyward" KEYWARD_ACME_DIRECTORY="$directory" KEYWARD_ACME_CA_BUNDLE="$work/pebble.pem" \
       KEYWARD_CERTIFICATE_CHECK_SECONDS=1 KEYWARD_LOG_LEVEL=warning
merchant=$("$bin" merchant create --name bench --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for i in $(seq 1 "$count"); do
  "$bin" channel create --merchant "$merchant" --name "shop $i" --domain "kw$i.bench.test" --ssl managed >/dev/null
done
start=$(now)
"$bin" serve --http-port "$validation_port" --https-port "$https_port" 2>serve.log &
server=$!
pids+=($server)
until "$bin" channel list --merchant "$merchant" --json | python3 -c 'import json,sys; l=json.load(sys.stdin); sys.exit(0 if all(c["status"] == "active" for c in l) else 1)'; do
  if "$bin" channel list --merchant "$merchant" --json | grep -q '"failed"'; then echo "an order failed:"; "$bin" channel list --merchant "$merchant"; exit 1; fi
  sleep 0.05
done
keyward_seconds=$(python3 -c "print(round($(now) - $start, 2))")
kill "$server"; wait "$server" 2>/dev/null || true
echo "keyward: $count certificates in $keyward_seconds s"

echo "== (1) lego: the same $count names, one after another"
start=$(now)
for i in $(seq 1 "$count"); do
  LEGO_CA_CERTIFICATES="$work/pebble.pem" lego --server "$directory" --email bench@bench.test --accept-tos --domains "lego$i.bench.test" \
    --http --http.port "127.0.0.1:$validation_port" --path "$work/lego" run >>lego.log 2>&1
done
lego_seconds=$(python3 -c "print(round($(now) - $start, 2))")
echo "lego: $count certificates in $lego_seconds s"
python3 -c "print('ratio keyward/lego: %.3f (target <= 0.3)' % ($keyward_seconds / $lego_seconds))"
else
  export KEYWARD_DATA_DIR="$work/keyward" KEYWARD_LOG_LEVEL=warning
  merchant=$("$bin" merchant create --name bench --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout one.key -out one.crt -subj /CN=one.bench.test \
    -addext "subjectAltName=DNS:one.bench.test" -days 90 2>/dev/null
  "$bin" cert upload --merchant "$merchant" one.crt one.key >/dev/null 2>&1 || true
fi

echo "== (2) expiry scan over $certificates stored certificates"
# Copies of one stored certificate with expiries spread over 0-120 days, none announced yet.
python3 - "$work/keyward/keyward.sqlite" "$certificates" <<'PY'
import sqlite3, sys, time, random
db = sqlite3.connect(sys.argv[1]); n = int(sys.argv[2])
row = db.execute("SELECT * FROM certificates LIMIT 1").fetchone()
columns = [d[0] for d in db.execute("SELECT * FROM certificates LIMIT 1").description]
now_ms = int(time.time() * 1000)
rows = []
for i in range(n):
    values = dict(zip(columns, row))
    values.update(id="crt_bench%08d" % i, not_after_ms=now_ms + random.randint(-5, 120) * 86400000, alerted_status=None, sealed_private_key=None)
    rows.append(tuple(values[c] for c in columns))
db.executemany("INSERT INTO certificates (%s) VALUES (%s)" % (",".join(columns), ",".join("?" * len(columns))), rows)
db.commit()
PY
"$bin" cert scan --json | python3 -c 'import json,sys; r=json.load(sys.stdin); print("first scan: %d changed, %.3f s (target < 2 s)" % (r["changed"], r["seconds"]))'
"$bin" cert scan --json | python3 -c 'import json,sys; r=json.load(sys.stdin); print("second scan (nothing moved): %d changed, %.3f s" % (r["changed"], r["seconds"]))'
