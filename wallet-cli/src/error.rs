//! Every way a wallet command can fail, and the class of each: what the binary's exit code says.

use crate::backup::BackupError;
use crate::checkout::CheckoutError;
use crate::held::HeldError;
use crate::issuer_client::ClientError;
use crate::keystore::KeystoreError;
use crate::location::LocationError;
use crate::password::PasswordError;
use crate::submission::SubmissionError;
use crate::wallet::WalletError;

/// A failed wallet command. Messages name files, fields and claim names, never personal data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No wallet directory could be chosen.
    #[error(transparent)]
    Location(#[from] LocationError),
    /// The wallet on disk (including its keystore).
    #[error(transparent)]
    Wallet(#[from] WalletError),
    /// No password could be had.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// The issuer refused, failed, or could not be reached.
    #[error(transparent)]
    Issuer(#[from] ClientError),
    /// The files given to `apply` do not make an application.
    #[error(transparent)]
    Submission(#[from] SubmissionError),
    /// A credential does not verify or is not this wallet's.
    #[error(transparent)]
    Held(#[from] HeldError),
    /// The wallet will not answer a presentation request.
    #[error(transparent)]
    Checkout(#[from] CheckoutError),
    /// A backup cannot be written or restored.
    #[error(transparent)]
    Backup(#[from] BackupError),
    /// No QR code could be made.
    #[error(transparent)]
    Qr(#[from] kyc_verifier::qr::QrError),
    /// The status list could not be fetched or does not verify.
    #[error("status list {url}: {reason}")]
    StatusList {
        /// Where it was fetched from.
        url: String,
        /// Why it is not usable.
        reason: String,
    },
    /// Reading an input or writing an output file failed.
    #[error("{what}: {source}")]
    File {
        /// The file, or `standard input`.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// An input is larger than the command accepts.
    #[error("{what} is larger than {limit} bytes")]
    TooLarge {
        /// The file, or `standard input`.
        what: String,
        /// The limit.
        limit: usize,
    },
    /// `status --follow --timeout` gave up.
    #[error("still {state} after {secs} s; run `kyc-wallet status --follow` again later")]
    StillWaiting {
        /// The last state seen.
        state: String,
        /// The timeout.
        secs: u64,
    },
    /// A low-level command reached the wallet's dispatcher (a bug in the binary).
    #[error("this command works on key files, not on the wallet")]
    NotAWalletCommand,
    /// The application has no credential to collect yet.
    #[error("application {id} is {state}; there is no credential to collect yet")]
    NotApproved {
        /// The application.
        id: String,
        /// Its state.
        state: String,
    },
}

/// What kind of failure an [`Error`] is; `kyc-wallet` exits with [`Class::exit_code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Refused: wrong password, the issuer said no, the request cannot be satisfied (exit 1).
    Refused,
    /// Unusable input or local state: arguments, files, a damaged wallet (exit 2).
    Input,
    /// The issuer could not be reached or failed on its side; trying later may work (exit 3).
    Unavailable,
}

impl Class {
    /// The process exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Refused => 1,
            Self::Input => 2,
            Self::Unavailable => 3,
        }
    }
}

impl Error {
    /// The class of this failure.
    pub fn class(&self) -> Class {
        match self {
            Self::Wallet(WalletError::Keystore {
                source: KeystoreError::WrongPassword,
                ..
            }) => Class::Refused,
            Self::Backup(BackupError::WrongPassword) => Class::Refused,
            // An issuer URL the wallet will not use is the user's input, not the issuer's
            // state: trying again later will not help.
            Self::Issuer(ClientError::BadUrl) => Class::Input,
            Self::Issuer(e) if e.is_refusal() => Class::Refused,
            Self::StatusList { .. } => Class::Unavailable,
            Self::Issuer(_) => Class::Unavailable,
            Self::Checkout(CheckoutError::BadRequest(_)) => Class::Input,
            Self::Checkout(_) | Self::StillWaiting { .. } | Self::NotApproved { .. } => {
                Class::Refused
            }
            Self::Location(_)
            | Self::Wallet(_)
            | Self::Password(_)
            | Self::Submission(_)
            | Self::Held(_)
            | Self::Backup(_)
            | Self::Qr(_)
            | Self::File { .. }
            | Self::TooLarge { .. }
            | Self::NotAWalletCommand => Class::Input,
        }
    }
}
