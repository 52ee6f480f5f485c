#!/usr/bin/env python3
"""Crash consistency: kill -9 a `keyward serve` while clients create, roll and revoke secret keys and create
payment keys, restart it, and check that every acknowledged change survived, that no key is half-rolled,
and that `keyward audit verify` holds.

usage: crash_consistency.py KEYWARD_BINARY [--database-url postgres://…] [--rounds N]

Talks to loopback only. Exit 0 when every round holds; 1 with what broke.
"""
import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import requests


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


RUNNING = []


class Server:
    def __init__(self, binary, env):
        self.binary, self.env, self.process = binary, env, None
        RUNNING.append(self)
        self.base = f"https://localhost:{env['KEYWARD_HTTPS_PORT']}"
        self.ca = os.path.join(env["KEYWARD_DATA_DIR"], "ca.pem")

    def start(self):
        log = open(os.path.join(self.env["KEYWARD_DATA_DIR"], "serve.log"), "ab")
        self.process = subprocess.Popen([self.binary, "serve"], env=self.env, stdout=log, stderr=log)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the server exited with {self.process.returncode} on start; see {log.name}")
            try:
                if os.path.exists(self.ca) and requests.get(self.base + "/healthz", verify=self.ca, timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise SystemExit("the server did not answer within 60 s")

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


def cli(binary, env, *args):
    out = subprocess.run([binary, *args], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"keyward {' '.join(args)} failed: {out.stderr[-2000:]}")
    return out.stdout


class Ledger:
    """What the server acknowledged (2xx answers), and what was in flight when it died."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pool = []           # (id, secret) of acknowledged keys nobody rolled or revoked yet
        self.created = {}        # id -> secret
        self.rolled = {}         # old id -> (new id, new secret)
        self.revoked = set()
        self.payment_keys = set()
        self.in_flight = set()   # keys whose roll or revocation got no answer: either outcome is right

    def take(self):
        with self.lock:
            if not self.pool:
                return None
            return self.pool.pop(random.randrange(len(self.pool)))

    def add(self, key_id, secret):
        with self.lock:
            self.created[key_id] = secret
            self.pool.append((key_id, secret))


def worker(kind, base, ca, admin, ledger, stop):
    picked = None
    session = requests.Session()
    session.verify = ca
    session.trust_env = False   # REQUESTS_CA_BUNDLE would otherwise override the verify above
    session.headers["Authorization"] = f"Bearer {admin}"
    n = 0
    while not stop.is_set():
        n += 1
        try:
            if kind == "create":
                r = session.post(base + "/v1/manage/keys", json={"name": f"crash-{n}"}, timeout=5)
                if r.status_code == 201:
                    ledger.add(r.json()["id"], r.json()["secret"])
            elif kind == "roll":
                picked = ledger.take()
                if picked is None:
                    time.sleep(0.01)
                    continue
                r = session.post(base + f"/v1/manage/keys/{picked[0]}/roll", json={"overlap_seconds": 3600}, timeout=5)
                if r.status_code == 201:
                    with ledger.lock:
                        ledger.rolled[picked[0]] = (r.json()["id"], r.json()["secret"])
                    ledger.add(r.json()["id"], r.json()["secret"])
            elif kind == "revoke":
                picked = ledger.take()
                if picked is None:
                    time.sleep(0.01)
                    continue
                r = session.post(base + f"/v1/manage/keys/{picked[0]}/revoke", timeout=5)
                if r.status_code == 200:
                    with ledger.lock:
                        ledger.revoked.add(picked[0])
            elif kind == "payment":
                r = session.post(base + "/v1/manage/payment-keys", json={"label": f"crash-{n}"}, timeout=5)
                if r.status_code == 201:
                    with ledger.lock:
                        ledger.payment_keys.add(r.json()["id"])
        except requests.RequestException:
            # The server is down: what was in flight is unacknowledged, and may or may not have happened.
            if kind in ("roll", "revoke") and picked is not None:
                with ledger.lock:
                    ledger.in_flight.add(picked[0])
            time.sleep(0.01)


def list_all(session, base, path):
    items, after = [], None
    while True:
        url = base + path + "?limit=1000" + (f"&starting_after={after}" if after else "")
        page = session.get(url, timeout=30).json()
        items += page["data"]
        if not page.get("has_more"):
            return items
        after = page["data"][-1]["id"]


def check(base, ca, admin, merchant, ledger, binary, env, failures):
    session = requests.Session()
    session.verify = ca
    session.trust_env = False   # REQUESTS_CA_BUNDLE would otherwise override the verify above
    session.headers["Authorization"] = f"Bearer {admin}"

    def auth_status(secret):
        return requests.get(base + "/v1/auth/test", headers={"Authorization": f"Bearer {secret}"}, verify=ca, timeout=10).status_code

    keys = {k["id"]: k for k in list_all(session, base, "/v1/manage/keys")}
    for key_id, secret in ledger.created.items():
        if key_id not in keys:
            failures.append(f"acknowledged key {key_id} is gone after the crash")
            continue
        if key_id in ledger.revoked:
            if keys[key_id].get("revoked_at") is None or auth_status(secret) != 401:
                failures.append(f"acknowledged revocation of {key_id} was lost")
        elif key_id in ledger.rolled:
            new_id, new_secret = ledger.rolled[key_id]
            if keys[key_id].get("replaced_by") != new_id or keys[key_id].get("expires_at") is None:
                failures.append(f"acknowledged roll {key_id} -> {new_id} is not recorded on the old key: {keys[key_id]}")
            # Both work during the overlap (unless the successor was itself revoked later).
            statuses = (auth_status(secret), auth_status(new_secret))
            expected_new = {401} if new_id in ledger.revoked else {200, 401} if new_id in ledger.in_flight else {200}
            if statuses[0] != 200 or statuses[1] not in expected_new:
                failures.append(f"after the roll {key_id} -> {new_id}, the keys answer {statuses} during the overlap")
        elif key_id not in ledger.in_flight and auth_status(secret) != 200:
            failures.append(f"acknowledged key {key_id} no longer authenticates")
    # No half-rolled key, acknowledged or not: a replacement and its predecessor agree, and the old key
    # has its overlap expiry exactly when it has a replacement.
    for key in keys.values():
        if key.get("replaced_by"):
            successor = keys.get(key.get("replaced_by"))
            if successor is None or successor.get("rolled_from") != key["id"] or key.get("expires_at") is None:
                failures.append(f"half-rolled key {key['id']}: {key} / {successor}")
        if key.get("rolled_from"):
            predecessor = keys.get(key["rolled_from"])
            if predecessor is None or predecessor.get("replaced_by") != key["id"]:
                failures.append(f"key {key['id']} says it replaced {key['rolled_from']}, which does not say so")
    payment = {k["id"] for k in list_all(session, base, "/v1/manage/payment-keys")}
    for missing in ledger.payment_keys - payment:
        failures.append(f"acknowledged payment key {missing} is gone after the crash")
    # Every acknowledged change is in the audit log (an answer is sent only after its entry is written).
    export = subprocess.run([binary, "audit", "export", "--merchant", merchant], env=env, capture_output=True, text=True)
    entries = [json.loads(line) for line in export.stdout.splitlines() if line.strip()]
    audited = {(e["action"], e.get("target_id")) for e in entries}
    targets = {e.get("target_id") for e in entries}
    rolled_new = {new for new, _ in ledger.rolled.values()}
    for key_id in ledger.created:
        if key_id not in rolled_new and ("secret_key.create", key_id) not in audited:
            failures.append(f"acknowledged creation of {key_id} has no audit entry")
    for key_id in ledger.revoked:
        if ("secret_key.revoke", key_id) not in audited:
            failures.append(f"acknowledged revocation of {key_id} has no audit entry")
    for old, (new, _) in ledger.rolled.items():
        if ("secret_key.roll", old) not in audited and ("secret_key.roll", new) not in audited:
            failures.append(f"acknowledged roll of {old} has no audit entry")
    for key_id in ledger.payment_keys - targets:
        failures.append(f"acknowledged payment key {key_id} has no audit entry")
    verify = subprocess.run([binary, "audit", "verify"], env=env, capture_output=True, text=True)
    if verify.returncode != 0:
        failures.append(f"audit verify failed after the crash: {verify.stdout[-500:]} {verify.stderr[-500:]}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--database-url")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="keyward-crash-")
    env = dict(os.environ, KEYWARD_DATA_DIR=os.path.join(work, "data"), KEYWARD_HTTPS_PORT=str(free_port()),
               KEYWARD_HTTP_PORT=str(free_port()), KEYWARD_LOG_LEVEL="warning",
               # The clients here call far faster than a merchant's default limit; this is not about limits.
               KEYWARD_RATE_LIMIT_LIVE="1000000", KEYWARD_RATE_LIMIT_TEST="1000000")
    os.makedirs(env["KEYWARD_DATA_DIR"])
    if args.database_url:
        env["KEYWARD_DATABASE_URL"] = args.database_url
    server = Server(args.binary, env)
    server.start()
    merchant = json.loads(cli(args.binary, env, "merchant", "create", "--name", "Crash Test", "--json"))["id"]
    admin = json.loads(cli(args.binary, env, "keys", "create", "--merchant", merchant, "--mode", "live", "--name", "admin", "--json"))["secret"]
    ledger = Ledger()
    failures = []
    for round_number in range(1, args.rounds + 1):
        stop = threading.Event()
        threads = [threading.Thread(target=worker, args=(kind, server.base, server.ca, admin, ledger, stop))
                   for kind in ["create", "create", "roll", "revoke", "payment"]]
        for thread in threads:
            thread.start()
        time.sleep(random.uniform(1.0, 2.5))
        server.kill()
        stop.set()
        for thread in threads:
            thread.join()
        server.start()
        before = len(failures)
        check(server.base, server.ca, admin, merchant, ledger, args.binary, env, failures)
        print(f"round {round_number}: {len(ledger.created)} keys created, {len(ledger.rolled)} rolled, {len(ledger.revoked)} revoked, "
              f"{len(ledger.payment_keys)} payment keys acknowledged so far; {len(failures) - before} problems")
    server.stop()
    for failure in failures[:50]:
        print("FAIL:", failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    try:
        main()
    finally:
        # Never leave a server behind, whatever failed.
        for server in RUNNING:
            if server.process and server.process.poll() is None:
                server.process.kill()
