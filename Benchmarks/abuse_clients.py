#!/usr/bin/env python3
"""Abusive clients for Benchmarks/abuse.sh: holds IDLE sockets open that never send a byte (plain HTTP and
TLS listeners alike, so TLS handshakes never start), SLOW posts that send headers then trickle a large body
with a bogus `Signature-Input` (unauthenticated, never finished), and HEADER trickles that never end their
header block. Whatever the server closes is opened again, until DURATION seconds pass. Prints how many
of each the server closed (the limits at work) as JSON on the last line.

usage: abuse_clients.py HOST HTTP_PORT HTTPS_PORT DURATION [IDLE] [SLOW] [HEADERS]
Loopback only.
"""
import asyncio
import json
import sys

host, http_port, https_port, duration = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
idle_count = int(sys.argv[5]) if len(sys.argv) > 5 else 2000
slow_count = int(sys.argv[6]) if len(sys.argv) > 6 else 200
header_count = int(sys.argv[7]) if len(sys.argv) > 7 else 200
assert host in ("127.0.0.1", "localhost", "::1"), "loopback only"
closed = {"idle": 0, "slow": 0, "headers": 0, "refused": 0}


async def hold(kind, port, first, trickle):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + duration
    while loop.time() < deadline:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            closed["refused"] += 1
            await asyncio.sleep(0.2)
            continue
        try:
            if first:
                writer.write(first)
                await writer.drain()
            while loop.time() < deadline:
                if trickle:
                    writer.write(trickle)
                    await writer.drain()
                # A closed socket reads EOF (or resets): the server let go of us.
                try:
                    data = await asyncio.wait_for(reader.read(4096), timeout=1.0)
                    if data == b"" or data:
                        break
                except asyncio.TimeoutError:
                    continue
            else:
                break
            closed[kind] += 1
        except (ConnectionError, OSError):
            closed[kind] += 1
        finally:
            writer.close()


async def main():
    slow_head = (f"POST /v1/payments HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                 "Signature-Input: sig1=(\"@method\");created=1;keyid=\"sgk_bogus\"\r\nSignature: sig1=:AAAA:\r\n"
                 "Content-Length: 8388608\r\n\r\n").encode()
    tasks = []
    for i in range(idle_count):
        tasks.append(hold("idle", https_port if i % 2 else http_port, None, None))
    for _ in range(slow_count):
        tasks.append(hold("slow", http_port, slow_head, b"x" * 64))
    for _ in range(header_count):
        tasks.append(hold("headers", http_port, b"GET /v1/auth/test HTTP/1.1\r\nHost: x\r\n", b"X-Slow: y\r\n"))
    await asyncio.gather(*tasks)
    print(json.dumps(closed))


asyncio.run(main())
