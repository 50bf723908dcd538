//! Human-readable output: what a person at a terminal reads. Scripts use `--json` instead, whose
//! shapes are the serde forms of the types shown here.
//!
//! Text that came from the issuer is passed through [`printable`] first.

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use kyc_core::presentation::PresentationRequest;

use crate::checkout::Plan;
use crate::held::{Summary, Validity};
use crate::issuer_client::{printable, ApplicationView};
use crate::wallet::ApplicationRecord;

/// What an application state means for the customer.
pub fn describe_state(state: &str) -> &'static str {
    match state {
        "submitted" => "received; checks not started",
        "checking" => "checks running",
        "in_review" => "waiting for a reviewer",
        "more_documents_requested" => {
            "the reviewer asked for more documents; `kyc-wallet upload` sends them"
        }
        "approved" => "`kyc-wallet collect` fetches the credential",
        "rejected" => "the issuer will not issue a credential",
        "issued" => "the credential has been issued",
        _ => "state unknown to this wallet",
    }
}

/// One line for a state change: `in_review: waiting for a reviewer`.
pub fn state_line(view: &ApplicationView) -> String {
    format!(
        "{}: {}",
        printable(&view.state),
        describe_state(&view.state)
    )
}

/// An application: state, checks, decision.
pub fn application(view: &ApplicationView, issuer: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Application {}", printable(&view.id));
    let _ = writeln!(out, "  issuer        {issuer}");
    let _ = writeln!(out, "  jurisdiction  {}", printable(&view.jurisdiction));
    let _ = writeln!(out, "  submitted     {}", time(view.created_at));
    let _ = writeln!(out, "  state         {}", state_line(view));
    if !view.checks.is_empty() {
        let _ = writeln!(out, "  checks");
        for c in &view.checks {
            let _ = write!(
                out,
                "    {:<12}{}",
                printable(&c.check),
                printable(&c.outcome).replace('_', " ")
            );
            if !c.reasons.is_empty() {
                let _ = write!(out, " ({})", printable(&c.reasons.join(", ")));
            }
            out.push('\n');
        }
    }
    if let Some(d) = &view.decision {
        let _ = write!(
            out,
            "  decision      {} ({} risk",
            printable(&d.action).replace('_', " "),
            printable(&d.level)
        );
        if let Some(tier) = d.tier {
            let _ = write!(out, ", tier {tier}");
        }
        out.push(')');
        if !d.reasons.is_empty() {
            let _ = write!(out, ": {}", printable(&d.reasons.join(", ")));
        }
        out.push('\n');
    }
    if let Some(c) = &view.credential {
        let _ = writeln!(out, "  credential    {}", printable(c));
    }
    out
}

/// A held credential: issuer, tier, validity, disclosable claims, status entry.
pub fn credential(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Credential {}", s.id);
    let _ = writeln!(out, "  issuer        {}", s.issuer);
    let _ = write!(out, "  KYC tier      {}", s.tier);
    if let Some(level) = &s.assurance_level {
        let _ = write!(out, " (assurance {level})");
    }
    out.push('\n');
    let _ = write!(out, "  valid         from {}", time(s.valid_from));
    if let Some(until) = s.valid_until {
        let _ = write!(out, " until {}", time(until));
    }
    let _ = writeln!(out, " ({})", validity(s.validity));
    let claims = if s.disclosable.is_empty() {
        "none (the tier is always shown)".to_owned()
    } else {
        s.disclosable.join(", ")
    };
    let _ = writeln!(out, "  disclosable   {claims}");
    match &s.status {
        Some(st) => {
            let _ = writeln!(
                out,
                "  status        {} entry {} in {}",
                st.purpose, st.index, st.list
            );
        }
        None => {
            let _ = writeln!(out, "  status        no status entry");
        }
    }
    if !s.evidence.is_empty() {
        let checks: Vec<String> = s
            .evidence
            .iter()
            .map(|(check, outcome)| format!("{check} {outcome}"))
            .collect();
        let _ = writeln!(out, "  evidence      {}", checks.join(", "));
    }
    let _ = writeln!(out, "  holder        {}", s.subject);
    out
}

/// The wallet's applications and credentials, one line each.
pub fn list(applications: &[ApplicationRecord], credentials: &[Result<Summary, String>]) -> String {
    let mut out = String::new();
    if applications.is_empty() {
        out.push_str("No applications.\n");
    } else {
        out.push_str("Applications\n");
        for a in applications {
            let _ = writeln!(
                out,
                "  {}  {:<24}  {}  {}",
                a.id,
                a.state,
                time(a.submitted_at),
                a.issuer
            );
        }
    }
    if credentials.is_empty() {
        out.push_str("No credentials.\n");
    } else {
        out.push_str("Credentials\n");
        for c in credentials {
            match c {
                Ok(s) => {
                    let until = s.valid_until.map(time).unwrap_or_else(|| "-".into());
                    let _ = writeln!(
                        out,
                        "  {}  tier {}  until {}  {}  {}",
                        s.stem,
                        s.tier,
                        until,
                        validity(s.validity),
                        s.issuer
                    );
                }
                Err(problem) => {
                    let _ = writeln!(out, "  {problem}");
                }
            }
        }
    }
    out
}

/// What the merchant asks for.
pub fn request(r: &PresentationRequest, now: DateTime<Utc>) -> String {
    let claims = if r.claims.is_empty() {
        "no claims".to_owned()
    } else {
        r.claims.join(", ")
    };
    format!(
        "{} asks for KYC tier {} or higher and {claims} (the request expires in {})",
        printable(&r.aud),
        r.min_tier,
        span((r.expires_at - now).num_seconds().max(0))
    )
}

/// A duration for people: `45 s`, `4 min`, `3 h`, `2 d`.
fn span(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86_400),
    }
}

/// What the wallet will show, and what it keeps back.
pub fn plan(p: &Plan) -> String {
    let list = |v: &[String]| {
        if v.is_empty() {
            "nothing".to_owned()
        } else {
            v.join(", ")
        }
    };
    let disclosing = if p.disclose.is_empty() {
        "the tier only".to_owned()
    } else {
        format!("tier, {}", p.disclose.join(", "))
    };
    let mut out = format!(
        "presenting credential {} (KYC tier {}, issuer {})\ndisclosing: {disclosing}\n",
        p.credential.stem, p.credential.tier, p.credential.issuer,
    );
    if !p.beyond_request.is_empty() {
        let _ = writeln!(out, "  more than asked: {}", p.beyond_request.join(", "));
    }
    let _ = writeln!(out, "keeping back: {}", list(&p.withheld));
    out
}

fn validity(v: Validity) -> &'static str {
    match v {
        Validity::Valid => "valid",
        Validity::Expired => "EXPIRED",
        Validity::NotYetValid => "not yet valid",
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}
