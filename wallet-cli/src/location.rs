//! Where the wallet lives: `--wallet DIR`, else `KYC_WALLET_DIR`, else the user's data directory
//! (`$XDG_DATA_HOME/kyc-wallet`, or `~/.local/share/kyc-wallet` as the XDG Base Directory
//! Specification defaults it).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The environment variable naming the wallet directory.
pub const ENV_WALLET_DIR: &str = "KYC_WALLET_DIR";
/// The wallet's directory name under the data directory.
pub const DIR_NAME: &str = "kyc-wallet";

/// Why no wallet directory can be chosen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocationError {
    /// Neither `--wallet`, `KYC_WALLET_DIR`, `XDG_DATA_HOME` nor `HOME` is set.
    #[error("no wallet directory: pass --wallet DIR or set KYC_WALLET_DIR (HOME is not set)")]
    NoHome,
}

/// The wallet directory from the command line's `--wallet`, or the process environment.
pub fn wallet_dir(explicit: Option<&Path>) -> Result<PathBuf, LocationError> {
    resolve(explicit, |name| std::env::var_os(name))
}

/// [`wallet_dir`] with the environment given as a lookup function (for tests).
pub fn resolve(
    explicit: Option<&Path>,
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<PathBuf, LocationError> {
    // Empty values count as unset, as the XDG specification says for XDG_DATA_HOME.
    let set = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = explicit {
        return Ok(dir.to_path_buf());
    }
    if let Some(dir) = set(ENV_WALLET_DIR) {
        return Ok(dir);
    }
    // A relative XDG_DATA_HOME is invalid and must be ignored (XDG Base Directory Spec).
    if let Some(data) = set("XDG_DATA_HOME").filter(|p| p.is_absolute()) {
        return Ok(data.join(DIR_NAME));
    }
    let home = set("HOME").ok_or(LocationError::NoHome)?;
    Ok(home.join(".local/share").join(DIR_NAME))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn precedence() {
        let all = [
            (ENV_WALLET_DIR, "/w"),
            ("XDG_DATA_HOME", "/x"),
            ("HOME", "/h"),
        ];
        assert_eq!(
            resolve(Some(Path::new("/cli")), env(&all)).unwrap(),
            Path::new("/cli")
        );
        assert_eq!(resolve(None, env(&all)).unwrap(), Path::new("/w"));
        assert_eq!(
            resolve(None, env(&all[1..])).unwrap(),
            Path::new("/x/kyc-wallet")
        );
        assert_eq!(
            resolve(None, env(&all[2..])).unwrap(),
            Path::new("/h/.local/share/kyc-wallet")
        );
        assert_eq!(
            resolve(None, env(&[("XDG_DATA_HOME", "rel"), ("HOME", "/h")])).unwrap(),
            Path::new("/h/.local/share/kyc-wallet")
        );
        assert_eq!(
            resolve(None, env(&[(ENV_WALLET_DIR, ""), ("HOME", "/h")])).unwrap(),
            Path::new("/h/.local/share/kyc-wallet")
        );
        assert!(matches!(
            resolve(None, env(&[])),
            Err(LocationError::NoHome)
        ));
    }
}
