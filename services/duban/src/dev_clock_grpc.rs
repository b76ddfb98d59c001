//! `duban.platform.v1.DevClockService`: set and advance the shared dev clock.
//! Served only when the dev clock is enabled, to admins only; every change is
//! audited like any other mutation.

use duban_core::access::Action;
use duban_platform::clock::{Clock, ClockState};
use duban_platform::limits::admit;
use duban_platform::mutation::{Change, MutationContext, mutate};
use duban_platform::{Error, Result};
use duban_proto::platform::v1 as pb;
use duban_proto::platform::v1::dev_clock_service_server::{DevClockService, DevClockServiceServer};
use sqlx::{PgConnection, PgPool};
use tonic::{Request, Response, Status};

pub struct DevClockGrpc {
    pool: PgPool,
    clock: Clock,
}

fn state(s: ClockState) -> pb::ClockState {
    pb::ClockState {
        now: Some(prost_types::Timestamp {
            seconds: s.now.timestamp(),
            nanos: s.now.timestamp_subsec_nanos() as i32,
        }),
        frozen: s.frozen,
    }
}

fn change(before: ClockState, after: ClockState) -> Change {
    Change {
        action: "dev_clock.changed",
        target_kind: "dev_clock",
        target_id: "dev_clock".into(),
        before: Some(serde_json::json!({ "now": before.now, "frozen": before.frozen })),
        after: Some(serde_json::json!({ "now": after.now, "frozen": after.frozen })),
        unit_ids: Vec::new(),
    }
}

impl DevClockGrpc {
    pub fn new(pool: PgPool, clock: Clock) -> Self {
        Self { pool, clock }
    }

    pub fn into_server(self) -> DevClockServiceServer<Self> {
        DevClockServiceServer::new(self)
    }

    async fn change_clock<Req: prost::Message + prost::Name>(
        &self,
        request: &Request<Req>,
        request_id: &str,
        method: &'static str,
        to: impl AsyncFnOnce(&Clock, &mut PgConnection) -> Result<ClockState>,
    ) -> Result<pb::ClockState> {
        let p = admit(request)?;
        p.authorize_global(Action::ManageClock)?;
        let before = self.clock.state().await?;
        let ctx = MutationContext {
            principal: p,
            request_id: request_id.to_owned(),
            now: before.now,
            service: "platform",
        };
        mutate(
            &self.pool,
            &ctx,
            method,
            request.get_ref(),
            async |conn: &mut PgConnection| {
                let after = to(&self.clock, conn).await?;
                Ok((state(after), vec![change(before, after)]))
            },
        )
        .await
    }
}

#[tonic::async_trait]
impl DevClockService for DevClockGrpc {
    async fn get_time(&self, request: Request<pb::GetTimeRequest>) -> Result<Response<pb::ClockState>, Status> {
        admit(&request)?;
        Ok(Response::new(state(self.clock.state().await?)))
    }

    async fn set_time(&self, request: Request<pb::SetTimeRequest>) -> Result<Response<pb::ClockState>, Status> {
        let req = request.get_ref();
        let time = req
            .time
            .as_ref()
            .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
            .ok_or_else(|| Error::invalid("time", "is required", "须指定时间"))?;
        let frozen = req.frozen;
        let request_id = req.request_id.clone();
        let out = self
            .change_clock(
                &request,
                &request_id,
                "SetTime",
                async |c: &Clock, conn: &mut PgConnection| c.set(conn, time, frozen).await,
            )
            .await?;
        Ok(Response::new(out))
    }

    async fn advance(&self, request: Request<pb::AdvanceRequest>) -> Result<Response<pb::ClockState>, Status> {
        let req = request.get_ref();
        let by = req
            .by
            .as_ref()
            .map(|d| chrono::Duration::seconds(d.seconds) + chrono::Duration::nanoseconds(i64::from(d.nanos)))
            .ok_or_else(|| Error::invalid("by", "is required", "须指定调整幅度"))?;
        let request_id = req.request_id.clone();
        let out = self
            .change_clock(
                &request,
                &request_id,
                "Advance",
                async |c: &Clock, conn: &mut PgConnection| c.advance(conn, by).await,
            )
            .await?;
        Ok(Response::new(out))
    }
}
