//! What the `kyc-verify` and `kyc-wallet` command lines share (feature `cli`): reading an
//! input with a bound, and fetching a status list over HTTP. Each binary maps these errors to
//! its own messages and exit codes.

use std::io::Read as _;
use std::path::Path;
use std::time::Duration;

/// An input could not be read, or is larger than the command accepts. Exhaustive, so that
/// each binary can map every case to its own message.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be opened.
    #[error("opening {what}")]
    Open {
        /// The file.
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Reading the file or standard input failed.
    #[error("reading {what}")]
    Read {
        /// The file, or `standard input`.
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The input is longer than the limit.
    #[error("{what} is larger than {limit} bytes")]
    TooLarge {
        /// The file, or `standard input`.
        what: String,
        /// The limit.
        limit: usize,
    },
}

/// The file at `path`, or standard input for `-`, up to `limit` bytes.
///
/// Reads at most `limit + 1` bytes, so a huge or endless input costs no more than that.
pub fn read_bounded(path: &Path, limit: usize) -> Result<Vec<u8>, InputError> {
    let stdin = path == Path::new("-");
    let what = if stdin {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    };
    let take = limit as u64 + 1;
    let mut bytes = Vec::new();
    let read = if stdin {
        std::io::stdin().take(take).read_to_end(&mut bytes)
    } else {
        let file = std::fs::File::open(path).map_err(|source| InputError::Open {
            what: what.clone(),
            source,
        })?;
        file.take(take).read_to_end(&mut bytes)
    };
    if let Err(source) = read {
        return Err(InputError::Read { what, source });
    }
    if bytes.len() > limit {
        return Err(InputError::TooLarge { what, limit });
    }
    Ok(bytes)
}

/// A status list could not be fetched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The request failed: no connection, a timeout, a broken body.
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    /// The issuer answered with another status than success.
    #[error("the issuer answered {0}")]
    Status(reqwest::StatusCode),
}

/// The HTTP client status lists are fetched with: 10 s to connect, 30 s for the whole request;
/// `user_agent` if given.
pub fn status_list_client(user_agent: Option<&str>) -> Result<reqwest::Client, reqwest::Error> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30));
    if let Some(agent) = user_agent {
        builder = builder.user_agent(agent);
    }
    builder.build()
}

/// The status list credential served at `url`, as served (a compact `vc+jwt`), not yet
/// verified: the caller checks it against whom it trusts, then caches it
/// ([`crate::status_cache::store`]).
pub async fn fetch_status_list(client: &reqwest::Client, url: &str) -> Result<String, FetchError> {
    let response = client.get(url).send().await?;
    let status = response.status();
    if !status.is_success() {
        return Err(FetchError::Status(status));
    }
    Ok(response.text().await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input");
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(read_bounded(&path, 10).unwrap(), b"0123456789");
        let err = read_bounded(&path, 9).unwrap_err();
        assert!(
            matches!(err, InputError::TooLarge { limit: 9, .. }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!("{} is larger than 9 bytes", path.display())
        );
        let missing = dir.path().join("missing");
        let err = read_bounded(&missing, 10).unwrap_err();
        assert!(matches!(err, InputError::Open { .. }), "{err:?}");
        assert_eq!(err.to_string(), format!("opening {}", missing.display()));
        let err = read_bounded(dir.path(), 10).unwrap_err();
        assert!(matches!(err, InputError::Read { .. }), "{err:?}");
    }
}
