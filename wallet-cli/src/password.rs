//! The wallet password: from `KYC_WALLET_PASSWORD` (for scripts and tests), or asked on the
//! terminal with echo off (`rpassword` reads `/dev/tty`, so a password never comes from a pipe
//! by accident).

use zeroize::Zeroizing;

/// The environment variable that supplies the password without a prompt.
pub const ENV_PASSWORD: &str = "KYC_WALLET_PASSWORD";

/// Why no password could be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// No terminal to prompt on and no `KYC_WALLET_PASSWORD`.
    #[error("cannot ask for the wallet password: no terminal ({0}); set KYC_WALLET_PASSWORD")]
    NoTerminal(std::io::Error),
    /// `KYC_WALLET_PASSWORD` is set but not valid Unicode.
    #[error("KYC_WALLET_PASSWORD is not valid UTF-8")]
    NotUnicode,
    /// The two entries of a new password differ.
    #[error("the two passwords differ")]
    Mismatch,
}

/// The password of an existing wallet.
pub fn existing() -> Result<Zeroizing<String>, PasswordError> {
    if let Some(p) = from_env()? {
        return Ok(p);
    }
    prompt("Wallet password: ")
}

/// A new password, typed twice when prompted.
pub fn new() -> Result<Zeroizing<String>, PasswordError> {
    if let Some(p) = from_env()? {
        return Ok(p);
    }
    let first = prompt("New wallet password: ")?;
    let second = prompt("Repeat the password: ")?;
    if first != second {
        return Err(PasswordError::Mismatch);
    }
    Ok(first)
}

fn from_env() -> Result<Option<Zeroizing<String>>, PasswordError> {
    match std::env::var(ENV_PASSWORD) {
        Ok(p) => Ok(Some(Zeroizing::new(p))),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(PasswordError::NotUnicode),
    }
}

fn prompt(text: &str) -> Result<Zeroizing<String>, PasswordError> {
    rpassword::prompt_password(text)
        .map(Zeroizing::new)
        .map_err(PasswordError::NoTerminal)
}
