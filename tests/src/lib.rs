//! End-to-end fixture: runs the real `kyc-issuer`, `kyc-wallet` and `kyc-verify` binaries, the
//! way a shell script or an operator would, and reads what they print.
//!
//! Cargo only hands `CARGO_BIN_EXE_*` to integration tests of the package that owns the binary,
//! so this crate finds them itself, in the target directory the test executable was built into,
//! and builds them there once per test process ([`kyc_testkit::binaries`]). It links none of
//! them: the fixtures it shares with the issuer's and the wallet's tests are `kyc-testkit`'s.
//!
//! # Layout
//! - [`Program`], [`Program::path`]: where each binary is; the one `cargo build` per process
//!   that keeps it current with the sources.
//! - [`Program::command`], [`Invocation`], [`Outcome`]: one run with a given standard input,
//!   its exit code, stdout and stderr, bounded by [`RUN_TIMEOUT`]; [`Outcome::verdict`] and
//!   [`Outcome::assert_verdict`] read `kyc-verify`'s JSON verdict.
//! - [`Issued`]: a scratch directory holding an issuer and holder key, a trust list, one
//!   credential in both securing forms and its status list, for one test.
//! - [`Service`]: a real `kyc-issuer serve` on a loopback port chosen at run time, with a
//!   reviewer and an admin (and any further configuration, [`Service::start_with`]), and
//!   [`http`] to speak to it as staff; [`wallet`] runs `kyc-wallet` on a wallet directory.
//! - [`GIVEN_NAME`], [`FAMILY_NAME`], [`BIRTH_DATE`]: the subject's personal data (the
//!   applicant's, [`kyc_testkit::applicant`]), which [`Invocation::run`] checks never reaches
//!   stderr.
#![warn(missing_docs)]

use std::ffi::OsStr;
use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use kyc_testkit::{IssuerConfig, IssuerProcess};
use serde_json::Value;

pub use kyc_testkit::applicant::{BIRTH_DATE, FAMILY_NAME, GIVEN_NAME};

/// How long one run may take before it is killed and the test fails; generous for debug builds
/// on a loaded machine, short enough that a hang is reported rather than waited out.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// One of the workspace's command-line programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    /// `kyc-issuer` (issuer/src/bin/kyc-issuer.rs).
    Issuer,
    /// `kyc-wallet` (wallet-cli/src/bin/kyc-wallet.rs).
    Wallet,
    /// `kyc-verify` (verifier/src/bin/kyc-verify.rs).
    Verify,
    /// `kyc-sample-images` (sample-images/src/main.rs): a selfie, an ID card and liveness
    /// frames from the biometric test photos.
    SampleImages,
    /// `kyc-test-signer` (testkit/src/bin/kyc-test-signer.rs): credentials and status lists
    /// signed with a test key, without an issuer.
    TestSigner,
}

impl Program {
    const ALL: [Self; 5] = [
        Self::Issuer,
        Self::Wallet,
        Self::Verify,
        Self::SampleImages,
        Self::TestSigner,
    ];

    /// The binary's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Issuer => "kyc-issuer",
            Self::Wallet => "kyc-wallet",
            Self::Verify => "kyc-verify",
            Self::SampleImages => "kyc-sample-images",
            Self::TestSigner => "kyc-test-signer",
        }
    }

    /// The binary, built from the current sources.
    ///
    /// The first call in a test process runs `cargo build --bin kyc-issuer --bin kyc-wallet
    /// --bin kyc-verify --bin kyc-sample-images --bin kyc-test-signer` into the target directory of the running test
    /// executable ([`kyc_testkit::binaries::build`]). It runs even when the binaries exist:
    /// `cargo test -p kyc-tests` does not rebuild other packages' binaries, and an existing one
    /// may predate the sources under test. When nothing changed the build is a freshness check.
    /// Panics (failing the test) when the build fails.
    pub fn path(self) -> PathBuf {
        static BIN_DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
        match BIN_DIR.get_or_init(|| kyc_testkit::binaries::build(&Self::ALL.map(Self::name))) {
            Ok(dir) => dir.join(self.name()),
            Err(e) => panic!("{e}"),
        }
    }

    /// A run of this program with `args`; add arguments and standard input, then
    /// [`Invocation::run`].
    pub fn command<I, S>(self, args: I) -> Invocation
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(self.path());
        command.args(args);
        Invocation {
            program: self,
            command,
            stdin: Vec::new(),
        }
    }
}

/// A prepared run of one program: arguments and standard input.
#[derive(Debug)]
pub struct Invocation {
    program: Program,
    command: Command,
    stdin: Vec<u8>,
}

impl Invocation {
    /// Append one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.command.arg(arg);
        self
    }

    /// Append arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command.args(args);
        self
    }

    /// Set an environment variable for the run.
    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    /// Feed these bytes on standard input (otherwise it is empty).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = bytes.into();
        self
    }

    /// Run to completion and capture everything it wrote.
    ///
    /// Panics (failing the test) when the program cannot be started, outlives [`RUN_TIMEOUT`],
    /// dies of a signal, or writes the subject's personal data to stderr: no error message may
    /// carry it, whatever the outcome.
    pub fn run(mut self) -> Outcome {
        let shown = format!("{:?}", self.command);
        let started = Instant::now();
        let mut child = self
            .command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {shown}: {e}"));
        let stdin = child.stdin.take().expect("stdin is piped");
        let input = std::mem::take(&mut self.stdin);
        let feeder = std::thread::spawn(move || feed(stdin, &input));
        let stdout = drain(child.stdout.take().expect("stdout is piped"));
        let stderr = drain(child.stderr.take().expect("stderr is piped"));
        let status = wait_bounded(&mut child, started, &shown);
        let elapsed = started.elapsed();
        feeder
            .join()
            .expect("stdin feeder panicked")
            .unwrap_or_else(|e| panic!("writing stdin of {shown}: {e}"));
        let stdout = stdout.join().expect("stdout reader panicked");
        let stderr = stderr.join().expect("stderr reader panicked");
        let code = status
            .code()
            .unwrap_or_else(|| panic!("{shown} was killed: {status}"));
        let outcome = Outcome {
            program: self.program,
            code,
            stdout: String::from_utf8(stdout)
                .unwrap_or_else(|e| panic!("{shown}: stdout is not UTF-8: {e}")),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            elapsed,
        };
        for personal in [GIVEN_NAME, FAMILY_NAME, BIRTH_DATE] {
            assert!(
                !outcome.stderr.contains(personal),
                "{shown}: stderr carries personal data ({personal}):\n{}",
                outcome.stderr
            );
        }
        outcome
    }
}

/// Write all of `input`; a program that stops reading early (a size limit) and exits closes the
/// pipe, which is its right, so a broken pipe is not an error.
fn feed(mut stdin: std::process::ChildStdin, input: &[u8]) -> std::io::Result<()> {
    match stdin.write_all(input) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        // A read error leaves what was read; the exit status tells the rest.
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

fn wait_bounded(child: &mut Child, started: Instant, shown: &str) -> std::process::ExitStatus {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status,
            Ok(None) if started.elapsed() > RUN_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{shown} did not finish within {RUN_TIMEOUT:?}");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("waiting for {shown}: {e}"),
        }
    }
}

/// What one run did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Which program ran.
    pub program: Program,
    /// Its exit code.
    pub code: i32,
    /// Everything it wrote to stdout.
    pub stdout: String,
    /// Everything it wrote to stderr (lossily decoded).
    pub stderr: String,
    /// Wall-clock time from start to exit.
    pub elapsed: Duration,
}

impl Outcome {
    /// Stdout without its trailing newline; panics unless the run exited 0.
    pub fn success(&self) -> &str {
        assert_eq!(self.code, 0, "{} failed:\n{self}", self.program.name());
        self.stdout.trim_end()
    }

    /// Stdout parsed as `kyc-verify`'s JSON verdict; panics when it is not one.
    pub fn verdict(&self) -> Value {
        let verdict: Value = serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not a JSON verdict ({e}):\n{self}"));
        assert!(
            verdict.get("valid").is_some_and(Value::is_boolean) && verdict["errors"].is_array(),
            "stdout is not a verdict:\n{self}"
        );
        verdict
    }

    /// The `code` of every entry of the verdict's `errors`, in order.
    pub fn error_codes(&self) -> Vec<String> {
        self.verdict()["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["code"].as_str().unwrap_or("<no code>").to_owned())
            .collect()
    }

    /// Assert the exit code and that the verdict's errors are exactly `codes` (none: valid);
    /// returns the verdict.
    pub fn assert_verdict(&self, exit: i32, codes: &[&str]) -> Value {
        let verdict = self.verdict();
        assert_eq!(self.code, exit, "exit code:\n{self}");
        assert_eq!(self.error_codes(), codes, "error codes:\n{self}");
        assert_eq!(verdict["valid"], codes.is_empty(), "valid:\n{self}");
        verdict
    }

    /// Assert a refusal before any verdict: exit 2, a message on stderr, nothing on stdout.
    pub fn assert_refused(&self) {
        assert_eq!(self.code, 2, "exit code:\n{self}");
        assert!(self.stdout.is_empty(), "stdout must be empty:\n{self}");
        assert!(
            !self.stderr.trim().is_empty(),
            "stderr must explain:\n{self}"
        );
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} exited {} after {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.program.name(),
            self.code,
            self.elapsed,
            self.stdout,
            self.stderr
        )
    }
}

/// One test's world: a scratch directory (removed on drop) with an issuer key, a holder key, a
/// trust list naming the issuer, one tier-2 credential for the holder in both securing forms
/// with a status entry, and a status list in which it is not revoked.
#[derive(Debug)]
pub struct Issued {
    dir: tempfile::TempDir,
    /// The issuer's DID.
    pub issuer_did: String,
    /// The holder's DID (the credential's subject).
    pub holder_did: String,
    /// The issuer's key file (mode 0600).
    pub issuer_key: PathBuf,
    /// The holder's key file.
    pub holder_key: PathBuf,
    /// The `credentialSubject` signed, as JSON.
    pub subject: PathBuf,
    /// `trust.toml` naming the issuer only.
    pub trust: PathBuf,
    /// The credential as `vc+sd-jwt` with all disclosures.
    pub sd_jwt: PathBuf,
    /// The same credential as `vc+jwt`.
    pub jwt: PathBuf,
    /// The status list (nothing revoked).
    pub status: PathBuf,
}

impl Issued {
    /// The status list URL the credential points to.
    pub const STATUS_LIST_URL: &'static str = "https://issuer.example/v1/status-lists/1";
    /// The credential's index in that list.
    pub const STATUS_INDEX: u64 = 42;
    /// The name [`Issued::trust`] gives the issuer.
    pub const ISSUER_NAME: &'static str = "Test KYC Issuer";

    /// Create keys, sign the credential in both forms and the status list (five runs).
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("kyc-e2e-")
            .tempdir()
            .expect("creating a scratch directory");
        let path = |name: &str| dir.path().join(name);
        let (issuer_key, holder_key) = (path("issuer.jwk"), path("holder.jwk"));
        let issuer_did = Program::TestSigner
            .command(["keygen", "--out"])
            .arg(&issuer_key)
            .run()
            .success()
            .to_owned();
        let holder_did = Program::Wallet
            .command(["keygen", "--out"])
            .arg(&holder_key)
            .run()
            .success()
            .to_owned();
        let subject = path("subject.json");
        let subject_json = serde_json::json!({
            "id": holder_did, "kycTier": 2, "ageOver18": true, "ageOver21": true,
            "countryOfResidence": "DE", "nationality": "DE", "givenName": GIVEN_NAME,
            "familyName": FAMILY_NAME, "birthDate": BIRTH_DATE,
        });
        write(&subject, subject_json.to_string());
        let trust = path("trust.toml");
        write(&trust, trust_toml(&issuer_did, Self::ISSUER_NAME));
        let issued = Self {
            issuer_did,
            holder_did,
            sd_jwt: path("credential.sd-jwt"),
            jwt: path("credential.jwt"),
            status: path("status.jwt"),
            issuer_key,
            holder_key,
            subject,
            trust,
            dir,
        };
        for (form, out) in [("sd-jwt", &issued.sd_jwt), ("jwt", &issued.jwt)] {
            write(out, issued.sign(&["--form", form]).success());
        }
        issued.status_list("status.jwt", &[]);
        issued
    }

    /// A path in the scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `kyc-test-signer sign` of [`Issued::subject`] with the status entry, plus `extra`
    /// arguments.
    pub fn sign(&self, extra: &[&str]) -> Outcome {
        Program::TestSigner
            .command(["sign", "--key"])
            .arg(&self.issuer_key)
            .arg("--subject")
            .arg(&self.subject)
            .args(["--status-list-url", Self::STATUS_LIST_URL])
            .args(["--status-index", &Self::STATUS_INDEX.to_string()])
            .args(extra)
            .run()
    }

    /// Sign a status list revoking `revoke` into the file `name`; returns its path.
    pub fn status_list(&self, name: &str, revoke: &[u64]) -> PathBuf {
        let mut command = Program::TestSigner
            .command(["status-list", "--key"])
            .arg(&self.issuer_key)
            .args(["--url", Self::STATUS_LIST_URL]);
        for index in revoke {
            command = command.args(["--revoke", &index.to_string()]);
        }
        let out = self.path(name);
        write(&out, command.run().success());
        out
    }

    /// `kyc-verify request --aud AUD --min-tier 2 --claims CLAIMS` into the file `name`.
    pub fn request(&self, name: &str, aud: &str, claims: &str) -> PathBuf {
        self.request_with(name, aud, claims, &[])
    }

    /// [`Issued::request`] with `extra` arguments (`--replay-store FILE`, `--ttl N`).
    pub fn request_with(&self, name: &str, aud: &str, claims: &str, extra: &[&str]) -> PathBuf {
        let out = self.path(name);
        write(&out, new_request(aud, "2", claims, extra));
        out
    }

    /// `kyc-wallet present` of the SD-JWT credential answering `request`, into the file `name`.
    pub fn present(&self, request: &Path, name: &str) -> PathBuf {
        let presentation = Program::Wallet
            .command(["present", "--key"])
            .arg(&self.holder_key)
            .arg("--credential")
            .arg(&self.sd_jwt)
            .arg("--request")
            .arg(request)
            .run()
            .success()
            .to_owned();
        let out = self.path(name);
        write(&out, presentation);
        out
    }

    /// `kyc-verify credential INPUT --trust TRUST`, plus `extra` arguments.
    ///
    /// Without a status option in `extra` (`--status-list`, `--status-cache`,
    /// `--require-status`), `--allow-unchecked-status` is added: these checks are about other
    /// things than revocation, which `kyc-verify` requires by default.
    pub fn verify_credential(&self, input: impl AsRef<OsStr>, extra: &[&str]) -> Invocation {
        let status_option = extra.iter().any(|a| {
            [
                "--status-list",
                "--status-cache",
                "--require-status",
                "--allow-unchecked-status",
            ]
            .contains(a)
        });
        let invocation = Program::Verify
            .command(["credential"])
            .arg(input)
            .arg("--trust")
            .arg(&self.trust)
            .args(extra);
        if status_option {
            invocation
        } else {
            invocation.arg("--allow-unchecked-status")
        }
    }

    /// `kyc-verify presentation --request REQUEST INPUT --trust TRUST --status-list STATUS`.
    pub fn verify_presentation(&self, request: &Path, input: impl AsRef<OsStr>) -> Invocation {
        Program::Verify
            .command(["presentation", "--request"])
            .arg(request)
            .arg(input)
            .arg("--trust")
            .arg(&self.trust)
            .arg("--status-list")
            .arg(&self.status)
    }
}

impl Default for Issued {
    fn default() -> Self {
        Self::new()
    }
}

/// `kyc-verify request --aud AUD --min-tier TIER [--claims CLAIMS] EXTRA…`: the request JSON.
pub fn new_request(aud: &str, tier: &str, claims: &str, extra: &[&str]) -> String {
    let mut command = Program::Verify.command(["request", "--aud", aud, "--min-tier", tier]);
    if !claims.is_empty() {
        command = command.args(["--claims", claims]);
    }
    command.args(extra).run().success().to_owned()
}

/// A trust list naming one issuer.
pub fn trust_toml(did: &str, name: &str) -> String {
    format!("[[issuer]]\ndid = \"{did}\"\nname = \"{name}\"\n")
}

/// Write a file, panicking (failing the test) when that fails.
pub fn write(path: &Path, contents: impl AsRef<[u8]>) {
    std::fs::write(path, contents).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// Read a text file, panicking (failing the test) when that fails.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The payload (second segment) of a compact JWS, or of an SD-JWT's issuer-signed JWT, as JSON.
pub fn jws_payload(token: &str) -> Value {
    let jws = token.split('~').next().unwrap_or_default();
    let payload = jws
        .split('.')
        .nth(1)
        .expect("a compact JWS has a payload segment");
    let bytes = B64.decode(payload).expect("payload is base64url");
    serde_json::from_slice(&bytes).expect("payload is JSON")
}

/// Edit the payload of a compact JWS (or of an SD-JWT's issuer-signed JWT) and re-encode it,
/// keeping header, signature and disclosures: still well-formed base64url and JSON, so only
/// the signature can catch it.
pub fn edit_jws_payload(token: &str, edit: impl FnOnce(&mut Value)) -> String {
    let (jws, rest) = token.split_at(token.find('~').unwrap_or(token.len()));
    let parts: Vec<&str> = jws.split('.').collect();
    assert_eq!(parts.len(), 3, "not a compact JWS");
    let mut payload = jws_payload(jws);
    edit(&mut payload);
    let encoded = B64.encode(serde_json::to_vec(&payload).expect("payload serialises"));
    format!("{}.{encoded}.{}{rest}", parts[0], parts[2])
}

/// The password of every wallet the tests create.
pub const WALLET_PASSWORD: &str = "correct horse battery staple";

/// `kyc-wallet --wallet DIR ARGS…` with [`WALLET_PASSWORD`].
pub fn wallet(dir: &Path, args: &[&str]) -> Invocation {
    Program::Wallet
        .command(["--wallet"])
        .arg(dir)
        .args(args)
        .env("KYC_WALLET_PASSWORD", WALLET_PASSWORD)
}

/// A running `kyc-issuer serve` (killed on drop), configured in a directory of the caller's:
/// loopback, a reviewer and an admin whose tokens come from `kyc-issuer staff new-token`.
#[derive(Debug)]
pub struct Service {
    process: IssuerProcess,
    settings: IssuerConfig,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The configuration file.
    pub config: PathBuf,
    /// The reviewer's bearer token.
    pub reviewer: String,
    /// The admin's bearer token.
    pub admin: String,
}

impl Service {
    /// The public URL in the configuration (what credentials and holder tokens name).
    pub const PUBLIC_URL: &'static str = kyc_testkit::PUBLIC_URL;

    /// Configure a service with its data in `dir/issuer-data` and start it on a free port.
    pub fn start(dir: &Path) -> Self {
        Self::start_with(dir, "")
    }

    /// [`Service::start`] with `sections` appended to the configuration (TOML tables such as
    /// `[biometric]` or `[[screening.lists]]`; kept across [`Service::restart`]).
    pub fn start_with(dir: &Path, sections: &str) -> Self {
        let token = || {
            let out = Program::Issuer.command(["staff", "new-token"]).run();
            let mut lines = out.success().lines().map(str::to_owned);
            let token = lines.next().expect("a token line");
            (token, lines.next().expect("a digest line"))
        };
        let ((reviewer, reviewer_digest), (admin, admin_digest)) = (token(), token());
        let config = dir.join("issuer.toml");
        let settings = IssuerConfig::new(dir.join("issuer-data"))
            .staff_digest("rita", "reviewer", &reviewer_digest)
            .staff_digest("adam", "admin", &admin_digest)
            .sections(sections);
        let process = spawn_service(&settings, &config);
        Self {
            base: process.base.clone(),
            process,
            settings,
            config,
            reviewer,
            admin,
        }
    }

    /// Stop the service (as `kill` would), keeping its data and configuration.
    pub fn stop(&mut self) {
        self.process.stop();
    }

    /// Start it again on the address it had, so that wallets that recorded it find it.
    pub fn restart(&mut self) {
        self.stop();
        let addr = self.base.trim_start_matches("http://");
        let settings = self.settings.clone().listen(addr);
        self.process = spawn_service(&settings, &self.config);
        assert_eq!(self.process.base, self.base, "restarted on another address");
    }
}

/// Write `settings` to `config` and run `kyc-issuer serve` on it.
fn spawn_service(settings: &IssuerConfig, config: &Path) -> IssuerProcess {
    settings
        .write(config)
        .unwrap_or_else(|e| panic!("writing {}: {e}", config.display()));
    IssuerProcess::spawn(&Program::Issuer.path(), config)
        .unwrap_or_else(|e| panic!("starting kyc-issuer serve: {e}"))
}

/// One HTTP request (`GET` without a body, `POST` with a JSON one), as staff when `bearer` is
/// given: the status and the body.
pub fn http(url: &str, bearer: Option<&str>, body: Option<&Value>) -> (u16, String) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut request = match body {
            Some(body) => client.post(url).json(body),
            None => client.get(url),
        };
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    })
}
