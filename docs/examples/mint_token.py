#!/usr/bin/env python3
"""Mints a tickcast player token with Python's standard library alone.

A token is an HS256 JSON Web Token (RFC 7519): base64url(header) "." base64url(claims)
"." base64url(HMAC-SHA256(secret, the first two parts)), with the claims
{"sub": player id, "exp": expiry in Unix seconds, "room": room id (optional)}.

    python3 docs/examples/mint_token.py --secret s3cret --player alice --room arena --ttl 600
"""
import argparse
import base64
import hashlib
import hmac
import json
import time


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint(secret: str, player: str, ttl_seconds: int, room: str | None = None) -> str:
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {"sub": player, "exp": int(time.time()) + ttl_seconds}
    if room is not None:
        claims["room"] = room
    signing_input = ".".join(
        b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    signature = hmac.new(secret.encode(), signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secret", required=True, help="the server's --auth-secret")
    parser.add_argument("--player", required=True, help="the player's id (sub)")
    parser.add_argument("--room", help="admit only to this room")
    parser.add_argument("--ttl", type=int, default=3600, help="seconds the token is valid")
    args = parser.parse_args()
    print(mint(args.secret, args.player, args.ttl, args.room))
