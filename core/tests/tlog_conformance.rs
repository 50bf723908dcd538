//! RFC 6962 / RFC 9162 proof verification against transparency-dev/merkle's test data
//! (`testdata/`, commit 417fb0c314750d94e53942e9f92e79b6d35915db, Apache-2.0).
//!
//! The data lives outside the project: set `KYC_CONFORMANCE_VECTORS` to the vectors folder
//! (`.ci/run` does) to run this; unset, it is skipped. Every file under `rfc6962/inclusion/` and
//! `rfc6962/consistency/` must pass when `wantErr` is false and fail when it is true. The happy
//! paths, which are over the 8-leaf reference tree, also check proof generation.

use std::cell::Cell;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use kyc_core::tlog::merkle::{self, Hash};
use kyc_core::tlog::Tree;
use serde::Deserialize;
use sha2::{Digest, Sha256};

const VECTORS_ENV: &str = "KYC_CONFORMANCE_VECTORS";

/// The RFC 6962 reference tree's leaves, in hex (shared/vectors/README.md; RFC 6962 test data).
const REFERENCE_LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct InclusionProbe {
    leaf_idx: u64,
    tree_size: u64,
    root: String,
    leaf_hash: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyProbe {
    size1: u64,
    size2: u64,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
    desc: String,
    #[serde(rename = "wantErr")]
    want_err: bool,
}

/// A hash given to the verifier. A value that is not 32 bytes cannot be a [`Hash`], so the
/// probe is malformed and must fail before verification.
fn hash(b64: &str) -> Result<Hash, String> {
    let bytes = B64
        .decode(b64)
        .map_err(|e| format!("bad base64 {b64:?}: {e}"))?;
    Hash::try_from(bytes.as_slice()).map_err(|_| format!("{}-byte hash", bytes.len()))
}

/// A root given to the verifier. transparency-dev's verifier takes roots as byte strings and
/// only compares them, and a few `additional` probes use placeholders such as "don't care 2"
/// that are not 32 bytes, expecting equal placeholders to compare equal. Our roots are typed
/// [`Hash`]es, so a placeholder stands in as `SHA-256("placeholder root" || bytes)`: equal
/// placeholders stay equal, different ones differ, and none equals a real root.
fn root(b64: &str) -> Result<Hash, String> {
    let bytes = B64
        .decode(b64)
        .map_err(|e| format!("bad base64 {b64:?}: {e}"))?;
    Ok(match <Hash>::try_from(bytes.as_slice()) {
        Ok(hash) => hash,
        Err(_) => Hash(
            Sha256::new()
                .chain_update(b"placeholder root")
                .chain_update(&bytes)
                .finalize()
                .into(),
        ),
    })
}

fn proof(hashes: &Option<Vec<String>>) -> Result<Vec<Hash>, String> {
    hashes.iter().flatten().map(|h| hash(h)).collect()
}

fn reference_tree() -> Tree {
    let leaves = REFERENCE_LEAVES.iter().map(|hex| {
        let data: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| {
                u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or_else(|e| panic!("{hex}: {e}"))
            })
            .collect();
        merkle::leaf_hash(&data)
    });
    Tree::from_leaves(leaves.collect())
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .path();
        if path.is_dir() {
            files_under(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "json") {
            out.push(path);
        }
    }
}

/// Runs `check` on every probe file under `rfc6962/<kind>`; returns how many ran.
fn run(kind: &str, check: impl Fn(&Path, &str) -> Result<(), String>) -> usize {
    let Some(root) = std::env::var_os(VECTORS_ENV) else {
        eprintln!("{VECTORS_ENV} is not set: skipping the RFC 6962 {kind} conformance vectors");
        return 0;
    };
    let dir = Path::new(&root).join("rfc6962").join(kind);
    let mut files = Vec::new();
    files_under(&dir, &mut files);
    files.sort();
    let mut failures = Vec::new();
    for file in &files {
        let name = file
            .strip_prefix(&root)
            .unwrap_or(file)
            .display()
            .to_string();
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{name}: {e}"));
        if let Err(why) = check(file, &text) {
            failures.push(format!("{name}: {why}"));
        }
    }
    assert!(!files.is_empty(), "no vectors under {}", dir.display());
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    files.len()
}

#[test]
fn rfc6962_inclusion_vectors() {
    let tree = reference_tree();
    let generated_checked = Cell::new(0);
    let ran = run("inclusion", |file, text| {
        let p: InclusionProbe = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let verdict = (|| {
            let leaf = hash(&p.leaf_hash)?;
            let proof = proof(&p.proof)?;
            merkle::verify_inclusion(&leaf, p.leaf_idx, p.tree_size, &proof, &root(&p.root)?)
                .map_err(|e| e.to_string())
        })();
        if verdict.is_ok() == p.want_err {
            return Err(format!(
                "{:?}: wantErr {}, got {verdict:?}",
                p.desc, p.want_err
            ));
        }
        if is_reference_happy_path(file) {
            generated_checked.set(generated_checked.get() + 1);
            let generated = tree
                .inclusion_proof(p.leaf_idx, p.tree_size)
                .map_err(|e| e.to_string())?;
            if generated != proof(&p.proof)? || tree.root_at(p.tree_size) != Ok(root(&p.root)?) {
                return Err("generated proof or root differs".into());
            }
        }
        Ok(())
    });
    eprintln!("{ran} inclusion vectors checked");
    if ran > 0 {
        // One happy path in each numbered folder, 0 to 4.
        assert_eq!(generated_checked.get(), 5, "reference happy paths checked");
    }
}

#[test]
fn rfc6962_consistency_vectors() {
    let tree = reference_tree();
    let generated_checked = Cell::new(0);
    let ran = run("consistency", |file, text| {
        let p: ConsistencyProbe = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let verdict = (|| {
            let proof = proof(&p.proof)?;
            merkle::verify_consistency(p.size1, p.size2, &proof, &root(&p.root1)?, &root(&p.root2)?)
                .map_err(|e| e.to_string())
        })();
        if verdict.is_ok() == p.want_err {
            return Err(format!(
                "{:?}: wantErr {}, got {verdict:?}",
                p.desc, p.want_err
            ));
        }
        if is_reference_happy_path(file) {
            generated_checked.set(generated_checked.get() + 1);
            let generated = tree
                .consistency_proof(p.size1, p.size2)
                .map_err(|e| e.to_string())?;
            let roots = (tree.root_at(p.size1), tree.root_at(p.size2));
            if generated != proof(&p.proof)? || roots != (Ok(root(&p.root1)?), Ok(root(&p.root2)?))
            {
                return Err("generated proof or roots differ".into());
            }
        }
        Ok(())
    });
    eprintln!("{ran} consistency vectors checked");
    if ran > 0 {
        // One happy path in each numbered folder, 0 to 4.
        assert_eq!(generated_checked.get(), 5, "reference happy paths checked");
    }
}

/// `<kind>/<n>/happy-path.json`: a correct proof over the reference tree.
fn is_reference_happy_path(file: &Path) -> bool {
    let numbered = file
        .parent()
        .and_then(Path::file_name)
        .and_then(|d| d.to_str())
        .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()));
    numbered && file.file_name().is_some_and(|f| f == "happy-path.json")
}
