//! The demo's October 2026, so that its reports have something to say:
//! on first load, with the dev clock, the demo court's items are assigned
//! on 10-09 and followed through October — some acknowledged, reported and
//! verified (one late), one progress report copying the last (进展虚化), a
//! delay explanation, the rest left to the automatic urges and the 通报批评
//! flag — then the clock goes back to where it was. Each step goes through
//! the assignment service, exactly as a unit and the office would take it.

use duban_assignment::assignments::AssignmentService;
use duban_platform::auth::Principal;
use duban_platform::clock::Clock;
use duban_proto::assignment::v1 as pb;
use sqlx::PgPool;

/// The demo's first load: nothing assigned yet.
pub async fn first_load(assignments: &AssignmentService, admin: &Principal) -> anyhow::Result<bool> {
    let list = assignments
        .list(
            admin,
            &pb::ListAssignmentsRequest {
                page_size: 1,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(list.assignments.is_empty())
}

/// Sets the shared clock, frozen, to court time `rfc3339`.
pub async fn set_clock(pool: &PgPool, clock: &Clock, rfc3339: &str, frozen: bool) -> anyhow::Result<()> {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339)?.with_timezone(&chrono::Utc);
    let mut conn = pool.acquire().await?;
    clock
        .set(&mut conn, t, frozen)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

struct Walk<'a> {
    assignments: &'a AssignmentService,
    pool: &'a PgPool,
    clock: &'a Clock,
    admin: &'a Principal,
}

impl Walk<'_> {
    async fn at(&self, rfc3339: &str) -> anyhow::Result<()> {
        set_clock(self.pool, self.clock, rfc3339, true).await?;
        self.assignments.sweep().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(())
    }

    async fn etag(&self, id: &str) -> String {
        self.assignments
            .get(self.admin, id)
            .await
            .map(|a| a.etag)
            .unwrap_or_default()
    }

    /// A step the demo can do without: logged when refused.
    fn note<T>(&self, what: &str, r: duban_platform::Result<T>) {
        if let Err(e) = r {
            tracing::warn!(step = what, error = %e, "demo history step skipped");
        }
    }

    async fn ack(&self, id: &str, n: usize) {
        let req = pb::AcknowledgeRequest {
            request_id: format!("demo-history-ack-{n}"),
            id: id.into(),
            etag: self.etag(id).await,
            deployment: "召开专题会议研究部署,明确分管领导和具体承办人".into(),
        };
        self.note("acknowledge", self.assignments.acknowledge(self.admin, &req).await);
    }

    async fn feedback(&self, id: &str, n: usize, kind: &str, text: &str, figures: &[(&str, f64)]) {
        let delay = kind == "delay_explanation";
        let req = pb::SubmitFeedbackRequest {
            request_id: format!("demo-history-{kind}-{n}"),
            id: id.into(),
            etag: self.etag(id).await,
            kind: kind.into(),
            text: text.into(),
            reason: if delay { "coordination".into() } else { String::new() },
            next_steps: if delay {
                "已商请相关单位配合,力争两周内办结".into()
            } else {
                String::new()
            },
            progress: figures
                .iter()
                .map(|(what, v)| duban_proto::registry::v1::Target {
                    what: (*what).into(),
                    target_value: *v,
                    unit_of_measure: "件".into(),
                })
                .collect(),
            ..Default::default()
        };
        self.note(kind, self.assignments.feedback(self.admin, &req).await);
    }

    async fn verify(&self, id: &str, n: usize) {
        let req = pb::VerifyRequest {
            request_id: format!("demo-history-verify-{n}"),
            id: id.into(),
            etag: self.etag(id).await,
            accept: true,
            grade: "good".into(),
            checked: "调阅办结材料,抽查相关案卷".into(),
            ..Default::default()
        };
        self.note("verify", self.assignments.verify(self.admin, &req).await);
    }
}

/// Walks the demo's assignments (made on 10-09) through October 2026.
pub async fn walk_october(
    assignments: &AssignmentService,
    pool: &PgPool,
    clock: &Clock,
    admin: &Principal,
) -> anyhow::Result<()> {
    let w = Walk {
        assignments,
        pool,
        clock,
        admin,
    };
    let list = assignments
        .list(
            admin,
            &pb::ListAssignmentsRequest {
                page_size: 500,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut leads: Vec<pb::Assignment> = list.assignments.into_iter().filter(|a| a.role == "lead").collect();
    leads.sort_by(|a, b| a.item_number.cmp(&b.item_number));
    let ids: Vec<String> = leads.iter().map(|a| a.id.clone()).collect();
    let id = |n: usize| ids.get(n).cloned();
    let copied = "已对照任务清单逐项梳理,正在推进落实,下一步将继续加大工作力度。";
    // Assigned Friday 10-09: deploy due 10-10 (a make-up Saturday), initial
    // 10-13, a general item resolved by 10-19. The first was acknowledged
    // and reported on at once (load_follow_up).
    w.at("2026-10-09T15:00:00+08:00").await?;
    if let Some(a) = id(1) {
        w.ack(&a, 1).await;
        w.feedback(&a, 1, "initial", copied, &[("梳理问题", 12.0)]).await;
    }
    if let Some(a) = id(2) {
        w.ack(&a, 2).await;
    }
    w.at("2026-10-12T09:00:00+08:00").await?;
    if let Some(a) = id(2) {
        w.feedback(
            &a,
            2,
            "initial",
            "已梳理相关案件38件,逐案明确承办人。",
            &[("梳理案件", 38.0)],
        )
        .await;
    }
    if let Some(a) = id(3) {
        w.ack(&a, 3).await;
        w.feedback(&a, 3, "initial", "已制定工作方案,明确时间节点。", &[]).await;
    }
    w.at("2026-10-14T09:00:00+08:00").await?;
    w.at("2026-10-16T10:00:00+08:00").await?;
    if let Some(a) = id(0) {
        w.feedback(&a, 0, "completion", "方案已经院党组审议通过并印发执行。", &[])
            .await;
    }
    w.at("2026-10-19T10:00:00+08:00").await?;
    if let Some(a) = id(0) {
        w.verify(&a, 0).await;
    }
    w.at("2026-10-20T10:00:00+08:00").await?;
    if let Some(a) = id(2) {
        w.feedback(
            &a,
            2,
            "delay_explanation",
            "部分案件需与公安、不动产登记部门协调查控。",
            &[],
        )
        .await;
    }
    w.at("2026-10-21T10:00:00+08:00").await?;
    if let Some(a) = id(3) {
        w.feedback(&a, 3, "completion", "各项任务已落实完毕。", &[]).await;
    }
    w.at("2026-10-22T10:00:00+08:00").await?;
    if let Some(a) = id(3) {
        w.verify(&a, 3).await;
    }
    w.at("2026-10-23T10:00:00+08:00").await?;
    if let Some(a) = id(1) {
        w.feedback(&a, 1, "progress", copied, &[("梳理问题", 12.0)]).await;
    }
    w.at("2026-10-30T17:00:00+08:00").await?;
    tracing::info!(assignments = ids.len(), "demo October history loaded");
    Ok(())
}
