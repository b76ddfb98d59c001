//! Claiming (认领): the office publishes a registered, unassigned item — as
//! it does with 院长批示 through the OA — and a unit, or a leader for a unit
//! they supervise, claims it. The first claim leads (主办), later ones
//! co-operate (协办), until the office closes the offer.

use crate::assignment_store as store;
use crate::assignments::{AssignmentService, parse_id};
use crate::claim_store::{self, NewOffer, OfferRow};
use crate::convert::timestamp;
use duban_core::Role;
use duban_core::access::Action;
use duban_platform::auth::Principal;
use duban_platform::mutation::{Change, mutate};
use duban_platform::{Error, Result, page};
use duban_proto::assignment::v1 as pb;
use sqlx::PgConnection;
use uuid::Uuid;

fn message(o: &OfferRow) -> pb::ClaimOffer {
    pb::ClaimOffer {
        item_id: o.item_id.to_string(),
        item_number: o.item_number.clone().unwrap_or_default(),
        item_title: o.item_title.clone(),
        policy: o.policy.clone(),
        note: o.note.clone(),
        published_by: o.published_by.clone(),
        publish_time: Some(timestamp(o.published_at)),
        close_time: o.closed_at.map(timestamp),
        claimed_unit_ids: o.claimed.iter().map(|(id, _)| id.to_string()).collect(),
        claimed_unit_names: o.claimed.iter().map(|(_, name)| name.clone()).collect(),
    }
}

fn offer_change(action: &'static str, o: &OfferRow, unit_ids: Vec<Uuid>) -> Change {
    Change {
        action,
        target_kind: "item",
        target_id: o.item_id.to_string(),
        before: None,
        after: Some(serde_json::json!({
            "policy": o.policy, "note": o.note, "closed_at": o.closed_at,
            "claimed_unit_ids": o.claimed.iter().map(|(id, _)| id).collect::<Vec<_>>(),
        })),
        unit_ids,
    }
}

fn no_offer(item: Uuid) -> Error {
    Error::not_found("claim offer", "认领事项", item)
}

impl AssignmentService {
    pub async fn publish_for_claim(&self, p: &Principal, req: &pb::PublishForClaimRequest) -> Result<pb::ClaimOffer> {
        let item_id = parse_id("item_id", &req.item_id)?;
        let ctx = self.context(p, &req.request_id).await?;
        mutate(
            &self.pool,
            &ctx,
            "PublishForClaim",
            req,
            async |conn: &mut PgConnection| {
                let item = store::assignable_item(&mut *conn, item_id)
                    .await?
                    .ok_or_else(|| Error::not_found("item", "督办事项", item_id))?;
                let court = store::unit_contacts(&mut *conn, item.court_id)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("court missing"))?;
                p.authorize_on(Action::Assign, &court.ancestry)?;
                if !item.registered {
                    return Err(Error::precondition(
                        "only a registered item can be published for claiming",
                        "事项尚未立项,不能发布认领",
                    ));
                }
                if store::round_exists(&mut *conn, item_id, 1).await? {
                    return Err(Error::precondition("the item is already assigned", "该事项已交办"));
                }
                let policy = req.policy.trim();
                let (policy, _) = crate::store::policy(&mut *conn, policy)
                    .await?
                    .ok_or_else(|| Error::invalid("policy", "names no policy (see ListPolicies)", "督办规则不存在"))?;
                let new = NewOffer {
                    item_id,
                    court_id: item.court_id,
                    policy: &policy.name,
                    note: req.note.trim(),
                    by: &p.name,
                };
                if !claim_store::insert_offer(conn, &new, ctx.now).await? {
                    return Err(Error::precondition(
                        "the item is already published for claiming",
                        "该事项已发布认领",
                    ));
                }
                let offer = claim_store::offer(conn, item_id, false)
                    .await?
                    .ok_or_else(|| no_offer(item_id))?;
                let change = offer_change("item.published_for_claim", &offer, court.ancestry.clone());
                Ok((message(&offer), vec![change]))
            },
        )
        .await
    }

    pub async fn list_claim_offers(
        &self,
        p: &Principal,
        req: &pb::ListClaimOffersRequest,
    ) -> Result<pb::ListClaimOffersResponse> {
        p.authorize_role(Action::ReadLedger)?;
        let limit = page::page_size(req.page_size)?;
        let after = match page::decode(&req.page_token, 1)? {
            Some(k) => Some(parse_id("page_token", &k[0])?),
            None => None,
        };
        let scope = if p.is_admin() {
            None
        } else {
            Some(p.unit_scope.as_slice())
        };
        let mut conn = self.pool.acquire().await?;
        let mut rows = claim_store::list_offers(&mut conn, req.open_only, scope, after, limit + 1).await?;
        let next = page::cut(&mut rows, limit, |o| page::encode(&[&o.item_id.to_string()]));
        Ok(pb::ListClaimOffersResponse {
            offers: rows.iter().map(message).collect(),
            next_page_token: next,
        })
    }

    pub async fn claim(&self, p: &Principal, req: &pb::ClaimRequest) -> Result<pb::Assignment> {
        let item_id = parse_id("item_id", &req.item_id)?;
        let unit_id = parse_id("unit_id", &req.unit_id)?;
        let ctx = self.context(p, &req.request_id).await?;
        mutate(&self.pool, &ctx, "Claim", req, async |conn: &mut PgConnection| {
            let unit = store::unit_contacts(&mut *conn, unit_id)
                .await?
                .ok_or_else(|| Error::not_found("unit", "单位", unit_id))?;
            p.authorize_on(Action::Claim, &unit.ancestry)?;
            self.check_claimant(conn, p, unit_id).await?;
            // The offer's row lock orders concurrent claims: one leads.
            let offer = claim_store::offer(conn, item_id, true)
                .await?
                .ok_or_else(|| no_offer(item_id))?;
            if offer.closed_at.is_some() {
                return Err(Error::precondition("the offer is closed", "该事项认领已截止"));
            }
            if offer.claimed.iter().any(|(id, _)| *id == unit_id) {
                return Err(Error::precondition(
                    format!("{} has already claimed the item", unit.name),
                    format!("{}已认领该事项", unit.name),
                ));
            }
            let item = store::assignable_item(&mut *conn, item_id)
                .await?
                .ok_or_else(|| Error::not_found("item", "督办事项", item_id))?;
            let role = if offer.claimed.is_empty() { "lead" } else { "co" };
            let (mut out, changes) = self
                .create_assignments(
                    conn,
                    &item,
                    1,
                    &[(unit_id, role)],
                    &offer.policy,
                    "assignment.claimed",
                    &ctx,
                    ctx.now,
                )
                .await?;
            Ok((out.pop().expect("one assignment"), changes))
        })
        .await
    }

    /// A unit's head or liaison claims for their own unit; a leader for a unit
    /// they supervise (分管).
    async fn check_claimant(&self, conn: &mut PgConnection, p: &Principal, unit: Uuid) -> Result<()> {
        let own_unit = (p.has_role(Role::UnitHead) || p.has_role(Role::UnitLiaison)) && p.unit_scope.contains(&unit);
        if p.is_admin() || own_unit {
            return Ok(());
        }
        let supervises = match p.person_id {
            Some(leader) => claim_store::supervises(&mut *conn, leader, unit).await?,
            None => false,
        };
        if supervises {
            return Ok(());
        }
        Err(Error::PermissionDenied {
            reason: "a unit claims for itself, or a leader for a unit they supervise".into(),
            reason_zh: "只能为本单位认领,或由分管领导为其分管单位认领".into(),
        })
    }

    pub async fn close_claim_offer(&self, p: &Principal, req: &pb::CloseClaimOfferRequest) -> Result<pb::ClaimOffer> {
        let item_id = parse_id("item_id", &req.item_id)?;
        let ctx = self.context(p, &req.request_id).await?;
        mutate(
            &self.pool,
            &ctx,
            "CloseClaimOffer",
            req,
            async |conn: &mut PgConnection| {
                let offer = claim_store::offer(conn, item_id, true)
                    .await?
                    .ok_or_else(|| no_offer(item_id))?;
                let court = store::unit_contacts(&mut *conn, offer.court_id)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("court missing"))?;
                p.authorize_on(Action::Assign, &court.ancestry)?;
                if offer.closed_at.is_some() {
                    return Err(Error::precondition("the offer is already closed", "该事项认领已截止"));
                }
                claim_store::close_offer(conn, item_id, ctx.now).await?;
                let offer = claim_store::offer(conn, item_id, false)
                    .await?
                    .ok_or_else(|| no_offer(item_id))?;
                Ok((
                    message(&offer),
                    vec![offer_change("item.claim_closed", &offer, court.ancestry.clone())],
                ))
            },
        )
        .await
    }
}
