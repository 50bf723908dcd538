//! A running `kyc-issuer serve`, started on a configuration whose `listen` may name port 0: the
//! service prints `listening on ADDR` as its first line of stdout once it is bound, and that is
//! where it is.

use std::io::BufRead as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running `kyc-issuer serve`; killed when dropped.
#[derive(Debug)]
pub struct IssuerProcess {
    /// The process (to signal it, wait for it, or read its memory use).
    pub child: Child,
    /// `http://ADDR`, from its `listening on ADDR` line.
    pub base: String,
}

impl IssuerProcess {
    /// Run `binary serve --config config` (with `RUST_LOG=warn`, stderr inherited) and return
    /// once it says where it listens. Its later stdout is read and dropped, so a later line
    /// never meets a closed pipe.
    ///
    /// Fails when it cannot be started or its first line is not `listening on ADDR` (it is
    /// killed then).
    pub fn spawn(binary: &Path, config: &Path) -> std::io::Result<Self> {
        let mut child = Command::new(binary)
            .args(["serve", "--config"])
            .arg(config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("stdout is not piped"))?;
        let mut stdout = std::io::BufReader::new(stdout);
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let Some(addr) = line.trim().strip_prefix("listening on ").map(str::to_owned) else {
            let _ = child.kill();
            let _ = child.wait();
            read?;
            return Err(std::io::Error::other(format!(
                "{} serve said {line:?}",
                binary.display()
            )));
        };
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Ok(Self {
            child,
            base: format!("http://{addr}"),
        })
    }

    /// Kill it (as `kill -9` would) and reap it; its data stays.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for IssuerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}
