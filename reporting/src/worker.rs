//! The worker (`duban worker`, and part of `duban dev`): fires the
//! schedules on the service clock, turns the assignment service's
//! reminders, urges and flags into notices (`notices.rs`), and delivers
//! mail from the job table.
//!
//! Delivery is at least once, with a stable Message-ID per report and
//! recipient: a job is leased (FOR UPDATE SKIP LOCKED, the attempt counted)
//! before anything is sent, and marked sent after the server's 250. A
//! worker that dies holding a lease loses nothing: the lease runs out and
//! another worker sends the job. A message the server had not accepted
//! when the worker died (the connection dropped before the final 250) was
//! never delivered, so sending it again makes one copy. Only a crash in the
//! instant between the server's 250 and our record of it sends twice, and
//! then under the same Message-ID, which mail stores recognise. A worker
//! asked to stop finishes the message it is sending, records it, and takes
//! no new one.

use crate::mail::{self, Mailer, Outgoing, SendError};
use crate::notices::Notices;
use crate::service::ReportingService;
use crate::store;
use duban_platform::configuration::ReportingSettings;
use lettre::message::Mailbox;
use std::time::Duration;
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
            match outcome {
                Ok(reply) => {
                    store::mark_sent(pool, job.id, &reply).await?;
                    tracing::info!(message_id = %job.message_id, "report delivered");
                }
                Err(SendError::Temporary(e)) if job.attempts < self.settings.max_attempts => {
                    let after = backoff(&self.settings, job.attempts);
                    tracing::warn!(error = %e, retry_in_secs = after, "temporary delivery failure");
                    store::mark_retry(pool, job.id, &e, after).await?;
                }
                Err(SendError::Temporary(e)) => {
                    tracing::error!(error = %e, "delivery failed: out of attempts");
                    store::mark_failed(pool, job.id, &format!("{e}(已尝试{}次)", job.attempts)).await?;
                }
                Err(SendError::Permanent(e)) => {
                    tracing::error!(error = %e, "delivery refused permanently");
                    store::mark_failed(pool, job.id, &e).await?;
                }
            }
            Ok::<(), duban_platform::Error>(())
        }
        .instrument(span)
        .await?;
        Ok(true)
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
