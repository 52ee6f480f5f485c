#!/usr/bin/env bash
# `keyward cert inspect` against an openssl-built chain: a good combined file is accepted (exit 0) with
# its chain put in order; a wrong key is refused (exit 1) with its code.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$(cd "$root" && swift build --show-bin-path)/keyward"
work="$(mktemp -d)"
cd "$work"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -subj "/CN=CI Root" -days 30 \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign -out root.crt 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -subj "/CN=ci.example" -out leaf.csr 2>/dev/null
printf 'subjectAltName=DNS:ci.example\nbasicConstraints=critical,CA:FALSE\n' > leaf.ext
openssl x509 -req -in leaf.csr -CA root.crt -CAkey root.key -CAcreateserial -days 30 -extfile leaf.ext -out leaf.crt 2>/dev/null
cat root.crt leaf.key leaf.crt > combined.pem
"$bin" cert inspect combined.pem > report.txt
grep -q "names:       ci.example" report.txt
grep -q "private key: matches" report.txt
"$bin" cert inspect --json leaf.crt leaf.key root.crt | python3 -c 'import json,sys; r=json.load(sys.stdin); assert r["acceptable"] and r["chain"][1]["subject"] == "CN=CI Root", r'
if "$bin" cert inspect leaf.crt root.key > wrong.txt; then echo "a wrong key was accepted"; exit 1; fi
grep -q "key_mismatch" wrong.txt
echo "cert tools OK"
