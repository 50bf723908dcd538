//! The relying party's side of reusable KYC credentials: which issuers to trust, what to ask
//! for, and offline verification producing one verdict.
//!
//! # Layout
//! - [`trust`]: the trust file: issuers, their keys and each key's service window (rotation).
//! - [`verdict`]: the typed verdict printed by `kyc-verify`, its error codes, and
//!   [`verdict::Refusal`], this relying party's own reasons.
//! - [`check`]: building a request ([`issue_request`]); credential and presentation checks:
//!   signature (via `kyc-core`), trust and key windows, validity window, revocation status,
//!   request policy and replay.
//! - [`replay`]: the nonces issued and spent (in memory, or a locked append-only file).
//! - [`status_cache`]: status lists fetched while online, verified, and read offline.
//! - [`qr`]: requests and presentations as QR codes (terminal, PNG).
//! - [`audit`]: the auditor: log replay against signed checkpoints, single proofs.
//! - `cli` (feature `cli`): what the `kyc-verify` and `kyc-wallet` command lines share: input
//!   read with a bound, status lists fetched over HTTP.
//!
//! # A shop's backend
//!
//! Build a request, hand it to the customer's wallet, verify what comes back, act on the
//! verdict. Nothing on this path touches the network.
//!
//! ```
//! use chrono::{Duration, Utc};
//! use kyc_core::{presentation, sd_jwt, DidKey, KycCredential, KycSubject, KycTier};
//! use kyc_verifier::replay::MemoryReplayStore;
//! use kyc_verifier::status_cache::StatusLists;
//! use kyc_verifier::{issue_request, verify_presentation, StatusPolicy, TrustList};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let now = Utc::now();
//! # let (issuer_key, issuer) = DidKey::generate();
//! # let (holder_key, holder) = DidKey::generate();
//! # let subject = KycSubject {
//! #     id: holder.as_str().into(), kyc_tier: KycTier::Verified,
//! #     assurance_level: KycTier::Verified.assurance_level(), age_over_18: Some(true),
//! #     age_over_21: None, country_of_residence: None, nationality: None,
//! #     given_name: None, family_name: None, birth_date: None,
//! # };
//! # let credential = KycCredential::new(&issuer, subject, now - Duration::days(1), None);
//! # let issued = sd_jwt::issue(&credential, &issuer_key)?;
//! # let trust_file = format!("[[issuer]]\ndid = \"{issuer}\"\nname = \"Example KYC\"\n");
//! // Once, at start: the trust file and the status lists synced by `kyc-verify status sync`
//! // (`status_cache::load`); here no list, and none required.
//! let trust = TrustList::from_toml(&trust_file)?;
//! let lists = StatusLists::default();
//! let status = StatusPolicy { lists: Some(&lists), max_age: Some(Duration::hours(24)), require: false };
//! let mut nonces = MemoryReplayStore::default();
//!
//! // At checkout: ask for tier 2 and "over 18", for the next five minutes.
//! let request = issue_request(&mut nonces, "shop.example", KycTier::Verified, &["ageOver18"],
//!     Utc::now(), Duration::minutes(5))?;
//! let json = serde_json::to_string(&request)?; // to the wallet, e.g. as a QR code
//!
//! // The wallet answers (here: `kyc_core` on the holder's side).
//! let answer = presentation::present(&issued, &request, &holder_key, Utc::now())?;
//!
//! let verdict = verify_presentation(&answer, &request, &trust, &status, &mut nonces, Utc::now())?;
//! assert!(verdict.valid, "{:?}", verdict.errors);
//! assert_eq!(verdict.kyc_tier, Some(2));
//! assert_eq!(verdict.disclosed.as_ref().unwrap()["ageOver18"], true);
//!
//! // The same answer again is a replay.
//! let again = verify_presentation(&answer, &request, &trust, &status, &mut nonces, Utc::now())?;
//! assert!(again.has_error("replayed"));
//! # drop(json);
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

pub mod audit;
pub mod check;
#[cfg(feature = "cli")]
pub mod cli;
pub mod qr;
pub mod replay;
pub mod status_cache;
pub mod trust;
pub mod verdict;

pub use check::{issue_request, verify_credential, verify_presentation, StatusPolicy};
pub use trust::TrustList;
pub use verdict::Verdict;
