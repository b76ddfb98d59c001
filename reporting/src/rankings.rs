//! Where a bulletin's appraisal ranking (考评排名) comes from. Scores are
//! computed by the appraisal service's own code from its facts and rules,
//! not stored anywhere SQL could read them, so the suite hands the worker a
//! source that asks that service (in process, see `duban::app`). Without one
//! the bulletin leaves the section out: it never shows a made-up ranking.

use crate::model::RankGroup;
use futures::future::BoxFuture;
use uuid::Uuid;

pub trait Rankings: Send + Sync {
    /// The ranking groups (grassroots courts, departments) of `court` for a
    /// period key (`2026-10`, `2026-Q4`, `2026`); empty when nothing is scored.
    fn ranking<'a>(&'a self, period: &'a str, court: Uuid) -> BoxFuture<'a, anyhow::Result<Vec<RankGroup>>>;
}
