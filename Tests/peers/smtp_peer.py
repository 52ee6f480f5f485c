#!/usr/bin/env python3
"""A real SMTP server for Keyward's mail tests (aiosmtpd), with TLS and AUTH like a submission relay.

  smtp_peer.py PORT_FILE MAIL_DIR CERT KEY starttls|tls USER PASSWORD

Listens on 127.0.0.1 (a free port, written to PORT_FILE once ready), requires STARTTLS (or speaks
implicit TLS) and AUTH with USER/PASSWORD before accepting mail, and writes each message to
MAIL_DIR/<n>.json as {"from", "to", "data"}. Runs until its standard input closes (the test ended or died).
"""
import json
import os
import socket
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

PORT_FILE, MAIL_DIR, CERT, KEY, MODE, USER, PASSWORD = sys.argv[1:8]
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(CERT, KEY)


class Saver:
    count = 0

    async def handle_DATA(self, server, session, envelope):
        Saver.count += 1
        path = os.path.join(MAIL_DIR, f"{Saver.count}.json")
        with open(path + ".tmp", "w") as file:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                       "data": envelope.content.decode("utf-8", "replace")}, file)
        os.rename(path + ".tmp", path)
        return "250 OK stored"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == USER and auth_data.password.decode() == PASSWORD
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]

options = dict(hostname="127.0.0.1", port=port, authenticator=authenticate)
if MODE == "tls":
    # The whole connection is TLS (aiosmtpd does not count it for auth_require_tls, so it is not set).
    controller = Controller(Saver(), ssl_context=context, auth_require_tls=False, **options)
else:
    controller = Controller(Saver(), tls_context=context, require_starttls=True, auth_require_tls=True, **options)
controller.start()
with open(PORT_FILE + ".tmp", "w") as file:
    file.write(str(port))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
# The test holds our stdin open; when it ends (or crashes) the pipe closes and so do we.
reader = threading.Thread(target=sys.stdin.read, daemon=True)
reader.start()
reader.join()
controller.stop()
