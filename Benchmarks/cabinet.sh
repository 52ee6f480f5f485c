#!/usr/bin/env bash
# Cabinet page render time for issue 6: the Keys page with 1,000 keys and the Certificates page with
# 1,000 certificates, signed in as a developer, one connection at a time (wrk --latency; the median is
# the server time per page plus loopback). Target < 20 ms each.
#
#   Benchmarks/cabinet.sh
#
# Not part of the test suite. Needs wrk, curl, openssl, python3.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
https_port=18846 http_port=18486
echo "== building release"
(cd "$root" && swift build -c release --product keyward 2>&1 | tail -1)
bin="$(cd "$root" && swift build -c release --show-bin-path)/keyward"
work="$(mktemp -d)"
cd "$work"
export KEYWARD_DATA_DIR="$work/data" KEYWARD_LOG_LEVEL=warning
cleanup() { [ -n "${server:-}" ] && kill "$server" 2>/dev/null || true; }
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT

merchant=$("$bin" merchant create --name bench --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
"$bin" keys create --merchant "$merchant" --mode test --count 1000 --name bench >/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout one.key -out one.crt -subj /CN=one.bench.test \
  -addext "subjectAltName=DNS:one.bench.test" -days 90 2>/dev/null
"$bin" cert upload --merchant "$merchant" --mode test one.crt one.key >/dev/null 2>&1 || true
python3 - "$work/data/keyward.sqlite" <<'PY'
import sqlite3, sys, time, random
db = sqlite3.connect(sys.argv[1])
cur = db.execute("SELECT * FROM certificates LIMIT 1"); row = cur.fetchone(); columns = [d[0] for d in cur.description]
now_ms = int(time.time() * 1000)
rows = []
for i in range(999):
    values = dict(zip(columns, row)); values.update(id="crt_bench%08d" % i, name="shop%d.bench.test" % i, not_after_ms=now_ms + random.randint(-5, 365) * 86400000)
    rows.append(tuple(values[c] for c in columns))
db.executemany("INSERT INTO certificates (%s) VALUES (%s)" % (",".join(columns), ",".join("?" * len(columns))), rows)
db.commit()
PY
link=$("$bin" user create --email bench@bench.test --merchant "$merchant" --role developer --url "https://localhost:$https_port" | sed -n 's/^setup link.*: //p')

"$bin" serve --https-port "$https_port" --http-port "$http_port" 2>serve.log &
server=$!
for _ in $(seq 1 100); do curl -s --cacert data/ca.pem "https://localhost:$https_port/healthz" >/dev/null && break; sleep 0.1; done
csrf() { sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1; }
c=$(curl -sS --cacert data/ca.pem -c jar -b jar "$link" | csrf)
curl -sS --cacert data/ca.pem -c jar -b jar -o /dev/null --data-urlencode "csrf=$c" --data-urlencode "token=${link##*token=}" \
  --data-urlencode "password=benchmark passphrase" "https://localhost:$https_port/cabinet/setup"
c=$(curl -sS --cacert data/ca.pem -c jar -b jar "https://localhost:$https_port/cabinet/login" | csrf)
curl -sS --cacert data/ca.pem -c jar -b jar -o /dev/null --data-urlencode "csrf=$c" --data-urlencode "email=bench@bench.test" \
  --data-urlencode "password=benchmark passphrase" "https://localhost:$https_port/cabinet/login"
session=$(awk '$6 == "__Host-kw_session" { print $7 }' jar)
for page in "keys?mode=test" "certificates"; do
  rows=$(curl -sS --cacert data/ca.pem -H "Cookie: __Host-kw_session=$session" "https://localhost:$https_port/cabinet/$page" | grep -c "<tr>" || true)
  median=$(wrk -t1 -c1 -d5s --latency -H "Cookie: __Host-kw_session=$session" "https://localhost:$https_port/cabinet/$page" | awk '$1 == "50%" { print $2 }')
  echo "/cabinet/$page: $rows table rows, median $median (target < 20 ms)"
done
if [ -n "${KEEP:-}" ]; then echo "server $server left running on $https_port; session $session"; fi
