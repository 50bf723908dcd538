//! The workspace's binaries, built from the current sources.
//!
//! Cargo hands `CARGO_BIN_EXE_*` only to the integration tests of the package that owns the
//! binary, so a test of another package finds it itself: in the profile directory the running
//! test executable was built into (`target/<profile>/deps/test-…` → `target/<profile>/`). It
//! builds it there too: `cargo test -p X` does not rebuild other packages' binaries, and one
//! that merely exists may predate the sources under test; when nothing changed the build is a
//! quick freshness check.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `cargo build --bin NAME…` (for each of `names`) into the profile directory of the running
/// executable, with that directory's profile; returns the directory.
///
/// Fails when the build fails or leaves one of the binaries missing; the message says which
/// (with the profile directory, where an older build may still be).
pub fn build(names: &[&str]) -> Result<PathBuf, String> {
    let bin_dir = profile_dir()?;
    let profile = bin_dir
        .file_name()
        .and_then(OsStr::to_str)
        .ok_or_else(|| format!("{}: no profile name", bin_dir.display()))?;
    let target_dir = bin_dir
        .parent()
        .ok_or_else(|| format!("{}: no target directory", bin_dir.display()))?;
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("kyc-testkit has no parent directory")?;
    // Cargo's profile directory for `dev` and `test` is `debug`; every other profile's has its name.
    let profile = if profile == "debug" { "dev" } else { profile };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    command
        .arg("build")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        .args(["--profile", profile]);
    for name in names {
        command.args(["--bin", name]);
    }
    let status = command
        .status()
        .map_err(|e| format!("running {}: {e}", Path::new(&cargo).display()))?;
    if !status.success() {
        return Err(format!(
            "building the binaries failed ({status}): {command:?}"
        ));
    }
    for name in names {
        let path = bin_dir.join(name);
        if !path.is_file() {
            return Err(format!("{} was not built", path.display()));
        }
    }
    Ok(bin_dir)
}

/// The profile directory holding the running executable (`target/debug` for
/// `target/debug/deps/cli-…`).
pub fn profile_dir() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("locating the test executable: {e}"))?;
    let mut dir = exe
        .parent()
        .ok_or_else(|| format!("{} has no parent directory", exe.display()))?;
    if dir.file_name() == Some(OsStr::new("deps")) {
        dir = dir
            .parent()
            .ok_or_else(|| format!("{} has no parent directory", dir.display()))?;
    }
    Ok(dir.to_path_buf())
}
