#!/usr/bin/env bash
# End-to-end check of `keyward sign` / `keyward verify` against foreign peers: keys from openssl,
# requests signed by the Python peer (Tests/KeywardCryptoTests/peers/provider_peer.py).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$(cd "$root" && swift build --show-bin-path)/keyward"
peer="$root/Tests/KeywardCryptoTests/peers/provider_peer.py"
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
echo "sign/verify tools OK"
