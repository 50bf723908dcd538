//! The issuer's configuration file (`kyc-issuer serve --config FILE`) as the tests write it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::tokens::token_sha256;

/// The public URL every test configuration gives the issuer: what its credentials name as
/// their issuer's endpoint and what holder tokens must name as their audience.
pub const PUBLIC_URL: &str = "https://kyc.example";

/// A configuration: where the service listens (a loopback port chosen at run time unless set),
/// its data directory, [`PUBLIC_URL`], its staff by token digest, then further TOML sections.
#[derive(Debug, Clone)]
pub struct IssuerConfig {
    listen: String,
    data_dir: PathBuf,
    staff: Vec<(String, String, String)>,
    sections: String,
}

impl IssuerConfig {
    /// Listening on `127.0.0.1:0`, data in `data_dir`, no staff, nothing else.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen: "127.0.0.1:0".into(),
            data_dir: data_dir.into(),
            staff: Vec::new(),
            sections: String::new(),
        }
    }

    /// Listen on `addr` (e.g. the address a stopped service had, to restart it there).
    pub fn listen(mut self, addr: &str) -> Self {
        addr.clone_into(&mut self.listen);
        self
    }

    /// A staff member `id` with `role` (`reviewer`, `admin`, `compliance`) and bearer `token`,
    /// stored as its digest.
    pub fn staff(self, id: &str, role: &str, token: &str) -> Self {
        self.staff_digest(id, role, &token_sha256(token))
    }

    /// A staff member whose token's digest is already known (`kyc-issuer staff new-token`
    /// prints both).
    pub fn staff_digest(mut self, id: &str, role: &str, digest: &str) -> Self {
        self.staff.push((id.into(), role.into(), digest.into()));
        self
    }

    /// Append TOML tables (`[biometric]`, `[[screening.lists]]`, `[limits]`, …) after the staff.
    pub fn sections(mut self, toml: &str) -> Self {
        self.sections.push_str(toml);
        self
    }

    /// The file's text.
    pub fn toml(&self) -> String {
        let mut text = format!(
            "listen = \"{}\"\ndata_dir = \"{}\"\npublic_url = \"{PUBLIC_URL}\"\n",
            self.listen,
            self.data_dir.display()
        );
        for (id, role, digest) in &self.staff {
            let _ = write!(
                text,
                "[[staff]]\nid = \"{id}\"\nrole = \"{role}\"\ntoken_sha256 = \"{digest}\"\n"
            );
        }
        text.push_str(&self.sections);
        text
    }

    /// Write the file to `path`.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.toml())
    }
}
