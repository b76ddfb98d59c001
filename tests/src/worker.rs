//! The reporting worker in tests: fast polls, short leases and backoff,
//! mail to the test SMTP server or to .eml files.

use crate::TestApp;
use duban::app;
use duban_platform::clock::Clock;
use duban_platform::configuration::{Settings, SmtpSettings};
use tokio_util::sync::CancellationToken;

/// Worker settings for the tests: fast polls, short leases and backoff.
pub fn settings(smtp_port: Option<u16>, mail_dir: Option<std::path::PathBuf>) -> Settings {
    let mut s = Settings::default();
    s.reporting.poll_interval_ms = 50;
    s.reporting.lease_secs = 2.0;
    s.reporting.retry_base_secs = 0.2;
    s.reporting.retry_max_secs = 1.0;
    s.reporting.max_attempts = 6;
    s.reporting.catch_up_hours = 1;
    s.reporting.smtp = smtp_port.map(|port| SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        tls: "none".into(),
        timeout_secs: 10,
        ..SmtpSettings::default()
    });
    s.reporting.mail_dir = mail_dir;
    s
}

/// A worker on the app's database and dev clock, until the token is cancelled.
pub fn start(app: &TestApp, settings: &Settings) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    start_on(app.db.pool.clone(), settings)
}

/// A worker on `pool` (one of its own, with the worker's database settings,
/// as `duban worker` has) and its dev clock, until the token is cancelled.
pub fn start_on(pool: sqlx::PgPool, settings: &Settings) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let worker = app::reporting_worker(
        settings,
        pool.clone(),
        Clock::shared(pool),
        std::path::Path::new("/nonexistent"),
    )
    .unwrap();
    let stop = CancellationToken::new();
    let handle = tokio::spawn(worker.run(stop.clone()));
    (stop, handle)
}
