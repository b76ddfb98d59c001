use clap::{Parser, Subcommand};
use duban::app::{self, ServiceKind};
use duban::cli::admin::{self, TokenCommand};
use duban::cli::assignments::{
    AcknowledgeArgs, AssignArgs, CloseOutArgs, DecideArgs, ExtendArgs, FeedbackArgs, JudgeArgs, ListArgs,
    ReInspectArgs, ResumeArgs, SuspendArgs, UrgeArgs, VerifyArgs, WatchArgs,
};
use duban::cli::calendar::{CalendarCommand, DeadlineArgs};
use duban::cli::clock::ClockCommand;
use duban::cli::items::{ItemCommand, LedgerCommand, SourceCommand};
use duban::cli::org::OrgCommand;
use duban::dev::{self, DevOptions};
use duban_platform::configuration::Settings;
use duban_platform::{db, telemetry};
use std::path::PathBuf;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

/// 督办 Duban — the court office's supervision and follow-up suite.
#[derive(Debug, Parser)]
#[command(name = "duban", version)]
struct Cli {
    /// Configuration file (TOML); DUBAN_* environment variables override it.
    #[arg(long, global = true, env = "DUBAN_CONFIG")]
    config: Option<PathBuf>,
    /// Where dev mode keeps its PostgreSQL cluster and admin token.
    #[arg(long, global = true, env = "DUBAN_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every service in one process, on a private PostgreSQL unless DATABASE_URL is set.
    Dev {
        /// Load the demo court.
        #[arg(long)]
        demo: bool,
        /// Use the system clock instead of the shared dev clock.
        #[arg(long)]
        system_clock: bool,
    },
    /// Run one service (for containers).
    Serve { service: ServiceKind },
    /// Run the reporting worker: fires report schedules, delivers mail (any number of replicas).
    Worker,
    /// Reports (通报): preview any period, the archive, issue, send again, schedules.
    Report {
        #[command(subcommand)]
        command: duban::cli::reports::ReportCommand,
    },
    /// Exit 0 only when a service answers SERVING (for container health checks and probes).
    Health(duban::cli::health::HealthArgs),
    /// Apply database migrations.
    Migrate,
    /// Print the effective configuration (secrets hidden).
    Config,
    /// Issue, list and revoke bearer tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Check the tamper-evident audit chain.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The organisation directory: import files, list units and people.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Source documents (督办来源).
    Sources {
        #[command(subcommand)]
        command: SourceCommand,
    },
    /// Items (督办事项): draft, submit, approve, reject, decompose, list.
    Items {
        #[command(subcommand)]
        command: ItemCommand,
    },
    /// The Excel ledger (督办台账): export and import.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// The working-day calendar (工作日历): show, list, load a year.
    Calendar {
        #[command(subcommand)]
        command: CalendarCommand,
    },
    /// When is it due? Every milestone for an assignment made at a given time.
    Deadlines(DeadlineArgs),
    /// Assign a registered item (交办) to its lead and co-units.
    Assign(AssignArgs),
    /// List assignments with their state, light and next milestone.
    Assignments(ListArgs),
    /// Sign for an assignment (签收) with how it is deployed.
    Acknowledge(AcknowledgeArgs),
    /// Report on an assignment: initial, progress, completion, delay explanation…
    Feedback(FeedbackArgs),
    /// Verify a completion report (核查), or return it for rework.
    Verify(VerifyArgs),
    /// Write off this week's verified assignments (一周一销号), or show a week's list.
    Closeout(CloseOutArgs),
    /// Ask for more time before the deadline (延期申请).
    Extend(ExtendArgs),
    /// Ask for the clock to stop (中止).
    Suspend(SuspendArgs),
    /// The supervising leader approves or refuses an extension or suspension.
    Decide(DecideArgs),
    /// Restart a suspended assignment's clock.
    Resume(ResumeArgs),
    /// Urge an assignment by hand (催办); the unit answers with `feedback --kind urge_response`.
    Urge(UrgeArgs),
    /// Judge a unit's answer to an urge: justified (正当理由) or not.
    Judge(JudgeArgs),
    /// Re-inspect (回头看) a finished item; a failed one is reassigned in a new round.
    Reinspect(ReInspectArgs),
    /// Follow the event stream (the OA's to-do feed), resumable from a cursor.
    Watch(WatchArgs),
    /// A major item's plan (重大事项推进计划): submit, or decide as the supervising leader.
    Plan {
        #[command(subcommand)]
        command: duban::cli::plans::PlanCommand,
    },
    /// Continuing attention (持续关注) on a verified assignment: stage reports every N months.
    Attention(duban::cli::plans::AttentionArgs),
    /// Items published for claiming (认领): list, publish, claim, close.
    Claims {
        #[command(subcommand)]
        command: duban::cli::plans::ClaimCommand,
    },
    /// Appraisal (考评): rules, scorecards, rankings, publishing, adjustments.
    Appraisal {
        #[command(subcommand)]
        command: duban::cli::appraisal::AppraisalCommand,
    },
    /// The shared dev clock.
    Clock {
        #[command(subcommand)]
        command: ClockCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the whole chain; exit non-zero naming the first bad record.
    Verify,
}

fn main() -> ExitCode {
    // A command piped into `head` ends quietly, as Unix tools do.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let quiet = !matches!(
        cli.command,
        Command::Dev { .. } | Command::Serve { .. } | Command::Worker
    );
    let mut log = settings.log.clone();
    if quiet && std::env::var_os("RUST_LOG").is_none() {
        log.filter = "warn".into();
    }
    telemetry::init(&log);
    let runtime = tokio::runtime::Runtime::new().expect("starting the tokio runtime");
    match runtime.block_on(run(cli, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    let data_dir = cli.data_dir.clone().unwrap_or_else(|| settings.data_dir.clone());
    match cli.command {
        Command::Dev { demo, system_clock } => {
            dev::run(
                settings,
                DevOptions {
                    demo,
                    data_dir,
                    system_clock,
                },
            )
            .await
        }
        Command::Serve { service } => {
            let pool = db::pool(&settings.database)?;
            let shutdown = CancellationToken::new();
            let running = app::start(&settings, pool, &[service], shutdown.clone()).await?;
            for (kind, addr) in &running.addrs {
                tracing::info!(service = kind.label(), %addr, "serving");
            }
            tokio::spawn(duban_platform::server::cancel_on_signal(shutdown));
            running.wait().await
        }
        Command::Worker => {
            let shutdown = CancellationToken::new();
            tokio::spawn(duban_platform::server::cancel_on_signal(shutdown.clone()));
            app::run_worker(&settings, &data_dir, shutdown).await
        }
        Command::Report { command } => duban::cli::reports::run(&data_dir, command).await,
        Command::Health(args) => duban::cli::health::run(&settings, args).await,
        Command::Migrate => {
            admin::admin_pool(&settings, &data_dir).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Config => {
            print!("{}", settings.to_display_toml());
            Ok(())
        }
        Command::Token { command } => {
            let pool = admin::admin_pool(&settings, &data_dir).await?;
            admin::token(&pool, command).await
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let pool = admin::admin_pool(&settings, &data_dir).await?;
            admin::audit_verify(&pool).await
        }
        Command::Org { command } => duban::cli::org::run(&data_dir, command).await,
        Command::Clock { command } => duban::cli::clock::run(&data_dir, command).await,
        Command::Appraisal { command } => duban::cli::appraisal::run(&data_dir, command).await,
        Command::Calendar { command } => duban::cli::calendar::calendar(&data_dir, command).await,
        Command::Deadlines(args) => duban::cli::calendar::deadlines(&data_dir, args).await,
        Command::Assign(args) => duban::cli::assignments::assign(&data_dir, args).await,
        Command::Assignments(args) => duban::cli::assignments::list(&data_dir, args).await,
        Command::Acknowledge(args) => duban::cli::assignments::acknowledge(&data_dir, args).await,
        Command::Feedback(args) => duban::cli::assignments::feedback(&data_dir, args).await,
        Command::Verify(args) => duban::cli::assignments::verify(&data_dir, args).await,
        Command::Closeout(args) => duban::cli::assignments::close_out(&data_dir, args).await,
        Command::Watch(args) => duban::cli::assignments::watch(&data_dir, args).await,
        Command::Reinspect(args) => duban::cli::assignments::reinspect(&data_dir, args).await,
        Command::Urge(args) => duban::cli::assignments::urge(&data_dir, args).await,
        Command::Judge(args) => duban::cli::assignments::judge(&data_dir, args).await,
        Command::Extend(args) => duban::cli::assignments::extend(&data_dir, args).await,
        Command::Suspend(args) => duban::cli::assignments::suspend(&data_dir, args).await,
        Command::Decide(args) => duban::cli::assignments::decide(&data_dir, args).await,
        Command::Resume(args) => duban::cli::assignments::resume(&data_dir, args).await,
        Command::Plan { command } => duban::cli::plans::plan(&data_dir, command).await,
        Command::Attention(args) => duban::cli::plans::attention(&data_dir, args).await,
        Command::Claims { command } => duban::cli::plans::claims(&data_dir, command).await,
        Command::Sources { command } => duban::cli::items::sources(&data_dir, command).await,
        Command::Items { command } => duban::cli::items::items(&data_dir, command).await,
        Command::Ledger { command } => duban::cli::items::ledger(&data_dir, settings.court_tz(), command).await,
    }
}
