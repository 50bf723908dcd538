#!/usr/bin/env python3
"""A small CLI around the IETF SD-JWT reference implementation, for kyc-core's interop tests.

The reference implementation is the PyPI package `sd-jwt`
(https://github.com/openwallet-foundation-labs/sd-jwt-python), tested with 0.10.4:

    pip install sd-jwt==0.10.4

Keys are Ed25519 OKP JWKs (RFC 8037) given as JSON on the command line; every JWS is `EdDSA`.
Input (a credential or a compact SD-JWT) is read from stdin; output is written to stdout.
On any failure the script prints `sd_jwt_ref: <what>: <why>` to stderr and exits with status 1
(2 for usage errors, 3 when the `sd_jwt` package is not installed).

Subcommands:

  verify --issuer-jwk JWK --aud A --nonce N [--typ T]
      Verify an SD-JWT+KB presentation (issuer signature, disclosures, key binding with the
      expected `aud` and `nonce`); print the processed payload (disclosed claims put back).
  verify-no-kb --issuer-jwk JWK [--typ T]
      The same for an SD-JWT without key binding (a trailing KB-JWT, if any, is not checked).
  issue --issuer-jwk PRIVATE_JWK --holder-jwk PUBLIC_JWK --kid KID [--decoys]
      Issue a credential (JSON) as a `vc+sd-jwt`: every `credentialSubject` claim but `id` and
      `kycTier` selectively disclosable, `cnf.jwk` the holder key; print the compact SD-JWT with
      all disclosures.
  present --holder-jwk PRIVATE_JWK --aud A --nonce N --claims c1,c2
      Make a presentation of an issued SD-JWT disclosing only the named `credentialSubject`
      claims, with a key-binding JWT; print it.

Two things are done here on top of the library, both so that it works with EdDSA at all:

* `sd_jwt.verifier.SDJWTVerifier._verify_key_binding_jwt` (0.10.4) verifies the KB-JWT with
  `alg=DEFAULT_SIGNING_ALG` ("ES256") because `__init__` never passes `sign_alg`; jwcrypto then
  refuses every EdDSA KB-JWT with '"alg" mismatch, requested "ES256", found "EdDSA"'. The
  subclass below passes `sign_alg="EdDSA"` instead, and pins the issuer JWT to EdDSA as well
  (the library would otherwise take `alg` from the unverified header).
* The library leaves the issuer key lookup to a callback. Ours checks the header: `typ` must be
  the expected one and `kid` must be a did:key DID URL (`did:key:z…#z…`, Ed25519) naming the
  very key given with `--issuer-jwk`.
"""

import argparse
import json
import sys

try:
    from jwcrypto.jwk import JWK
    from sd_jwt.common import SDObj
    from sd_jwt.holder import SDJWTHolder
    from sd_jwt.issuer import SDJWTIssuer
    from sd_jwt.verifier import SDJWTVerifier
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"sd_jwt_ref: the reference implementation is not installed ({e}); "
          "run: pip install sd-jwt==0.10.4", file=sys.stderr)
    sys.exit(3)

ALG = "EdDSA"
# credentialSubject claims that stay in the clear (DESIGN.md "Formats").
ALWAYS_DISCLOSED = ("id", "kycTier")

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _b58decode(s: str) -> bytes:
    n = 0
    for ch in s:
        n = n * 58 + _B58.index(ch)
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return b"\x00" * (len(s) - len(s.lstrip("1"))) + raw


def did_key_x(kid: str) -> str:
    """The base64url Ed25519 key named by a did:key DID URL `did:key:z…#z…`."""
    did, sep, fragment = kid.partition("#")
    if not sep or not did.startswith("did:key:z") or did[len("did:key:"):] != fragment:
        raise ValueError(f"kid is not a did:key DID URL: {kid!r}")
    raw = _b58decode(did[len("did:key:z"):])
    if len(raw) != 34 or raw[:2] != b"\xed\x01":
        raise ValueError(f"kid is not an Ed25519 did:key: {kid!r}")
    return SDJWTVerifier._base64url_encode(raw[2:])


def load_jwk(text: str, private: bool) -> JWK:
    key = JWK.from_json(text)
    if key.get("kty") != "OKP" or key.get("crv") != "Ed25519":
        raise ValueError("keys must be Ed25519 OKP JWKs")
    if private and not key.has_private:
        raise ValueError("a private JWK (with d) is needed")
    return key


class EdDSAVerifier(SDJWTVerifier):
    """The reference verifier with EdDSA pinned for both the issuer JWT and the KB-JWT."""

    def _verify_sd_jwt(self, cb_get_issuer_key, sign_alg=None):
        super()._verify_sd_jwt(cb_get_issuer_key, sign_alg=ALG)

    def _verify_key_binding_jwt(self, expected_aud=None, expected_nonce=None, sign_alg=None):
        super()._verify_key_binding_jwt(expected_aud, expected_nonce, sign_alg=ALG)


def verify(args, stdin: str, key_binding: bool):
    issuer_key = load_jwk(args.issuer_jwk, private=False)

    def issuer_key_for(_iss, header):
        if header.get("typ") != args.typ:
            raise ValueError(f"typ is {header.get('typ')!r}, expected {args.typ!r}")
        if did_key_x(header.get("kid", "")) != issuer_key.get("x"):
            raise ValueError("kid does not name the issuer key")
        return issuer_key

    if key_binding:
        verifier = EdDSAVerifier(stdin, issuer_key_for, expected_aud=args.aud,
                                 expected_nonce=args.nonce)
    else:
        verifier = EdDSAVerifier(stdin, issuer_key_for)
    return json.dumps(verifier.get_verified_payload())


def issue(args, stdin: str):
    issuer_key = load_jwk(args.issuer_jwk, private=True)
    holder_key = load_jwk(args.holder_jwk, private=False)
    claims = json.loads(stdin)
    subject = claims["credentialSubject"]
    claims["credentialSubject"] = {
        (name if name in ALWAYS_DISCLOSED else SDObj(name)): value
        for name, value in subject.items()
    }
    issuer = SDJWTIssuer(
        claims,
        issuer_key,
        holder_key,
        sign_alg=ALG,
        add_decoy_claims=args.decoys,
        extra_header_parameters={"typ": "vc+sd-jwt", "kid": args.kid},
    )
    return issuer.sd_jwt_issuance


def present(args, stdin: str):
    holder_key = load_jwk(args.holder_jwk, private=True)
    wanted = [c for c in args.claims.split(",") if c]
    holder = SDJWTHolder(stdin)
    holder.create_presentation(
        {"credentialSubject": {c: True for c in wanted}},
        nonce=args.nonce,
        aud=args.aud,
        holder_key=holder_key,
        sign_alg=ALG,
    )
    return holder.sd_jwt_presentation


def main(argv):
    parser = argparse.ArgumentParser(prog="sd_jwt_ref", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("verify", help="verify an SD-JWT+KB presentation")
    p.add_argument("--issuer-jwk", required=True)
    p.add_argument("--aud", required=True)
    p.add_argument("--nonce", required=True)
    p.add_argument("--typ", default="vc+sd-jwt")

    p = sub.add_parser("verify-no-kb", help="verify an SD-JWT without key binding")
    p.add_argument("--issuer-jwk", required=True)
    p.add_argument("--typ", default="vc+sd-jwt")

    p = sub.add_parser("issue", help="issue a credential as vc+sd-jwt")
    p.add_argument("--issuer-jwk", required=True)
    p.add_argument("--holder-jwk", required=True)
    p.add_argument("--kid", required=True)
    p.add_argument("--decoys", action="store_true", help="add the library's decoy digests")

    p = sub.add_parser("present", help="present an SD-JWT with key binding")
    p.add_argument("--holder-jwk", required=True)
    p.add_argument("--aud", required=True)
    p.add_argument("--nonce", required=True)
    p.add_argument("--claims", required=True, help="comma-separated credentialSubject claims")

    sub.add_parser("version", help="print the installed sd-jwt version")

    args = parser.parse_args(argv)
    try:
        if args.command == "version":
            from importlib.metadata import version
            out = version("sd-jwt")
        else:
            stdin = sys.stdin.read().strip()
            if args.command == "verify":
                out = verify(args, stdin, key_binding=True)
            elif args.command == "verify-no-kb":
                out = verify(args, stdin, key_binding=False)
            elif args.command == "issue":
                out = issue(args, stdin)
            else:
                out = present(args, stdin)
    except Exception as e:  # every failure is a verdict for the caller
        print(f"sd_jwt_ref: {args.command} failed: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    sys.stdout.write(out + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
