#!/usr/bin/env bash
# End-to-end check of `keyward sign` / `keyward verify` against foreign peers: keys from openssl,
# requests signed by the Python peer (Tests/peers/provider_peer.py).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$(cd "$root" && swift build --show-bin-path)/keyward"
peer="$root/Tests/peers/provider_peer.py"
work="$(mktemp -d)"
cd "$work"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out key.pem 2>/dev/null
openssl pkey -in key.pem -pubout -out pub.pem
echo "s3cret phrase" > pass.txt
openssl pkcs8 -topk8 -in key.pem -v2 aes-256-cbc -passout file:pass.txt -out enc.pem

# myPOS: a request signed by the Python peer verifies; our signature of it is identical.
form=$(python3 "$peer" mypos-request key.pem)
echo "$form" | "$bin" verify --dialect mypos --public-key pub.pem >/dev/null
theirs=$(python3 -c 'import sys,urllib.parse; print(dict(urllib.parse.parse_qsl(sys.argv[1], keep_blank_values=True))["Signature"])' "$form")
ours=$(echo "$form" | "$bin" sign --dialect mypos --key enc.pem --passphrase-file pass.txt)
[ "$ours" = "$theirs" ] || { echo "keyward sign differs from the SDK's signature"; exit 1; }
if echo "${form/Amount=23.45/Amount=23.46}" | "$bin" verify --dialect mypos --public-key pub.pem 2>reason.txt; then
  echo "a tampered myPOS form verified"; exit 1
fi
grep -q signature_invalid reason.txt

# AliKassa: our Sign verifies in Python, SHA-256 and SHA-1.
printf '{"amount":"10.00","orderId":"A-1"}' > body.json
for hash in sha256 sha1; do
  sign=$("$bin" sign --dialect alikassa --key key.pem --hash "$hash" < body.json)
  python3 "$peer" alikassa-verify pub.pem "$hash" "$sign" < body.json
  "$bin" verify --dialect alikassa --public-key pub.pem --hash "$hash" --signature "$sign" < body.json >/dev/null
done
# RFC 9421: a request signed by Python's http-message-signatures verifies with `keyward verify`;
# a changed body or URL does not, each with its reason.
rpeer="$root/Tests/peers/rfc9421_peer.py"
openssl genpkey -algorithm ED25519 -out ed.pem
openssl pkey -in ed.pem -pubout -out ed.pub
url="https://api.example/v1/payments?x=1"
python3 "$rpeer" sign ed25519 ed.pem sgk_manual "$url" "$(cat body.json)" > headers.json
header_args=()
while IFS= read -r line; do header_args+=(--header "$line"); done < <(python3 -c 'import json,sys; [print(f"{k}: {v}") for k, v in json.load(open(sys.argv[1])).items()]' headers.json)
"$bin" verify --dialect rfc9421 --public-key ed.pub --url "$url" "${header_args[@]}" < body.json >/dev/null
if printf '{"amount":"99.00","orderId":"A-1"}' | "$bin" verify --dialect rfc9421 --public-key ed.pub --url "$url" "${header_args[@]}" 2>reason.txt; then
  echo "a tampered RFC 9421 body verified"; exit 1
fi
grep -q digest_mismatch reason.txt
if "$bin" verify --dialect rfc9421 --public-key ed.pub --url "https://api.example/v1/refunds?x=1" "${header_args[@]}" < body.json 2>reason.txt; then
  echo "an RFC 9421 request verified for another URL"; exit 1
fi
grep -q signature_invalid reason.txt
# Our own signature verifies in Python.
"$bin" sign --dialect rfc9421 --key ed.pem --url "$url" --keyid sgk_manual < body.json > ours.txt
python3 - "$rpeer" ed.pub "$url" ours.txt body.json <<'PY'
import json, subprocess, sys
peer, pub, url, ours, body = sys.argv[1:]
headers = dict(line.rstrip("\n").split(": ", 1) for line in open(ours))
headers["Content-Type"] = "application/json"
subprocess.run(["python3", peer, "verify", "ed25519", pub, url, json.dumps(headers), open(body).read()], check=True)
PY
# keyward keygen: the private key never leaves this machine; openssl reads it (encrypted too), it signs
# myPOS forms that verify with the printed public key.
"$bin" keygen --algorithm rsa-2048 --out gen.pem > gen.pub
[ "$(stat -c %a gen.pem)" = 600 ] || { echo "keygen wrote a readable private key"; exit 1; }
openssl pkey -in gen.pem -pubout | cmp - gen.pub
echo "$form" | "$bin" sign --dialect mypos --key gen.pem >/dev/null
echo "a long passphrase" > long.txt
"$bin" keygen --algorithm ec-p384 --out gen-enc.pem --passphrase-file long.txt > gen-enc.pub
openssl pkey -in gen-enc.pem -passin file:long.txt -pubout | cmp - gen-enc.pub
if "$bin" keygen --algorithm ed25519 --out gen.pem >/dev/null 2>&1; then echo "keygen overwrote a key file"; exit 1; fi
"$bin" keygen --algorithm ed25519 --out gen.jwk --format jwk > gen-ed.pub
python3 "$root/Tests/peers/jwk_peer.py" matches "$(cat gen.jwk)" gen-ed.pub
# keyward jwk / jwe: our JWE opens in jwcrypto and joserfc, theirs opens with `keyward jwe decrypt`.
jose="$root/Tests/peers/jose_peer.py"
"$bin" jwk generate --crv P-384 --out ours.jwk > ours.pub.jwk
[ "$(stat -c %a ours.jwk)" = 600 ] || { echo "jwk generate wrote a readable private key"; exit 1; }
python3 "$jose" generate P-384 > theirs.jwk
python3 -c 'import json,sys; k=json.load(open(sys.argv[1])); k.pop("d"); print(json.dumps(k))' theirs.jwk > theirs.pub.jwk
for lib in joserfc jwcrypto; do
  [ "$(printf 'hello alliance' | "$bin" jwe encrypt --jwk theirs.pub.jwk | python3 "$jose" decrypt "$lib" "$(cat theirs.jwk)")" = "hello alliance" ] \
    || { echo "$lib could not open our JWE"; exit 1; }
  [ "$(printf 'hi keyward' | python3 "$jose" encrypt "$lib" "$(cat ours.pub.jwk)" ECDH-ES A128GCM | "$bin" jwe decrypt --jwk ours.jwk)" = "hi keyward" ] \
    || { echo "we could not open $lib's JWE"; exit 1; }
done
if printf 'x' | "$bin" jwe encrypt --jwk theirs.pub.jwk | "$bin" jwe decrypt --jwk ours.jwk 2>reason.txt; then echo "a JWE to another key decrypted"; exit 1; fi
grep -q decryption_failed reason.txt
echo "sign/verify tools OK"
