#!/usr/bin/env python3
"""Listener and body limits under abuse, against a `keyward serve` this script starts on loopback.

  limits.py KEYWARD_BINARY [--idle 300] [--posts 40] [--post-mib 8] [--wait 75] [--env NAME=VALUE ...]

Measures what issue 13 reported:
  * idle: N TCP connections to each listener that never send a byte; after --wait seconds, how many
    the server has closed (the HTTPS listener should close them after tls_handshake_timeout_seconds,
    the HTTP one after idle_timeout_seconds);
  * posts: M concurrent unauthenticated POSTs of an 8 MiB body with a bogus `Signature-Input`; the
    server's resident memory before, at its peak and after, and when the answers arrived (how much
    of its body each client had sent by then).
Prints one JSON object. Loopback only; the server runs in a fresh temporary data directory.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_for(port, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server did not listen on {port}")


def idle(port, count, wait):
    sockets = []
    for _ in range(count):
        try:
            sockets.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        except OSError:
            pass
    opened = len(sockets)
    time.sleep(wait)
    closed = 0
    for s in sockets:
        s.setblocking(False)
        try:
            closed += s.recv(1) == b""
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
        s.close()
    return {"opened": opened, "closed_after_s": wait, "closed": closed}


def post(port, mib, results, index):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    length = mib * 1024 * 1024
    start = time.time()
    sent = 0
    answer = b""
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=60)
        tls = context.wrap_socket(raw, server_hostname="localhost")
        now = int(time.time())
        head = (f"POST /v1/payments HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n"
                f"Signature-Input: sig1=(\"@method\" \"@target-uri\" \"content-digest\");created={now};keyid=\"sgk_bogus{index}\"\r\n"
                f"Signature: sig1=:AAAA:\r\nContent-Digest: sha-256=:AAAA:\r\n\r\n")
        tls.sendall(head.encode())
        chunk = b" " * 65536
        tls.setblocking(False)
        while sent < length and not answer:
            try:
                sent += tls.send(chunk[: min(len(chunk), length - sent)])
            except (ssl.SSLWantWriteError, BlockingIOError):
                time.sleep(0.001)
            try:
                answer += tls.recv(4096)
            except (ssl.SSLWantReadError, BlockingIOError):
                pass
        tls.setblocking(True)
        tls.settimeout(60)
        while b"\r\n" not in answer:
            data = tls.recv(4096)
            if not data:
                break
            answer += data
        tls.close()
    except OSError as error:
        answer = answer or str(error).encode()
    results[index] = {"status": answer.split(b"\r\n", 1)[0].decode(errors="replace"), "sent_bytes": sent,
                      "seconds": round(time.time() - start, 3)}


def posts(pid, port, count, mib):
    samples, stop = [], threading.Event()

    def sample():
        while not stop.is_set():
            samples.append(rss_kib(pid))
            time.sleep(0.05)

    before = rss_kib(pid)
    sampler = threading.Thread(target=sample)
    sampler.start()
    results = [None] * count
    threads = [threading.Thread(target=post, args=(port, mib, results, i)) for i in range(count)]
    start = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - start
    time.sleep(1)
    stop.set()
    sampler.join()
    statuses = {}
    for r in results:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    sent = sorted(r["sent_bytes"] for r in results)
    return {"clients": count, "body_mib": mib, "statuses": statuses, "seconds": round(elapsed, 2),
            "sent_bytes_median": sent[len(sent) // 2], "sent_bytes_max": sent[-1],
            "rss_mib_before": round(before / 1024, 1), "rss_mib_peak": round(max(samples + [before]) / 1024, 1),
            "rss_mib_after": round(rss_kib(pid) / 1024, 1)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--idle", type=int, default=300)
    parser.add_argument("--wait", type=float, default=75)
    parser.add_argument("--posts", type=int, default=40)
    parser.add_argument("--post-mib", type=int, default=8)
    parser.add_argument("--env", action="append", default=[])
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="keyward-limits-")
    https_port, http_port = free_port(), free_port()
    env = dict(os.environ, KEYWARD_DATA_DIR=data, KEYWARD_HOST="127.0.0.1", KEYWARD_HTTPS_PORT=str(https_port),
               KEYWARD_HTTP_PORT=str(http_port), KEYWARD_LOG_LEVEL="warning")
    for pair in args.env:
        name, _, value = pair.partition("=")
        env[name] = value
    server = subprocess.Popen([args.binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(data, "server.log"), "w"))
    try:
        wait_for(https_port)
        wait_for(http_port)
        time.sleep(1)
        report = {"binary": args.binary, "rss_mib_start": round(rss_kib(server.pid) / 1024, 1)}
        report["posts"] = posts(server.pid, https_port, args.posts, args.post_mib)
        results = {}
        threads = [threading.Thread(target=lambda name, port: results.__setitem__(name, idle(port, args.idle, args.wait)), args=(name, port))
                   for name, port in (("idle_https", https_port), ("idle_http", http_port))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        report.update(results)
        with open(os.path.join(data, "server.log")) as log:
            report["limit_log_lines"] = [line.strip() for line in log if "connection limit" in line][:5]
        print(json.dumps(report, indent=2))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
