//! The worker (`duban worker`, and part of `duban dev`): fires the
//! schedules on the service clock, turns the assignment service's
//! reminders, urges and flags into notices (`notices.rs`), and delivers
//! mail from the job table.
//!
//! Delivery is at least once, with a stable Message-ID per report and
//! recipient: a job is leased (FOR UPDATE SKIP LOCKED, the attempt counted,
//! a fresh lease token) before anything is sent, and marked sent after the
//! server's 250 — retried with backoff while the lease lasts if the
//! database cannot be reached just then, and applied only while the lease
//! token is still the job's. A worker that dies holding a lease loses
//! nothing: the lease runs out and another worker sends the job. A second
//! copy, under the same Message-ID that mail stores recognise, is sent only
//! when the server kept a message but its 250 did not reach us (the
//! connection dropped between its storing and its answer), or when the 250
//! could not be recorded before the lease ran out (a crash, or a database
//! outage longer than the lease). A worker asked to stop finishes the
//! message it is sending, records it, and takes no new one.

use crate::mail::{self, Mailer, Outgoing, SendError};
use crate::notices::Notices;
use crate::service::ReportingService;
use crate::store;
use duban_platform::configuration::ReportingSettings;
use lettre::message::Mailbox;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub struct Worker {
    service: ReportingService,
    mailer: Mailer,
    settings: ReportingSettings,
    from: Mailbox,
    notices: Notices,
}

/// Seconds to wait before attempt `attempts + 1` after a temporary failure.
pub fn backoff(settings: &ReportingSettings, attempts: i32) -> f64 {
    let exp = (attempts - 1).clamp(0, 30);
    (settings.retry_base_secs * 2f64.powi(exp)).min(settings.retry_max_secs)
}

impl Worker {
    pub fn new(service: ReportingService, mailer: Mailer, settings: &ReportingSettings) -> anyhow::Result<Self> {
        let from: Mailbox = format!("{} <{}>", settings.from_name, settings.from_address)
            .parse()
            .map_err(|e| anyhow::anyhow!("reporting.from_address: {e}"))?;
        Ok(Self {
            service,
            mailer,
            settings: settings.clone(),
            from,
            notices: Notices::new()?,
        })
    }

    pub fn describe_mail(&self) -> String {
        self.mailer.describe()
    }

    /// Runs until `shutdown`: fires what is due, delivers what is queued,
    /// then waits for the next poll.
    pub async fn run(self, shutdown: CancellationToken) {
        tracing::info!(mail = %self.mailer.describe(), "reporting worker started");
        if let Err(e) = store::seed_rules(self.service.pool()).await {
            tracing::warn!(error = %e, "seeding the countermeasure table failed");
        }
        let poll = Duration::from_millis(self.settings.poll_interval_ms.max(10));
        let catch_up = chrono::Duration::hours(self.settings.catch_up_hours.max(0));
        loop {
            match self.service.fire_due(catch_up).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(reports = n, "scheduled reports issued"),
                Err(e) => tracing::warn!(error = %e, "firing schedules failed; retrying"),
            }
            if self.settings.notices
                && let Err(e) = self.notices.catch_up(&self.service).await
            {
                tracing::warn!(error = %e, "noticing assignment events failed; retrying");
            }
            loop {
                if shutdown.is_cancelled() {
                    tracing::info!("reporting worker stopped");
                    return;
                }
                match self.deliver_one().await {
                    Ok(true) => continue,
                    Ok(false) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "delivery failed; retrying");
                        break;
                    }
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => {
                    tracing::info!("reporting worker stopped");
                    return;
                }
                _ = tokio::time::sleep(poll) => {}
            }
        }
    }

    /// Leases and sends one delivery; false when none is due.
    pub async fn deliver_one(&self) -> duban_platform::Result<bool> {
        let pool = self.service.pool();
        let Some(job) = store::lease(pool, self.settings.lease_secs).await? else {
            return Ok(false);
        };
        // Taken after the lease was granted: never earlier than the
        // database's end of it, so it bounds how long recording may retry.
        let lease_ends = Instant::now() + Duration::from_secs_f64(self.settings.lease_secs.max(0.0));
        let mut failed_after = String::new();
        let span = tracing::info_span!("delivery", id = %job.id, to = %job.recipient_email, attempt = job.attempts);
        async {
            let outcome = match mail::build(&Outgoing {
                message_id: &job.message_id,
                from: &self.from,
                to_name: &job.recipient_name,
                to_email: &job.recipient_email,
                subject: &job.subject,
                html: &job.html,
                text: &job.text_body,
                attachment: job.attachment_name.as_deref().zip(job.attachment.as_deref()),
                date: job.issued_at,
            }) {
                Ok(message) => self.mailer.send(&message, &job.message_id).await,
                Err(e) => Err(e),
            };
            let recorded = match &outcome {
                Ok(reply) => {
                    tracing::info!(message_id = %job.message_id, "report delivered");
                    store::Outcome::Sent { reply }
                }
                Err(SendError::Temporary(e)) if job.attempts < self.settings.max_attempts => {
                    let after = backoff(&self.settings, job.attempts);
                    tracing::warn!(error = %e, retry_in_secs = after, "temporary delivery failure");
                    store::Outcome::Retry {
                        error: e,
                        after_secs: after,
                    }
                }
                Err(SendError::Temporary(e)) => {
                    tracing::error!(error = %e, "delivery failed: out of attempts");
                    failed_after = format!("{e}(已尝试{}次)", job.attempts);
                    store::Outcome::Failed { error: &failed_after }
                }
                Err(SendError::Permanent(e)) => {
                    tracing::error!(error = %e, "delivery refused permanently");
                    store::Outcome::Failed { error: e }
                }
            };
            self.record(&job, lease_ends, recorded).await?;
            Ok::<(), duban_platform::Error>(())
        }
        .instrument(span)
        .await?;
        Ok(true)
    }

    /// Records what the server said, retrying with backoff while the lease
    /// lasts: a message the server has accepted must not be sent again just
    /// because the database blinked right after. Past the lease another
    /// worker may have taken the delivery over; the lease token keeps this
    /// worker from overwriting that one's outcome.
    async fn record(
        &self,
        job: &store::Job,
        lease_ends: Instant,
        outcome: store::Outcome<'_>,
    ) -> duban_platform::Result<()> {
        let mut wait = Duration::from_millis(100);
        loop {
            match store::record(self.service.pool(), job.id, job.lease_token, outcome).await {
                Ok(true) => return Ok(()),
                Ok(false) => {
                    tracing::warn!("the lease ran out and another worker took the delivery over; its outcome stands");
                    return Ok(());
                }
                Err(e) if Instant::now() + wait < lease_ends => {
                    tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "recording the delivery's outcome failed; retrying while the lease lasts");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(2));
                }
                Err(e) => {
                    tracing::error!(error = %e, "the delivery's outcome could not be recorded before the lease ran out; it will be sent again under the same Message-ID");
                    return Err(e);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let s = ReportingSettings::default();
        assert_eq!(
            (1..=9).map(|a| backoff(&s, a)).collect::<Vec<_>>(),
            [30.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 3600.0, 3600.0]
        );
    }
}
