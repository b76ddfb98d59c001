//! Wiring: builds each Duban service on its port over one pool and one clock,
//! runs migrations (behind sqlx's advisory lock), watches the database for
//! health, and shuts everything down together.

use anyhow::Context;
use duban_appraisal::grpc::AppraisalGrpc;
use duban_appraisal::service::AppraisalService;
use duban_assignment::assignments::AssignmentService;
use duban_assignment::calendar::CalendarService;
use duban_assignment::grpc::AssignmentGrpc;
use duban_platform::auth::{AuthLayer, TokenStore};
use duban_platform::clock::Clock;
use duban_platform::configuration::Settings;
use duban_platform::server::{self, Health};
use duban_proto::service_names;
use duban_registry::grpc::RegistryGrpc;
use duban_registry::items::service::ItemService;
use duban_registry::org::service::OrgService;
use duban_reporting::grpc::ReportingGrpc;
use duban_reporting::mail::Mailer;
use duban_reporting::service::ReportingService;
use duban_reporting::worker::Worker;
use sqlx::PgPool;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

use crate::dev_clock_grpc::DevClockGrpc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ServiceKind {
    Registry,
    Assignment,
    Appraisal,
    Reporting,
}

impl ServiceKind {
    pub const ALL: [ServiceKind; 4] = [
        ServiceKind::Registry,
        ServiceKind::Assignment,
        ServiceKind::Appraisal,
        ServiceKind::Reporting,
    ];

    pub fn grpc_name(self) -> &'static str {
        match self {
            ServiceKind::Registry => service_names::REGISTRY,
            ServiceKind::Assignment => service_names::ASSIGNMENT,
            ServiceKind::Appraisal => service_names::APPRAISAL,
            ServiceKind::Reporting => service_names::REPORTING,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ServiceKind::Registry => "registry",
            ServiceKind::Assignment => "assignment",
            ServiceKind::Appraisal => "appraisal",
            ServiceKind::Reporting => "reporting",
        }
    }

    pub fn port(self, settings: &Settings) -> u16 {
        match self {
            ServiceKind::Registry => settings.server.registry_port,
            ServiceKind::Assignment => settings.server.assignment_port,
            ServiceKind::Appraisal => settings.server.appraisal_port,
            ServiceKind::Reporting => settings.server.reporting_port,
        }
    }
}

/// The running services: their bound addresses and the means to stop them.
pub struct Running {
    pub addrs: Vec<(ServiceKind, SocketAddr)>,
    pub clock: Clock,
    shutdown: CancellationToken,
    tasks: JoinSet<anyhow::Result<()>>,
}

impl Running {
    pub fn addr(&self, kind: ServiceKind) -> Option<SocketAddr> {
        self.addrs.iter().find(|(k, _)| *k == kind).map(|(_, a)| *a)
    }

    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Waits until every server has stopped (after the shutdown token fired,
    /// or one of them failed).
    pub async fn wait(mut self) -> anyhow::Result<()> {
        let mut result = Ok(());
        while let Some(done) = self.tasks.join_next().await {
            let outcome = done.context("server task panicked").and_then(|r| r);
            if let Err(e) = outcome {
                tracing::error!(error = format!("{e:#}"), "server stopped with an error");
                self.shutdown.cancel();
                if result.is_ok() {
                    result = Err(e);
                }
            }
        }
        result
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.wait().await
    }

    /// Adds the reporting worker (schedules and mail) to the running suite;
    /// it stops with the suite, finishing the message it is sending.
    pub fn spawn_worker(&mut self, settings: &Settings, pool: PgPool, data_dir: &Path) -> anyhow::Result<String> {
        let worker = reporting_worker(settings, pool, self.clock.clone(), data_dir)?;
        let mail = worker.describe_mail();
        let shutdown = self.shutdown.clone();
        self.tasks.spawn(async move {
            worker.run(shutdown).await;
            Ok(())
        });
        Ok(mail)
    }
}

/// The reporting service, its bulletins ranked by the appraisal service.
fn reports(settings: &Settings, pool: PgPool, clock: Clock) -> anyhow::Result<ReportingService> {
    let tz = settings.court_tz();
    let appraisal = AppraisalService::new(pool.clone(), clock.clone(), tz);
    Ok(ReportingService::new(pool, clock, tz, &settings.reporting)?
        .with_rankings(std::sync::Arc::new(crate::rankings::AppraisalRankings(appraisal))))
}

/// The reporting worker: mail over SMTP when configured, else .eml files
/// under the data dir.
pub fn reporting_worker(settings: &Settings, pool: PgPool, clock: Clock, data_dir: &Path) -> anyhow::Result<Worker> {
    let service = reports(settings, pool, clock)?;
    let mailer = Mailer::from_settings(&settings.reporting, data_dir)?;
    Worker::new(service, mailer, &settings.reporting)
}

/// Binds every listed service, then serves them until `shutdown`.
/// Migrations run in the background; health says NOT_SERVING until they are
/// done and whenever the database is unreachable.
pub async fn start(
    settings: &Settings,
    pool: PgPool,
    services: &[ServiceKind],
    shutdown: CancellationToken,
) -> anyhow::Result<Running> {
    let clock = if settings.dev_clock {
        Clock::shared(pool.clone())
    } else {
        Clock::System
    };
    let health = Health::new();
    let names: Vec<&'static str> = services.iter().map(|s| s.grpc_name()).collect();
    health.set_all(&names, tonic_health::ServingStatus::NotServing).await;
    let auth = AuthLayer::new(TokenStore::new(pool.clone()));
    let tls = match &settings.server.tls {
        Some(t) => Some(server::tls_config(t)?),
        None => None,
    };
    let grace = Duration::from_secs(settings.server.shutdown_grace_secs);
    let mut tasks = JoinSet::new();
    let mut addrs = Vec::new();
    for &kind in services {
        let listen = format!("{}:{}", settings.server.host, kind.port(settings));
        let listener = TcpListener::bind(&listen)
            .await
            .with_context(|| format!("binding the {} service to {listen}", kind.label()))?;
        addrs.push((kind, listener.local_addr()?));
        let routes = routes_for(kind, &health, &pool, &clock, settings)?;
        tasks.spawn(server::serve(
            listener,
            routes,
            auth.clone(),
            tls.clone(),
            shutdown.clone(),
            grace,
        ));
    }
    let follow_up = services.contains(&ServiceKind::Assignment).then(|| FollowUp {
        calendar: CalendarService::new(pool.clone(), clock.clone(), settings.court_tz()),
        assignments: AssignmentService::new(pool.clone(), clock.clone(), settings.court_tz()),
        sweep_every: Duration::from_secs(settings.sweep_interval_secs.max(1)),
    });
    let appraisal = services
        .contains(&ServiceKind::Appraisal)
        .then(|| AppraisalService::new(pool.clone(), clock.clone(), settings.court_tz()));
    tasks.spawn(prepare_then_watch(
        pool,
        clock.clone(),
        follow_up,
        appraisal,
        health,
        names,
        shutdown.clone(),
    ));
    Ok(Running {
        addrs,
        clock,
        shutdown,
        tasks,
    })
}

fn routes_for(
    kind: ServiceKind,
    health: &Health,
    pool: &PgPool,
    clock: &Clock,
    settings: &Settings,
) -> anyhow::Result<Routes> {
    let tz = settings.court_tz();
    let upload = settings.upload;
    let per_message = upload.max_message_bytes;
    Ok(match kind {
        ServiceKind::Registry => {
            let mut names = vec![kind.grpc_name()];
            if clock.is_shared() {
                names.push(service_names::DEV_CLOCK);
            }
            let registry = RegistryGrpc::new(
                OrgService::new(pool.clone(), clock.clone()),
                ItemService::new(pool.clone(), clock.clone(), tz),
                upload,
            );
            let mut routes = server::base_routes(health, &names)?
                .add_service(registry.into_server().max_decoding_message_size(per_message));
            if clock.is_shared() {
                routes = routes.add_service(DevClockGrpc::new(pool.clone(), clock.clone()).into_server());
            }
            routes
        }
        ServiceKind::Assignment => {
            let calendar = CalendarService::new(pool.clone(), clock.clone(), tz);
            let assignments = AssignmentService::new(pool.clone(), clock.clone(), tz);
            server::base_routes(health, &[kind.grpc_name()])?.add_service(
                AssignmentGrpc::new(calendar, assignments, pool.clone(), upload)
                    .into_server()
                    .max_decoding_message_size(per_message),
            )
        }
        ServiceKind::Appraisal => server::base_routes(health, &[kind.grpc_name()])?.add_service(
            AppraisalGrpc::new(AppraisalService::new(pool.clone(), clock.clone(), tz))
                .into_server()
                .max_decoding_message_size(per_message),
        ),
        ServiceKind::Reporting => {
            let reports = reports(settings, pool.clone(), clock.clone())?;
            server::base_routes(health, &[kind.grpc_name()])?.add_service(
                ReportingGrpc::new(reports)
                    .into_server()
                    .max_decoding_message_size(per_message),
            )
        }
    })
}

/// The assignment service's background work: seeding calendars, watching
/// for a missing next year, issuing reminders and urges.
struct FollowUp {
    calendar: CalendarService,
    assignments: AssignmentService,
    sweep_every: Duration,
}

/// Applies migrations (retrying while the database is down), readies the
/// dev clock, then keeps health in step with the database.
async fn prepare_then_watch(
    pool: PgPool,
    clock: Clock,
    follow_up: Option<FollowUp>,
    appraisal: Option<AppraisalService>,
    health: Health,
    names: Vec<&'static str>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let calendar = follow_up.as_ref().map(|f| &f.calendar);
    let ready = wait_for_database(&pool, &clock, calendar, appraisal.as_ref(), &shutdown).await;
    if !ready {
        return Ok(());
    }
    if let Some(f) = follow_up {
        // The calendar's health entry exists before the services report SERVING.
        check_calendar(&f.calendar, &health).await;
        tokio::spawn(watch_calendar(f.calendar, health.clone(), shutdown.clone()));
        tokio::spawn(sweep(f.assignments, f.sweep_every, shutdown.clone()));
    }
    if let Some(a) = appraisal {
        tokio::spawn(fold_events(a, shutdown.clone()));
    }
    health
        .watch_database(duban_platform::db::Probe::for_pool(&pool), names, shutdown)
        .await;
    Ok(())
}

/// Applies migrations, readies the dev clock and seeds what the services
/// given need, retrying every 2 s while the database is down or not ready
/// (containers start in any order); false if `shutdown` came first.
pub async fn wait_for_database(
    pool: &PgPool,
    clock: &Clock,
    calendar: Option<&CalendarService>,
    appraisal: Option<&AppraisalService>,
    shutdown: &CancellationToken,
) -> bool {
    loop {
        let attempt = async {
            duban_platform::db::migrate(pool).await?;
            clock.ensure_ready().await?;
            if let Some(c) = calendar {
                c.seed().await.map_err(|e| anyhow::anyhow!("seeding calendars: {e}"))?;
            }
            if let Some(a) = appraisal {
                a.seed()
                    .await
                    .map_err(|e| anyhow::anyhow!("seeding the appraisal rule set: {e}"))?;
            }
            anyhow::Ok(())
        };
        match attempt.await {
            Ok(()) => return true,
            Err(e) => {
                tracing::warn!(error = format!("{e:#}"), "database not ready; retrying in 2 s");
                tokio::select! {
                    _ = shutdown.cancelled() => return false,
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                }
            }
        }
    }
}

/// `duban worker`: waits for the database like `duban serve` (migrations,
/// dev clock), then runs the reporting worker until `shutdown`.
pub async fn run_worker(settings: &Settings, data_dir: &Path, shutdown: CancellationToken) -> anyhow::Result<()> {
    let pool = duban_platform::db::pool(&settings.database)?;
    let clock = if settings.dev_clock {
        Clock::shared(pool.clone())
    } else {
        Clock::System
    };
    if !wait_for_database(&pool, &clock, None, None, &shutdown).await {
        return Ok(());
    }
    reporting_worker(settings, pool, clock, data_dir)?.run(shutdown).await;
    Ok(())
}

/// Keeps the appraisal fold close behind the event stream, so that reads
/// (which catch up themselves) find little left to do.
async fn fold_events(appraisal: AppraisalService, shutdown: CancellationToken) {
    loop {
        match appraisal.catch_up().await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(events = n, "events folded for appraisal"),
            Err(e) => tracing::warn!(error = ?e, "folding events for appraisal failed; retrying"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
    }
}

/// Issues reminders, urges and flags as they fall due on the service clock.
async fn sweep(assignments: AssignmentService, every: Duration, shutdown: CancellationToken) {
    loop {
        match assignments.sweep().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(issued = n, "reminders and urges issued"),
            Err(e) => tracing::warn!(error = ?e, "the follow-up sweep failed; retrying"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// From 1 November, warns (log and a NOT_SERVING health entry) while next
/// year's working-day calendar is missing.
async fn check_calendar(calendar: &CalendarService, health: &Health) {
    use tonic_health::ServingStatus;
    let status = match calendar.missing_next_year().await {
        Ok(Some(year)) => {
            tracing::warn!(
                year,
                "next year's working-day calendar is not loaded: deadlines into it are provisional (weekly pattern only)"
            );
            ServingStatus::NotServing
        }
        Ok(None) => ServingStatus::Serving,
        Err(e) => {
            tracing::warn!(error = ?e, "checking the calendar failed");
            ServingStatus::Unknown
        }
    };
    health
        .reporter
        .set_service_status(duban_assignment::CALENDAR_HEALTH, status)
        .await;
}

/// Checks the calendar every minute (the first check is made at start-up),
/// so that the warning goes soon after the office loads the year; it is one
/// indexed lookup.
async fn watch_calendar(calendar: CalendarService, health: Health, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
        }
        check_calendar(&calendar, &health).await;
    }
}
