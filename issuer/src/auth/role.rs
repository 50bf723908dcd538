//! The staff roles.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A staff role. Roles do not imply one another; a route lists each role it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Works the manual review queue: approves, rejects, asks for documents.
    Reviewer,
    /// Operates the service: revocation, configuration, key and log maintenance.
    Admin,
    /// Reads the audit log and exports; changes nothing.
    Auditor,
    /// The compliance officer: reads the reports of high-risk rejections.
    Compliance,
}

impl Role {
    /// The role's name as written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reviewer => "reviewer",
            Self::Admin => "admin",
            Self::Auditor => "auditor",
            Self::Compliance => "compliance",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
