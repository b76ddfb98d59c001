//! Layered configuration: built-in defaults, then an optional TOML file, then
//! `DUBAN_*` environment variables (`__` separates sections, e.g.
//! `DUBAN_SERVER__REGISTRY_PORT=6051`). `DATABASE_URL` is honoured as the
//! conventional fallback for `database.url`. Secrets are `SecretString` and
//! print as `********`.

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub server: ServerSettings,
    pub court: CourtSettings,
    pub log: LogSettings,
    /// Use the clock stored in the database, shared by every process, that
    /// dev and test runs can set and advance. Never in production.
    pub dev_clock: bool,
    /// Where `duban dev` keeps its private PostgreSQL cluster, tokens and mail.
    pub data_dir: PathBuf,
    /// How often the assignment service looks for reminders and urges due.
    pub sweep_interval_secs: u64,
    /// The reporting worker: mail and schedules.
    pub reporting: ReportingSettings,
    /// Caps of streamed uploads (ImportLedger, ImportAssignments) and of
    /// one message of any request.
    pub upload: crate::upload::UploadSettings,
}

/// The reporting worker's mail, job and bulletin settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct ReportingSettings {
    /// The sender of every report.
    pub from_address: String,
    pub from_name: String,
    /// Unset: mail is written as .eml files to `mail_dir` instead (dev mode).
    pub smtp: Option<SmtpSettings>,
    /// Where .eml files go without SMTP; default `<data_dir>/mail`.
    pub mail_dir: Option<PathBuf>,
    /// How often the worker looks for schedules due and mail to send.
    pub poll_interval_ms: u64,
    /// How long a worker holds a delivery before another may take it over.
    pub lease_secs: f64,
    /// Attempts before a delivery that keeps failing temporarily is given up.
    pub max_attempts: i32,
    /// Backoff after a temporary failure: base × 2^(attempt − 1), capped.
    pub retry_base_secs: f64,
    pub retry_max_secs: f64,
    /// A schedule missed while no worker ran is still fired this late (the
    /// Friday reminder only on its own day).
    pub catch_up_hours: i64,
    /// Mail the unit's head and liaison a notice for every reminder, urge
    /// and 通报批评 flag the assignment service raises.
    pub notices: bool,
    /// A bulletin lists this many of its red (overdue) items, the longest
    /// overdue first; the rest are counted and found in the attached ledger.
    pub red_list_limit: usize,
    /// Each finding of the issue analysis lists this many of its items.
    pub finding_list_limit: usize,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    /// `starttls` (required), `tls` (implicit, port 465) or `none`.
    pub tls: String,
    pub username: Option<String>,
    #[serde(serialize_with = "hide_secret")]
    pub password: Option<SecretString>,
    pub timeout_secs: u64,
}

impl Default for ReportingSettings {
    fn default() -> Self {
        Self {
            from_address: "duban@court.example".into(),
            from_name: "督办系统".into(),
            smtp: None,
            mail_dir: None,
            poll_interval_ms: 2000,
            lease_secs: 120.0,
            max_attempts: 10,
            retry_base_secs: 30.0,
            retry_max_secs: 3600.0,
            catch_up_hours: 72,
            notices: true,
            red_list_limit: 50,
            finding_list_limit: 20,
        }
    }
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            host: "localhost".into(),
            port: 587,
            tls: "starttls".into(),
            username: None,
            password: None,
            timeout_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct DatabaseSettings {
    /// `postgres://…`; unset in dev mode means "use the private cluster".
    #[serde(serialize_with = "hide_secret")]
    pub url: Option<SecretString>,
    pub max_connections: u32,
    pub acquire_timeout_secs: u64,
    /// Longest a statement may run when the call carries no gRPC deadline
    /// (a call with one is held to its deadline instead); 0 = no limit.
    pub statement_timeout_ms: u64,
    /// Longest a statement may wait for a lock held by another transaction
    /// when the call carries no deadline; 0 = no limit.
    pub lock_timeout_ms: u64,
    /// A transaction left open and idle this long is ended by PostgreSQL,
    /// freeing its locks and connection; 0 = no limit.
    pub idle_in_transaction_session_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct ServerSettings {
    /// Address every service listens on.
    pub host: String,
    pub registry_port: u16,
    pub assignment_port: u16,
    pub appraisal_port: u16,
    pub reporting_port: u16,
    pub tls: Option<TlsSettings>,
    /// Seconds in-flight RPCs get to finish after SIGTERM/SIGINT.
    pub shutdown_grace_secs: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TlsSettings {
    pub cert_file: PathBuf,
    #[serde(serialize_with = "hide_path")]
    pub key_file: PathBuf,
    /// When set, clients must present a certificate signed by this CA (mTLS).
    pub client_ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct CourtSettings {
    /// IANA time zone deadlines and schedules are computed in.
    pub timezone: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct LogSettings {
    /// `auto` (JSON when stderr is not a terminal), `json` or `pretty`.
    pub format: String,
    /// `tracing` filter directives; `RUST_LOG` overrides.
    pub filter: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database: DatabaseSettings::default(),
            server: ServerSettings::default(),
            court: CourtSettings::default(),
            log: LogSettings::default(),
            dev_clock: false,
            data_dir: PathBuf::from(".duban"),
            sweep_interval_secs: 30,
            reporting: ReportingSettings::default(),
            upload: Default::default(),
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 16,
            acquire_timeout_secs: 5,
            statement_timeout_ms: 120_000,
            lock_timeout_ms: 15_000,
            idle_in_transaction_session_timeout_ms: 120_000,
        }
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            registry_port: 50051,
            assignment_port: 50052,
            appraisal_port: 50053,
            reporting_port: 50054,
            tls: None,
            shutdown_grace_secs: 20,
        }
    }
}

impl Default for CourtSettings {
    fn default() -> Self {
        Self {
            timezone: "Asia/Shanghai".into(),
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: "auto".into(),
            filter: "info,sqlx=warn,h2=warn,tower=warn".into(),
        }
    }
}

impl Settings {
    /// Reads defaults, then `file` (or `DUBAN_CONFIG`) when given, then the
    /// environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("DUBAN_CONFIG").map(PathBuf::from));
        let mut builder = config::Config::builder();
        if let Some(path) = &file {
            anyhow::ensure!(path.exists(), "config file {} does not exist", path.display());
            builder = builder.add_source(config::File::from(path.as_path()).format(config::FileFormat::Toml));
        }
        builder = builder.add_source(
            config::Environment::with_prefix("DUBAN")
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true),
        );
        let mut settings: Settings = builder
            .build()
            .context("reading configuration")?
            .try_deserialize()
            .context("invalid configuration")?;
        if settings.database.url.is_none() {
            if let Ok(url) = std::env::var("DATABASE_URL") {
                if !url.is_empty() {
                    settings.database.url = Some(SecretString::from(url));
                }
            }
        }
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> anyhow::Result<()> {
        self.court
            .timezone
            .parse::<chrono_tz::Tz>()
            .map_err(|_| anyhow::anyhow!("court.timezone `{}` is not an IANA time zone", self.court.timezone))?;
        anyhow::ensure!(
            matches!(self.log.format.as_str(), "auto" | "json" | "pretty"),
            "log.format must be auto, json or pretty"
        );
        if let Some(smtp) = &self.reporting.smtp {
            anyhow::ensure!(
                matches!(smtp.tls.as_str(), "starttls" | "tls" | "none"),
                "reporting.smtp.tls must be starttls, tls or none"
            );
        }
        anyhow::ensure!(
            self.reporting.from_address.contains('@'),
            "reporting.from_address must be an e-mail address"
        );
        Ok(())
    }

    /// The effective configuration as TOML, secrets hidden.
    pub fn to_display_toml(&self) -> String {
        toml_display(self)
    }

    /// The court's time zone (validated on load).
    pub fn court_tz(&self) -> chrono_tz::Tz {
        self.court.timezone.parse().unwrap_or(chrono_tz::Asia::Shanghai)
    }

    pub fn database_url(&self) -> Option<&str> {
        self.database.url.as_ref().map(|s| s.expose_secret())
    }
}

fn toml_display(settings: &Settings) -> String {
    match serde_json::to_value(settings) {
        Ok(v) => render_toml_like(&v, ""),
        Err(e) => format!("# cannot render: {e}"),
    }
}

/// A flat `section.key = value` rendering, good enough for people to read.
fn render_toml_like(value: &serde_json::Value, prefix: &str) -> String {
    let mut out = String::new();
    if let serde_json::Value::Object(map) = value {
        for (k, v) in map {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                serde_json::Value::Object(_) => out.push_str(&render_toml_like(v, &key)),
                serde_json::Value::Null => out.push_str(&format!("{key} = # unset\n")),
                other => out.push_str(&format!("{key} = {other}\n")),
            }
        }
    }
    out
}

fn hide_secret<S: Serializer>(secret: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(_) => s.serialize_str("********"),
        None => s.serialize_none(),
    }
}

fn hide_path<S: Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{} (secret)", path.display()))
}
