#!/usr/bin/env bash
# Replays the README's curl walkthrough against a real `keyward serve` over HTTPS with the printed CA.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$(cd "$root" && swift build --show-bin-path)/keyward"
work="$(mktemp -d)"
cd "$work"
export KEYWARD_HTTPS_PORT=18443 KEYWARD_HTTP_PORT=18080
"$bin" serve >serve.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -f .keyward/ca.pem ] && curl -s --cacert .keyward/ca.pem https://localhost:18443/healthz >/dev/null && break; sleep 0.1; done

merchant=$("$bin" merchant create --name "Acme Payments" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
secret=$("$bin" keys create --merchant "$merchant" --mode test --name backend --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
answer=$(curl -sS --fail-with-body --cacert .keyward/ca.pem -H "Authorization: Bearer $secret" https://localhost:18443/v1/auth/test)
echo "auth/test: $answer"
echo "$answer" | grep -q "\"merchant_id\":\"$merchant\""

status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $secret" http://localhost:18080/v1/auth/test)
[ "$status" = 403 ] || { echo "plain HTTP answered $status, expected 403"; exit 1; }

# RFC 9421: register an Ed25519 key, sign with the Python http-message-signatures package, call over HTTPS.
peer="$root/Tests/peers/rfc9421_peer.py"
openssl genpkey -algorithm ED25519 -out sign.pem
openssl pkey -in sign.pem -pubout -out sign.pub
body=$(python3 -c 'import json,sys; print(json.dumps({"name": "python client", "public_key": open("sign.pub").read()}))')
signing_key=$(curl -sS --fail-with-body --cacert .keyward/ca.pem -H "Authorization: Bearer $secret" -H 'Content-Type: application/json' \
  -d "$body" https://localhost:18443/v1/manage/signing-keys | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
headers=$(python3 "$peer" sign ed25519 sign.pem "$signing_key" https://localhost:18443/v1/auth/test "")
args=()
while IFS= read -r line; do args+=(-H "$line"); done < <(echo "$headers" | python3 -c 'import json,sys; [print(f"{k}: {v}") for k, v in json.load(sys.stdin).items() if k.lower().startswith("signature")]')
signed=$(curl -sS --fail-with-body --cacert .keyward/ca.pem "${args[@]}" https://localhost:18443/v1/auth/test)
echo "signed auth/test: $signed"
echo "$signed" | grep -q "\"key_id\":\"$signing_key\""
replay=$(curl -s -o /dev/null -w '%{http_code}' --cacert .keyward/ca.pem "${args[@]}" https://localhost:18443/v1/auth/test)
[ "$replay" = 401 ] || { echo "a replayed signature answered $replay"; exit 1; }

# A key generated on site (private key shown once), a request signed by `keyward sign --dialect rfc9421`.
generated=$(curl -sS --fail-with-body --cacert .keyward/ca.pem -H "Authorization: Bearer $secret" -H 'Content-Type: application/json' \
  -d '{"algorithm":"ed25519","name":"cli"}' https://localhost:18443/v1/manage/signing-keys/generate)
echo "$generated" | python3 -c 'import json,sys; print(json.load(sys.stdin)["private_key"], end="")' > generated.pem
generated_id=$(echo "$generated" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
args=()
while IFS= read -r line; do args+=(-H "$line"); done < <(printf '{"amount":"1.00"}' | "$bin" sign --dialect rfc9421 --key generated.pem \
  --keyid "$generated_id" --url https://localhost:18443/v1/payments)
status=$(curl -s -o /dev/null -w '%{http_code}' --cacert .keyward/ca.pem "${args[@]}" -H 'Content-Type: application/json' \
  --data-binary '{"amount":"1.00"}' https://localhost:18443/v1/payments)
[ "$status" = 404 ] || { echo "CLI-signed request answered $status, expected 404 no_upstream after authentication"; exit 1; }
status=$(curl -s -o /dev/null -w '%{http_code}' --cacert .keyward/ca.pem "${args[@]}" -H 'Content-Type: application/json' \
  --data-binary '{"amount":"9.00"}' https://localhost:18443/v1/payments)
[ "$status" = 401 ] || { echo "the same signature sent again with another body answered $status"; exit 1; }

# myPOS IPC: a store, the merchant's certificate (openssl) under key index 1, a form signed by the Python
# peer the way the myPOS SDK signs, posted over HTTPS; our answer verifies with the downloaded platform certificate.
provider_peer="$root/Tests/peers/provider_peer.py"
api() { curl -sS --fail-with-body --cacert .keyward/ca.pem -H "Authorization: Bearer $secret" -H 'Content-Type: application/json' "$@"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out shop.pem 2>/dev/null
openssl req -x509 -key shop.pem -subj /CN=shop -days 365 -out shop.crt
store=$(api -d '{"dialect":"mypos","name":"Web shop"}' https://localhost:18443/v1/manage/stores)
store_id=$(echo "$store" | field '["id"]'); sid=$(echo "$store" | field '["sid"]'); wallet=$(echo "$store" | field '["wallet_number"]')
certificate_body=$(python3 -c 'import json; print(json.dumps({"public_key": open("shop.crt").read()}))')
api -d "$certificate_body" "https://localhost:18443/v1/manage/stores/$store_id/keys" >/dev/null
api -o platform.crt "https://localhost:18443/v1/manage/stores/$store_id/keys/1/platform-certificate"
form=$(python3 "$provider_peer" mypos-request shop.pem "$sid" "$wallet" 1)
mypos_answer=$(curl -sS --fail-with-body --cacert .keyward/ca.pem -H 'Content-Type: application/x-www-form-urlencoded' \
  --data-binary "$form" https://localhost:18443/vmp/checkout-test)
echo "myPOS answer: $mypos_answer"
python3 "$provider_peer" mypos-verify platform.crt "$mypos_answer"
echo "$mypos_answer" | "$bin" verify --dialect mypos --public-key platform.crt >/dev/null
status=$(curl -s -o /dev/null -w '%{http_code}' --cacert .keyward/ca.pem -H 'Content-Type: application/x-www-form-urlencoded' \
  --data-binary "${form/Amount=23.45/Amount=99.99}" https://localhost:18443/vmp/checkout-test)
[ "$status" = 401 ] || { echo "a tampered myPOS form answered $status"; exit 1; }

# AliKassa: the raw body signed by `openssl dgst -sha256 -sign`, Account and Sign headers.
kassa=$(api -d '{"dialect":"alikassa","name":"Kiosk"}' https://localhost:18443/v1/manage/stores)
kassa_id=$(echo "$kassa" | field '["id"]'); account=$(echo "$kassa" | field '["account"]')
api -d "$certificate_body" "https://localhost:18443/v1/manage/stores/$kassa_id/keys" >/dev/null
printf '{"amount":"10.00","orderId":"K-1"}' > kassa.json
sign=$(openssl dgst -sha256 -sign shop.pem kassa.json | base64 -w0)
kassa_answer=$(curl -sS --fail-with-body --cacert .keyward/ca.pem -H "Account: $account" -H "Sign: $sign" -H 'Content-Type: application/json' \
  --data-binary @kassa.json https://localhost:18443/v1/auth/test)
echo "AliKassa auth/test: $kassa_answer"
echo "$kassa_answer" | grep -q '"scheme":"alikassa"'

key_id=$(echo "$answer" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key_id"])')
"$bin" keys revoke --merchant "$merchant" --mode test "$key_id"
for _ in $(seq 1 20); do
  status=$(curl -s -o /dev/null -w '%{http_code}' --cacert .keyward/ca.pem -H "Authorization: Bearer $secret" https://localhost:18443/v1/auth/test)
  [ "$status" = 401 ] && break
  sleep 0.1
done
[ "$status" = 401 ] || { echo "revoked key still answered $status"; exit 1; }
hash=$("$bin" order-hash --key 11111 --mid mid-0-1 --order 99 --amount 20 --currency EGP)
[ "$hash" = 606a8a1307d64caf4e2e9bb724738f115a8972c27eccb2a8acd9194c357e4bec ] || { echo "order hash $hash"; exit 1; }
if grep -q "$secret" serve.log; then echo "the server log contains a secret key"; exit 1; fi
# The cabinet: the first owner's setup link, a password, sign-in over HTTPS with curl's cookie jar.
link=$("$bin" user create --email owner@acme.example --merchant "$merchant" --role developer --url https://localhost:18443 | sed -n 's/^setup link.*: //p')
page=$(curl -sS --fail-with-body --cacert .keyward/ca.pem -c jar -b jar "$link")
csrf=$(echo "$page" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
token=${link##*token=}
curl -sS --cacert .keyward/ca.pem -c jar -b jar -o /dev/null -w '%{http_code}\n' --data-urlencode "csrf=$csrf" --data-urlencode "token=$token" \
  --data-urlencode "password=walkthrough passphrase" https://localhost:18443/cabinet/setup | grep -q 303
page=$(curl -sS --cacert .keyward/ca.pem -c jar -b jar https://localhost:18443/cabinet/login)
csrf=$(echo "$page" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
curl -sS --cacert .keyward/ca.pem -c jar -b jar -o /dev/null --data-urlencode "csrf=$csrf" --data-urlencode "email=owner@acme.example" \
  --data-urlencode "password=walkthrough passphrase" https://localhost:18443/cabinet/login
curl -sS --fail-with-body --cacert .keyward/ca.pem -b jar https://localhost:18443/cabinet | grep -q "Signed in as owner@acme.example"
echo "cabinet sign-in OK"
# A forgotten password: the operator prints a one-time reset link; it sets a new password once.
link=$("$bin" user reset --email owner@acme.example --url https://localhost:18443 | sed -n 's/^reset link.*: //p')
page=$(curl -sS --fail-with-body --cacert .keyward/ca.pem -c jar2 -b jar2 "$link")
csrf=$(echo "$page" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
curl -sS --cacert .keyward/ca.pem -c jar2 -b jar2 -o /dev/null -w '%{http_code}\n' --data-urlencode "csrf=$csrf" --data-urlencode "token=${link##*token=}" \
  --data-urlencode "password=a new walkthrough passphrase" https://localhost:18443/cabinet/reset | grep -q 303
curl -sS --cacert .keyward/ca.pem -b jar -o /dev/null -w '%{redirect_url}\n' https://localhost:18443/cabinet | grep -q /cabinet/login
echo "cabinet password reset OK"

# Every management change above is in the audit log with one vocabulary whichever way it came (the API's key,
# the CLI's operator), and its chain is intact.
"$bin" audit export --merchant "$merchant" | python3 -c '
import json, sys
entries = [json.loads(line) for line in sys.stdin]
seen = {(e["action"], e["actor_type"]) for e in entries}
for expected in [("merchant.create", "operator"), ("secret_key.create", "operator"), ("signing_key.save", "key"),
                 ("signing_key.generate", "key"), ("store.create", "key"), ("store_key.save", "key"),
                 ("secret_key.revoke", "operator"), ("member.invite Developer", "operator")]:
    assert expected in seen, (expected, sorted(seen))
'
"$bin" audit verify

# What the server said at start (README, Logs): each listener's address as people type it, what plain HTTP
# is for; and on SIGTERM a graceful stop with a line as it begins and one when it is over.
grep -q "serving HTTPS on 127.0.0.1:18443;" serve.log || { echo "no HTTPS start line:"; cat serve.log; exit 1; }
grep -q "plain HTTP listener is on 127.0.0.1:18080: ACME HTTP-01" serve.log || { echo "no plain HTTP start line:"; cat serve.log; exit 1; }
if grep -q "\[IPv4\]" serve.log; then echo "an address printed in NIO's form:"; grep "\[IPv4\]" serve.log; exit 1; fi
kill -TERM "$server"
stopped=0
wait "$server" || stopped=$?
[ "$stopped" = 0 ] || { echo "keyward serve exited $stopped on SIGTERM"; cat serve.log; exit 1; }
grep -q "is shutting down" serve.log && grep -q "Keyward stopped gracefully in " serve.log || { echo "no shutdown lines:"; tail serve.log; exit 1; }
echo "README walkthrough OK"
