#!/usr/bin/env bash
# Runs schemathesis against a live `keyward serve` (SQLite, HTTPS on loopback) with a test-mode secret
# key: every operation of /v1/openapi.json is fuzzed, and no answer may be a 5xx or disagree with the
# document (status, content type, headers, body schema).
#
# Nothing leaves the machine: no upstream is configured (forwarded paths answer 404), ACME and the
# domain-verification resolver point at closed loopback ports, and the webhook (merchant-wide) cannot be
# set with a test key (checked below), so no delivery can go anywhere.
#
# Locally: `swift build` first, then `bash .ci/schemathesis.sh` (pip install schemathesis).
# SCHEMATHESIS_MAX_EXAMPLES (default 20) bounds the fuzzing per operation; SCHEMATHESIS_SEED (default 13) varies it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# The served document is generated from .ci/openapi-document.py: they must agree.
generated="$(mktemp)"
python3 "$root/.ci/openapi-document.py" "$generated" >/dev/null
cmp -s "$generated" "$root/Sources/KeywardServer/API/OpenAPI/OpenAPIDocument.swift" \
  || { echo "OpenAPIDocument.swift differs from .ci/openapi-document.py: run python3 .ci/openapi-document.py"; exit 1; }
bin="$(cd "$root" && swift build --show-bin-path)/keyward"
work="$(mktemp -d)"
cd "$work"
https_port=18643
export KEYWARD_HTTPS_PORT=$https_port KEYWARD_HTTP_PORT=18280 KEYWARD_HOST=127.0.0.1
export KEYWARD_ACME_DIRECTORY=https://127.0.0.1:9/directory KEYWARD_VERIFICATION_DNS_RESOLVER=127.0.0.1:9
export KEYWARD_CERTIFICATE_CHECK_SECONDS=86400
# The fuzzer is one client sending as fast as it can: a test-mode limit of 25/s would answer most of its
# calls 429 before they reach a handler (429 is documented; this lets the handlers be fuzzed).
export KEYWARD_RATE_LIMIT_TEST=1000000
# A scanner key of our own, so leak reports reach their signature check instead of 503 not_configured.
openssl ecparam -name prime256v1 -genkey -noout -out scanner.pem 2>/dev/null
openssl ec -in scanner.pem -pubout -out scanner.pub 2>/dev/null
python3 -c 'import json; print(json.dumps({"public_keys": [{"key_identifier": "schemathesis", "key": open("scanner.pub").read(), "is_current": True}]}))' > scanner-keys.json
export KEYWARD_SECRET_SCANNING_KEYS="$work/scanner-keys.json"
unset KEYWARD_CONFIG_FILE KEYWARD_UPSTREAM_URL KEYWARD_SMTP_HOST KEYWARD_WEBHOOK_ALLOWED_NETWORKS KEYWARD_DATABASE_URL
"$bin" serve >serve.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
base="https://localhost:$https_port"
for _ in $(seq 1 150); do [ -f .keyward/ca.pem ] && curl -s --cacert .keyward/ca.pem "$base/healthz" >/dev/null && break; sleep 0.2; done

merchant=$("$bin" merchant create --name "Schemathesis" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
secret=$("$bin" keys create --merchant "$merchant" --mode test --name fuzz --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')

# The document is public.
curl -sS --fail-with-body --cacert .keyward/ca.pem "$base/v1/openapi.json" | python3 -c 'import json,sys; assert json.load(sys.stdin)["openapi"].startswith("3.1")'
# A test key cannot point the merchant's webhook anywhere (merchant-wide state takes a live key).
status=$(curl -s -o answer.json -w '%{http_code}' --cacert .keyward/ca.pem -H "Authorization: Bearer $secret" -H 'Content-Type: application/json' \
  -X PUT -d '{"url":"https://example.com/hook"}' "$base/v1/manage/webhook")
[ "$status" = 403 ] && grep -q live_key_required answer.json || { echo "PUT webhook with a test key answered $status: $(cat answer.json)"; exit 1; }

# One object of each kind, so the operations on `{id}` reach their handlers' success paths and not only 404
# (the fuzzed secret key is never among them: revoking it would end the run).
api() { curl -sS --fail-with-body --cacert .keyward/ca.pem -H "Authorization: Bearer $secret" -H 'Content-Type: application/json' "$@"; }
object_id() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
other_key=$(api -d '{"name":"fuzzed"}' "$base/v1/manage/keys" | object_id)
payment_key=$(api -d '{"label":"fuzzed"}' "$base/v1/manage/payment-keys" | object_id)
signing_key=$(api -d '{"algorithm":"ed25519","keep_private_key":true}' "$base/v1/manage/signing-keys/generate" | object_id)
store=$(api -d '{"dialect":"mypos","name":"fuzzed"}' "$base/v1/manage/stores" | object_id)
api -d '{"keep_private_key":true}' "$base/v1/manage/stores/$store/keys/generate" >/dev/null
jwk=$(api -d '{}' "$base/v1/manage/jwks/generate" | object_id)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout shop.key -subj /CN=fuzz.example.com \
  -addext subjectAltName=DNS:fuzz.example.com -days 30 -out shop.crt 2>/dev/null
certificate=$(python3 -c 'import json; print(json.dumps({"type": "ssl", "files": [open("shop.crt").read(), open("shop.key").read()]}))' \
  | api -d @- "$base/v1/manage/certificates" | object_id)
channel=$(api -d "{\"name\":\"fuzzed\",\"domains\":[\"fuzz.example.com\"],\"ssl_mode\":\"uploaded\",\"certificate_id\":\"$certificate\"}" "$base/v1/manage/channels" | object_id)
request=$(api -d '{"type":"apple_pay_merchant_identity","name":"fuzzed"}' "$base/v1/manage/apple-pay/certificate-requests" | object_id)
{
  echo '[parameters]'
  echo '"path.index" = 1'
  for pair in "keys/:$other_key" "payment-keys/:$payment_key" "signing-keys/:$signing_key" "stores/:$store" "jwks/:$jwk" \
              "certificates/:$certificate" "channels/:$channel" "apple-pay/certificate-requests/:$request"; do
    printf '[[operations]]\ninclude-path-regex = "^/v1/manage/%s"\nparameters = { "path.id" = "%s" }\n' "${pair%%:*}" "${pair#*:}"
  done
} > schemathesis.toml

started=$SECONDS
set +e
timeout 600 schemathesis --config-file schemathesis.toml run "$base/v1/openapi.json" \
  --tls-verify .keyward/ca.pem \
  -H "Authorization: Bearer $secret" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --phases examples,coverage,fuzzing \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-20}" \
  --workers 2 --request-timeout 20 --seed ${SCHEMATHESIS_SEED:-13} \
  --suppress-health-check all \
  --report junit --report-dir "$work/report" \
  --output-truncate false
result=$?
set -e
echo "schemathesis took $((SECONDS - started)) s"
if grep -E ' status=5[0-9][0-9]( |$)' serve.log | head -5 | grep -q .; then echo "the server answered 5xx"; result=1; fi
if grep -q "$secret" serve.log; then echo "the server log contains the secret key"; result=1; fi
[ $result = 0 ] || { echo "schemathesis found problems (server log: $work/serve.log)"; exit 1; }
echo "schemathesis OK"
