//! Re-inspection (回头看 / 再督查): the office looks again at an item whose
//! assignments are all verified or written off. A failed re-inspection
//! reopens the item with a new round of assignments to the same units.

use crate::assignment_store as store;
use crate::assignments::{AssignmentService, parse_id};
use duban_core::access::Action;
use duban_platform::auth::Principal;
use duban_platform::mutation::{Change, mutate};
use duban_platform::{Error, Result};
use duban_proto::assignment::v1 as pb;
use sqlx::PgConnection;

impl AssignmentService {
    pub async fn reinspect(&self, p: &Principal, req: &pb::ReInspectRequest) -> Result<pb::ReInspectResponse> {
        let item_id = parse_id("item_id", &req.item_id)?;
        let findings = req.findings.trim().to_owned();
        if findings.is_empty() {
            return Err(Error::invalid(
                "findings",
                "is required: what did the re-inspection find?",
                "须写明回头看发现的情况",
            ));
        }
        let ctx = self.context(p, &req.request_id).await?;
        mutate(&self.pool, &ctx, "ReInspect", req, async |conn: &mut PgConnection| {
            let item = store::assignable_item(&mut *conn, item_id)
                .await?
                .ok_or_else(|| Error::not_found("item", "督办事项", item_id))?;
            let court = store::unit_contacts(&mut *conn, item.court_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("court missing"))?;
            p.authorize_on(Action::Verify, &court.ancestry)?;
            let latest = store::latest_round(&mut *conn, item_id).await?;
            let Some((round, first, _, _, _)) = latest.first().cloned() else {
                return Err(Error::precondition("the item has not been assigned", "该事项尚未交办"));
            };
            if latest
                .iter()
                .any(|(_, _, _, _, state)| state != "verified" && state != "closed_out")
            {
                return Err(Error::precondition(
                    "some assignments of the item are still open",
                    "该事项尚有未办结的交办事项,不能回头看",
                ));
            }
            store::insert_reinspection(
                conn,
                item_id,
                round,
                req.passed,
                &findings,
                &ctx.principal.name,
                ctx.now,
            )
            .await?;
            let mut changes = vec![Change {
                action: if req.passed {
                    "item.reinspection_passed"
                } else {
                    "item.reinspection_failed"
                },
                target_kind: "item",
                target_id: item_id.to_string(),
                before: None,
                after: Some(serde_json::json!({ "round": round, "passed": req.passed, "findings": findings })),
                unit_ids: court.ancestry.clone(),
            }];
            if req.passed {
                return Ok((
                    pb::ReInspectResponse {
                        round,
                        passed: true,
                        assignments: Vec::new(),
                    },
                    changes,
                ));
            }
            let policy = store::assignment(conn, first, false)
                .await?
                .map(|a| a.policy)
                .unwrap_or_default();
            let (assignments, more) = self.create_round(conn, &item, round + 1, &policy, &ctx).await?;
            changes.extend(more);
            Ok((
                pb::ReInspectResponse {
                    round,
                    passed: false,
                    assignments,
                },
                changes,
            ))
        })
        .await
    }
}
