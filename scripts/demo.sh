#!/usr/bin/env bash
# The whole flow on the command line, in a scratch directory:
# issuer key -> holder key -> credential (vc+sd-jwt) -> merchant request -> wallet presentation
# -> offline verification -> replay refused -> revocation -> refused.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --quiet --bin kyc-issuer --bin kyc-wallet --bin kyc-verify
bin=target/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
step() { printf '\n== %s\n' "$*"; }

step "issuer creates its signing key"
issuer_did=$($bin/kyc-issuer keygen --out "$work/issuer.jwk")
echo "$issuer_did"
printf '[[issuer]]\ndid = "%s"\nname = "Demo KYC Issuer"\n' "$issuer_did" > "$work/trust.toml"

step "customer creates a holder key in the wallet"
holder_did=$($bin/kyc-wallet keygen --out "$work/holder.jwk")
echo "$holder_did"

step "issuer signs a tier-2 credential (checks assumed done; the issuer service will run them)"
cat > "$work/subject.json" <<JSON
{"id": "$holder_did", "kycTier": 2, "ageOver18": true, "ageOver21": true,
 "countryOfResidence": "DE", "nationality": "DE", "givenName": "Erika",
 "familyName": "Mustermann", "birthDate": "1990-01-31"}
JSON
list_url=https://issuer.example/v1/status-lists/1
$bin/kyc-issuer sign --key "$work/issuer.jwk" --subject "$work/subject.json" --form sd-jwt \
  --status-list-url "$list_url" --status-index 42 > "$work/credential.sd-jwt"
$bin/kyc-issuer status-list --key "$work/issuer.jwk" --url "$list_url" > "$work/status.jwt"
$bin/kyc-verify credential "$work/credential.sd-jwt" --trust "$work/trust.toml" --status-list "$work/status.jwt"

step "merchant asks for tier >= 2 and 'over 18' only"
$bin/kyc-verify request --aud shop.example --min-tier 2 --claims ageOver18 > "$work/request.json"
cat "$work/request.json"

step "wallet presents, disclosing only ageOver18"
$bin/kyc-wallet present --key "$work/holder.jwk" --credential "$work/credential.sd-jwt" \
  --request "$work/request.json" > "$work/presentation"

step "merchant verifies offline"
$bin/kyc-verify presentation --request "$work/request.json" "$work/presentation" \
  --trust "$work/trust.toml" --status-list "$work/status.jwt" --replay-store "$work/seen.jsonl"

step "the same presentation again is a replay (exit 1 expected)"
if $bin/kyc-verify presentation --request "$work/request.json" "$work/presentation" \
  --trust "$work/trust.toml" --status-list "$work/status.jwt" --replay-store "$work/seen.jsonl"; then
  echo "replay was accepted" >&2; exit 1
fi

step "issuer revokes the credential; a fresh presentation is refused (exit 1 expected)"
$bin/kyc-issuer status-list --key "$work/issuer.jwk" --url "$list_url" --revoke 42 > "$work/status.jwt"
$bin/kyc-verify request --aud shop.example --min-tier 2 --claims ageOver18 > "$work/request.json"
$bin/kyc-wallet present --key "$work/holder.jwk" --credential "$work/credential.sd-jwt" \
  --request "$work/request.json" > "$work/presentation"
if $bin/kyc-verify presentation --request "$work/request.json" "$work/presentation" \
  --trust "$work/trust.toml" --status-list "$work/status.jwt"; then
  echo "revoked credential was accepted" >&2; exit 1
fi
step "demo complete"
