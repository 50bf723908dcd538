#!/usr/bin/env bash
# The whole flow on the embedded defaults, step by step, in a scratch directory:
#   issuer service with biometrics (dlib, offline) and a sanctions list -> the customer's
#   captures -> the wallet answers the liveness challenge and applies -> every check clear:
#   tier 2 approved automatically, no reviewer -> the wallet collects -> the shops sync the
#   status lists -> a shop asks for tier 2 and "over 18" only (recording its nonce) -> the wallet
#   presents -> offline verification (issuer stopped) -> replay refused -> a second shop reuses
#   the credential -> revocation -> sync -> refused -> a customer on the sanctions list is
#   rejected and reported to compliance -> the auditor replays the log.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --quiet --bin kyc-issuer --bin kyc-wallet --bin kyc-verify \
  --bin kyc-sample-images
bin=$PWD/target/release
work=$(mktemp -d)
issuer_pid=
cleanup() { [ -n "$issuer_pid" ] && kill "$issuer_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
expect_refusal() { if "$@"; then echo "demo: this should have been refused" >&2; exit 1; fi; }
# json_get FIELD: the first "FIELD":value in the JSON on stdin (strings without their quotes).
json_get() { grep -o "\"$1\":\(\"[^\"]*\"\|[0-9a-z]*\)" | head -1 | cut -d: -f2- | tr -d '"'; }

step "the issuer operator configures the service: staff tokens (stored as digests only),"
echo "   biometrics on (dlib on this machine, offline) and a sanctions list"
read -r reviewer_token reviewer_digest < <($bin/kyc-issuer staff new-token | paste -sd' ')
read -r admin_token admin_digest < <($bin/kyc-issuer staff new-token | paste -sd' ')
read -r compliance_token compliance_digest < <($bin/kyc-issuer staff new-token | paste -sd' ')
public_url=https://kyc.example
# A small sanctions list in FollowTheMoney JSON Lines (what OpenSanctions publishes). None of
# these is the first customer; the last one is the second customer's.
cat > "$work/sanctions.ftm.jsonl" <<'JSONL'
{"id":"DEMO-1","schema":"Person","properties":{"name":["Erik Mustafa"],"birthDate":["1971-03-02"],"nationality":["tr"],"topics":["sanction"]}}
{"id":"DEMO-2","schema":"Person","properties":{"name":["Maria Weiss"],"birthDate":["1958-11-20"],"nationality":["at"],"topics":["sanction"]}}
{"id":"DEMO-3","schema":"Organization","properties":{"name":["Acme Dual-Use Trading Ltd"],"topics":["sanction"]}}
{"id":"DEMO-4","schema":"Person","properties":{"name":["Ivan Petrovich Sidorov"],"birthDate":["1961-08-04"],"nationality":["ru"],"topics":["sanction"]}}
JSONL
cat > "$work/issuer.toml" <<TOML
listen = "127.0.0.1:0"
data_dir = "$work/issuer-data"
public_url = "$public_url"
[biometric]
enabled = true
provider = "local"
[screening]
[[screening.lists]]
name = "demo-sanctions"
format = "ftm"
path = "$work/sanctions.ftm.jsonl"
[[staff]]
id = "rita"
role = "reviewer"
token_sha256 = "$reviewer_digest"
[[staff]]
id = "adam"
role = "admin"
token_sha256 = "$admin_digest"
[[staff]]
id = "carla"
role = "compliance"
token_sha256 = "$compliance_digest"
TOML
start_issuer() {
  $bin/kyc-issuer serve --config "$work/issuer.toml" > "$work/issuer.out" 2> "$work/issuer.log" &
  issuer_pid=$!
  for _ in $(seq 300); do grep -q '^listening on' "$work/issuer.out" 2>/dev/null && break; sleep 0.1; done
  issuer=http://$(sed -n 's/^listening on //p' "$work/issuer.out")
}
start_issuer
echo "issuer listening at $issuer (its public URL is $public_url)"
curl -s "$issuer/healthz"; echo
entities=$(sed 's/\x1b\[[0-9;]*m//g' "$work/issuer.log" | grep 'screening lists loaded' \
  | grep -o 'entities=[0-9]*' | cut -d= -f2)
echo "the issuer loaded the screening list: ${entities:?} entities (people; the organisation"
echo " on it is not screened against a person's name)"

step "the customer's phone captures a selfie, the ID card and a few head turns"
$bin/kyc-sample-images --out "$work/captures"
echo "(sample captures from public test photos: the face is Barack Obama's, the card's portrait"
echo " comes from another photo of him. The identity below is the fixture 'Erika Mustermann':"
echo " the face match compares the card's portrait with the selfie, never a face with a name,"
echo " and the issuer reads the MRZ the application carries as text, not the card's picture)"

step "the customer creates a wallet (a did:key in a password-protected keystore)"
export KYC_WALLET_PASSWORD=demo-password-1234
wallet=(--wallet "$work/wallet")
$bin/kyc-wallet init "${wallet[@]}"

step "the customer applies once: identity data, the ID card (image and MRZ), selfie, liveness"
cat > "$work/identity.json" <<'JSON'
{"givenName": "Erika", "familyName": "Mustermann", "birthDate": "1990-01-31",
 "nationality": "DE", "residence": {"country": "DE", "city": "Köln"},
 "documentNumber": "C01X00T47"}
JSON
printf 'IDD<<C01X00T478<<<<<<<<<<<<<<<\n9001310F3508013D<<<<<<<<<<<<<6\nMUSTERMANN<<ERIKA<<<<<<<<<<<<<\n' \
  > "$work/mrz.txt"
$bin/kyc-wallet apply "${wallet[@]}" --issuer "$issuer" --audience "$public_url" --jurisdiction EU \
  --identity "$work/identity.json" --document-type id_card --mrz "$work/mrz.txt" \
  --document-image "$work/captures/document.png" --selfie "$work/captures/selfie.jpg" \
  --frames "$work/captures/frames"
echo
echo "(the wallet asked for a liveness challenge and sent the captures in its order; a phone"
echo " wallet would film the head turns at that moment)"

step "the decision: every check clear, tier 2 approved automatically, no reviewer involved"
$bin/kyc-wallet status "${wallet[@]}" --json > "$work/status.json"
state=$(json_get state < "$work/status.json")
tier=$(sed 's/.*"decision"://' "$work/status.json" | json_get tier)
reviewer=$(sed 's/.*"decision"://' "$work/status.json" | json_get reviewer)
[ "$reviewer" = null ] && reviewer=
echo "state: $state, tier: $tier, reviewer: ${reviewer:-none}"
[ "$state" = approved ] && [ "$tier" = 2 ] && [ -z "$reviewer" ] \
  || { echo "demo: expected an automatic tier-2 approval" >&2; exit 1; }
for check in identity screening document biometric risk; do
  grep -q "\"check\":\"$check\",\"outcome\":\"clear\"" "$work/status.json" \
    || { echo "demo: the $check check should be clear" >&2; exit 1; }
done
echo "identity, screening, document (MRZ), biometric (face match + liveness) and risk: all clear"
echo "screening ran against the $entities entities of 'demo-sanctions': clear"
echo "the review queue (nothing for a person to do):"
curl -s -H "Authorization: Bearer $reviewer_token" "$issuer/v1/review/queue"; echo

step "the customer collects the credential (both forms) into the wallet"
$bin/kyc-wallet collect "${wallet[@]}"
$bin/kyc-wallet list "${wallet[@]}"
credential=$($bin/kyc-wallet list "${wallet[@]}" --json | sed -n 's/.*"id":"\(urn:uuid:[^"]*\)".*/\1/p' | head -1)
issuer_did=$($bin/kyc-issuer did --key "$work/issuer-data/issuer-key.jwk")
printf '[[issuer]]\ndid = "%s"\nname = "Demo KYC Issuer"\n' "$issuer_did" > "$work/trust.toml"

# sync_status: the shop fetches every status list the issuer publishes, checks each against its
# trust file, and caches it; one line of summary (the per-list report is in the scratch dir).
sync_status() {
  if ! $bin/kyc-verify status sync --issuer "$issuer" --trust "$work/trust.toml" \
      --cache "$work/status-cache" > "$work/sync.json" 2> "$work/sync.log"; then
    cat "$work/sync.log" >&2; exit 1
  fi
  echo "the shop verified and cached $(grep -c '^cached' "$work/sync.log") status lists, e.g.:"
  head -1 "$work/sync.log"
}

step "while online, the shop syncs the issuer's status lists (verified against its trust file)"
sync_status
$bin/kyc-wallet show "${wallet[@]}" "$credential" --check-status
# Every shop check below: offline, status list required and at most an hour old, nonces recorded.
verify() { $bin/kyc-verify presentation --trust "$work/trust.toml" --status-cache "$work/status-cache" \
  --require-status --max-status-age 3600 "$@"; }

step "the issuer goes offline; a shop asks for tier 2 and 'over 18' only, and verifies offline"
kill "$issuer_pid"; wait "$issuer_pid" 2>/dev/null || true; issuer_pid=
$bin/kyc-verify request --aud shop-a.example --min-tier 2 --claims ageOver18 \
  --replay-store "$work/nonces-a.jsonl" > "$work/request-a.json"
$bin/kyc-wallet present "${wallet[@]}" --request "$work/request-a.json" > "$work/presentation-a"
verify --request "$work/request-a.json" "$work/presentation-a" --replay-store "$work/nonces-a.jsonl"
echo "(the shop learned the tier and ageOver18, not the name or the birth date)"

step "the same presentation again is a replay; shown to another shop it is for the wrong request"
expect_refusal verify --request "$work/request-a.json" "$work/presentation-a" \
  --replay-store "$work/nonces-a.jsonl"
$bin/kyc-verify request --aud shop-b.example --min-tier 2 --claims ageOver18,countryOfResidence \
  --replay-store "$work/nonces-b.jsonl" > "$work/request-b.json"
expect_refusal verify --request "$work/request-b.json" "$work/presentation-a" \
  --replay-store "$work/nonces-b.jsonl"

step "the second shop (which also asks for the country) gets its own answer from the same credential"
$bin/kyc-wallet present "${wallet[@]}" --request "$work/request-b.json" > "$work/presentation-b"
verify --request "$work/request-b.json" "$work/presentation-b" --replay-store "$work/nonces-b.jsonl"

step "the issuer is back; an admin revokes the credential; the shop syncs the status list"
start_issuer
curl -s -o /dev/null -w 'revoke: HTTP %{http_code}\n' -H "Authorization: Bearer $admin_token" \
  -H 'content-type: application/json' -d '{"reason":"customer_request"}' \
  "$issuer/v1/credentials/$credential/revoke"
sync_status

step "the revoked credential is refused at the next checkout"
$bin/kyc-verify request --aud shop-a.example --min-tier 2 --claims ageOver18 \
  --replay-store "$work/nonces-a.jsonl" > "$work/request-a2.json"
$bin/kyc-wallet present "${wallet[@]}" --request "$work/request-a2.json" > "$work/presentation-a2"
expect_refusal verify --request "$work/request-a2.json" "$work/presentation-a2" \
  --replay-store "$work/nonces-a.jsonl"

step "a second customer, whose name and birth date are on the sanctions list, applies"
wallet2=(--wallet "$work/wallet-2")
$bin/kyc-wallet init "${wallet2[@]}" > /dev/null
cat > "$work/identity-2.json" <<'JSON'
{"givenName": "Ivan Petrovich", "familyName": "Sidorov",
 "birthDate": "1961-08-04", "nationality": "RU", "residence": {"country": "DE", "city": "Bonn"},
 "documentNumber": "750123456"}
JSON
printf 'IDRUS7501234569<<<<<<<<<<<<<<<\n6108045M3101012RUS<<<<<<<<<<<4\nSIDOROV<<IVAN<PETROVICH<<<<<<<\n' \
  > "$work/mrz-2.txt"
$bin/kyc-wallet apply "${wallet2[@]}" --issuer "$issuer" --audience "$public_url" --jurisdiction EU \
  --identity "$work/identity-2.json" --document-type id_card --mrz "$work/mrz-2.txt"
$bin/kyc-wallet status "${wallet2[@]}" --json > "$work/status-2.json"
[ "$(json_get state < "$work/status-2.json")" = rejected ] \
  || { echo "demo: the sanctioned customer should have been rejected" >&2; exit 1; }
echo
echo "the compliance officer reads the report (pseudonymous subject, list ids, no names):"
curl -s -H "Authorization: Bearer $compliance_token" "$issuer/v1/reports"; echo
echo "a reviewer's token does not open the reports:"
curl -s -o /dev/null -w 'HTTP %{http_code}\n' -H "Authorization: Bearer $reviewer_token" "$issuer/v1/reports"

step "an auditor replays the exported audit log against the issuer's signed checkpoint"
kill "$issuer_pid"; wait "$issuer_pid" 2>/dev/null || true; issuer_pid=
$bin/kyc-issuer audit export --config "$work/issuer.toml" --out "$work/audit.jsonl"
$bin/kyc-issuer audit verifier-key --config "$work/issuer.toml" > "$work/issuer.vkey"
head -c 400 "$work/audit.jsonl"; echo " …"
$bin/kyc-verify audit replay --log "$work/audit.jsonl" --checkpoint "$work/audit.jsonl.checkpoint" \
  --key "$work/issuer.vkey" --state "$work/auditor-state.json"
echo "the status list the shop cached is the one the log implies (published through it, every"
echo "logged revocation set):"
for cached in "$work"/status-cache/*.json; do
  $bin/kyc-verify audit status-list --list "$cached" --log "$work/audit.jsonl" \
    --checkpoint "$work/audit.jsonl.checkpoint" --key "$work/issuer.vkey"
done
echo "a log with one line removed is caught:"
sed '3d' "$work/audit.jsonl" > "$work/audit-tampered.jsonl"
expect_refusal $bin/kyc-verify audit replay --log "$work/audit-tampered.jsonl" \
  --checkpoint "$work/audit.jsonl.checkpoint" --key "$work/issuer.vkey"
step "demo complete"
