#!/usr/bin/env bash
# The whole flow on the embedded defaults, step by step, in a scratch directory:
#   issuer service -> wallet applies -> checks and risk decide -> a reviewer decides ->
#   the wallet collects -> the shops sync the status lists -> a shop asks (recording its nonce)
#   -> the wallet presents -> offline verification (issuer stopped) -> replay refused -> a second
#   shop reuses the credential -> revocation -> sync -> refused -> the auditor replays the log.
# Then the selective-disclosure checkout with a tier-2 credential signed by the issuer's key
# directly, since the document and biometric checks that earn tier 2 have no provider here.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --quiet --bin kyc-issuer --bin kyc-wallet --bin kyc-verify
bin=$PWD/target/release
work=$(mktemp -d)
issuer_pid=
cleanup() { [ -n "$issuer_pid" ] && kill "$issuer_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
expect_refusal() { if "$@"; then echo "demo: this should have been refused" >&2; exit 1; fi; }

step "the issuer operator configures the service: two staff tokens, stored as digests only"
read -r reviewer_token reviewer_digest < <($bin/kyc-issuer staff new-token | paste -sd' ')
read -r admin_token admin_digest < <($bin/kyc-issuer staff new-token | paste -sd' ')
public_url=https://kyc.example
cat > "$work/issuer.toml" <<TOML
listen = "127.0.0.1:0"
data_dir = "$work/issuer-data"
public_url = "$public_url"
[[staff]]
id = "rita"
role = "reviewer"
token_sha256 = "$reviewer_digest"
[[staff]]
id = "adam"
role = "admin"
token_sha256 = "$admin_digest"
TOML
start_issuer() {
  $bin/kyc-issuer serve --config "$work/issuer.toml" > "$work/issuer.out" 2> "$work/issuer.log" &
  issuer_pid=$!
  for _ in $(seq 100); do grep -q '^listening on' "$work/issuer.out" 2>/dev/null && break; sleep 0.1; done
  issuer=http://$(sed -n 's/^listening on //p' "$work/issuer.out")
}
start_issuer
echo "issuer listening at $issuer (its public URL is $public_url)"
curl -s "$issuer/healthz"; echo

step "the customer creates a wallet (a did:key in a password-protected keystore)"
export KYC_WALLET_PASSWORD=demo-password-1234
wallet=(--wallet "$work/wallet")
$bin/kyc-wallet init "${wallet[@]}"

step "the customer applies once: identity data and the document's MRZ"
cat > "$work/identity.json" <<'JSON'
{"givenName": "Erika", "familyName": "Mustermann", "birthDate": "1990-01-31",
 "nationality": "DE", "residence": {"country": "DE", "city": "Köln"},
 "documentNumber": "C01X00T47"}
JSON
printf 'P<D<<MUSTERMANN<<ERIKA<<<<<<<<<<<<<<<<<<<<<<\nC01X00T478D<<9001310F3508013<<<<<<<<<<<<<<06\n' > "$work/mrz.txt"
$bin/kyc-wallet apply "${wallet[@]}" --issuer "$issuer" --audience "$public_url" --jurisdiction EU \
  --identity "$work/identity.json" --document-type passport --mrz "$work/mrz.txt"
echo "(the document check really ran: the MRZ's check digits, expiry, and its consistency with"
echo " the submitted data. No screening or biometric provider is configured here, so those checks"
echo " say 'not performed' and the risk engine sends the case to a person instead of passing it)"

step "a reviewer sees the queue (reasons, no personal data) and approves the tier the checks earned"
curl -s -H "Authorization: Bearer $reviewer_token" "$issuer/v1/review/queue"; echo
application=$(curl -s -H "Authorization: Bearer $reviewer_token" "$issuer/v1/review/queue" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p' | head -1)
echo "asking for tier 2 is refused: the checks it needs did not run"
curl -s -H "Authorization: Bearer $reviewer_token" -H 'content-type: application/json' \
  -d '{"action":"approve","tier":2}' "$issuer/v1/review/$application"; echo
curl -s -H "Authorization: Bearer $reviewer_token" -H 'content-type: application/json' \
  -d '{"action":"approve","tier":0,"reasons":["demo"]}' "$issuer/v1/review/$application" > /dev/null
$bin/kyc-wallet status "${wallet[@]}"

step "the customer collects the credential (both forms) into the wallet"
$bin/kyc-wallet collect "${wallet[@]}"
$bin/kyc-wallet list "${wallet[@]}"
credential=$($bin/kyc-wallet list "${wallet[@]}" --json | sed -n 's/.*"id":"\(urn:uuid:[^"]*\)".*/\1/p' | head -1)
issuer_did=$($bin/kyc-issuer did --key "$work/issuer-data/issuer-key.jwk")
printf '[[issuer]]\ndid = "%s"\nname = "Demo KYC Issuer"\n' "$issuer_did" > "$work/trust.toml"

step "while online, the shop syncs the issuer's status lists (verified against its trust file)"
$bin/kyc-verify status sync --issuer "$issuer" --trust "$work/trust.toml" --cache "$work/status-cache"
$bin/kyc-wallet show "${wallet[@]}" "$credential" --check-status
# Every shop check below: offline, status list required and at most an hour old, nonces recorded.
verify() { $bin/kyc-verify presentation --trust "$work/trust.toml" --status-cache "$work/status-cache" \
  --require-status --max-status-age 3600 "$@"; }

step "the issuer goes offline; a shop asks for any KYC'd customer (tier >= 0) and verifies offline"
kill "$issuer_pid"; wait "$issuer_pid" 2>/dev/null || true; issuer_pid=
$bin/kyc-verify request --aud shop-a.example --min-tier 0 --replay-store "$work/nonces-a.jsonl" \
  > "$work/request-a.json"
$bin/kyc-wallet present "${wallet[@]}" --request "$work/request-a.json" > "$work/presentation-a"
verify --request "$work/request-a.json" "$work/presentation-a" --replay-store "$work/nonces-a.jsonl"

step "the same presentation again is a replay; shown to another shop it is for the wrong request"
expect_refusal verify --request "$work/request-a.json" "$work/presentation-a" \
  --replay-store "$work/nonces-a.jsonl"
$bin/kyc-verify request --aud shop-b.example --min-tier 0 --replay-store "$work/nonces-b.jsonl" \
  > "$work/request-b.json"
expect_refusal verify --request "$work/request-b.json" "$work/presentation-a" \
  --replay-store "$work/nonces-b.jsonl"

step "the second shop gets its own answer from the same credential"
$bin/kyc-wallet present "${wallet[@]}" --request "$work/request-b.json" > "$work/presentation-b"
verify --request "$work/request-b.json" "$work/presentation-b" --replay-store "$work/nonces-b.jsonl"

step "the issuer is back; an admin revokes the credential; the shop syncs the status list"
start_issuer
curl -s -o /dev/null -w 'revoke: HTTP %{http_code}\n' -H "Authorization: Bearer $admin_token" \
  -H 'content-type: application/json' -d '{"reason":"customer_request"}' \
  "$issuer/v1/credentials/$credential/revoke"
$bin/kyc-verify status sync --issuer "$issuer" --trust "$work/trust.toml" --cache "$work/status-cache"
$bin/kyc-verify request --aud shop-a.example --min-tier 0 --replay-store "$work/nonces-a.jsonl" \
  > "$work/request-a2.json"
$bin/kyc-wallet present "${wallet[@]}" --request "$work/request-a2.json" > "$work/presentation-a2"
expect_refusal verify --request "$work/request-a2.json" "$work/presentation-a2" \
  --replay-store "$work/nonces-a.jsonl"

step "an auditor replays the exported audit log against the issuer's signed checkpoint"
kill "$issuer_pid"; wait "$issuer_pid" 2>/dev/null || true; issuer_pid=
$bin/kyc-issuer audit export --config "$work/issuer.toml" --out "$work/audit.jsonl"
$bin/kyc-issuer audit verifier-key --config "$work/issuer.toml" > "$work/issuer.vkey"
head -c 400 "$work/audit.jsonl"; echo " …"
$bin/kyc-verify audit replay --log "$work/audit.jsonl" --checkpoint "$work/audit.jsonl.checkpoint" \
  --key "$work/issuer.vkey" --state "$work/auditor-state.json"
echo "a log with one line removed is caught:"
sed '3d' "$work/audit.jsonl" > "$work/audit-tampered.jsonl"
expect_refusal $bin/kyc-verify audit replay --log "$work/audit-tampered.jsonl" \
  --checkpoint "$work/audit.jsonl.checkpoint" --key "$work/issuer.vkey"

step "selective disclosure at checkout: a tier-2 credential, the shop asks only 'over 18'"
echo "(signed with the issuer's key directly: the checks that earn tier 2 need providers)"
holder_did=$($bin/kyc-wallet did "${wallet[@]}")
$bin/kyc-wallet keygen --out "$work/holder2.jwk" > "$work/holder2.did"
cat > "$work/subject.json" <<JSON
{"id": "$(cat "$work/holder2.did")", "kycTier": 2, "ageOver18": true, "ageOver21": true,
 "countryOfResidence": "DE", "nationality": "DE", "givenName": "Erika",
 "familyName": "Mustermann", "birthDate": "1990-01-31"}
JSON
$bin/kyc-issuer sign --key "$work/issuer-data/issuer-key.jwk" --subject "$work/subject.json" \
  --form sd-jwt --status-list-url "$public_url/v1/status-lists/1" --status-index 4242 > "$work/tier2.sd-jwt"
$bin/kyc-verify request --aud shop-c.example --min-tier 2 --claims ageOver18 \
  --replay-store "$work/nonces-c.jsonl" > "$work/request-c.json"
$bin/kyc-wallet present --key "$work/holder2.jwk" --credential "$work/tier2.sd-jwt" \
  --request "$work/request-c.json" > "$work/presentation-c"
verify --request "$work/request-c.json" "$work/presentation-c" --replay-store "$work/nonces-c.jsonl"
echo "(the shop learned the tier and ageOver18, not the name or the birth date; holder $holder_did"
echo " applied above, a second holder key shows the signing path)"
step "demo complete"
