#!/usr/bin/env python3
"""JWK foreign peer on `jwcrypto`.

  jwk_peer.py matches PRIVATE_JWK_JSON PUBLIC_PEM -> exit 0 when jwcrypto loads the private JWK, it is
                                                    private, and its public part is the PEM's key
"""
import json
import sys

from jwcrypto import jwk


def main():
    command = sys.argv[1]
    if command == "matches":
        private = jwk.JWK(**json.loads(sys.argv[2]))
        if not private.has_private:
            sys.exit("not a private JWK")
        with open(sys.argv[3], "rb") as handle:
            public = jwk.JWK.from_pem(handle.read())
        if private.thumbprint() != public.thumbprint():
            sys.exit("the JWK's public part is another key")
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
