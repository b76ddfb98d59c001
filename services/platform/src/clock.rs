//! The one source of "now" for domain logic. Production reads the system
//! clock; dev and test runs may share a clock stored in Postgres, which every
//! process reads, and which a test can set and move forward.

use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor, PgPool};

#[derive(Clone)]
pub enum Clock {
    System,
    Shared(PgPool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockState {
    pub now: DateTime<Utc>,
    pub frozen: bool,
}

const NOW_SQL: &str = "SELECT CASE WHEN frozen THEN base_virtual \
                       ELSE base_virtual + (clock_timestamp() - base_real) END, frozen \
                       FROM platform.dev_clock WHERE id = 1";

impl Clock {
    /// The shared clock. Enabling it is logged loudly: it must never happen in
    /// production. Call [`Clock::ensure_ready`] once the schema exists.
    pub fn shared(pool: PgPool) -> Self {
        tracing::warn!("dev clock enabled: time comes from platform.dev_clock, not the system clock");
        Clock::Shared(pool)
    }

    /// Creates the shared clock's row (starting at real time, running) when
    /// absent; nothing to do for the system clock.
    pub async fn ensure_ready(&self) -> Result<()> {
        if let Clock::Shared(pool) = self {
            sqlx::query(
                "INSERT INTO platform.dev_clock (id, base_virtual, base_real, frozen) \
                 VALUES (1, clock_timestamp(), clock_timestamp(), false) ON CONFLICT (id) DO NOTHING",
            )
            .execute(pool)
            .await?;
        }
        Ok(())
    }

    pub fn is_shared(&self) -> bool {
        matches!(self, Clock::Shared(_))
    }

    pub async fn now(&self) -> Result<DateTime<Utc>> {
        Ok(self.state().await?.now)
    }

    /// Now, read on `conn`: inside a transaction, the shared clock as of
    /// that transaction's snapshot, so that it agrees with what else the
    /// transaction reads even when a test moves the clock meanwhile.
    pub async fn now_on(&self, conn: &mut PgConnection) -> Result<DateTime<Utc>> {
        match self {
            Clock::System => Ok(Utc::now()),
            Clock::Shared(_) => Ok(read_shared(conn).await?.now),
        }
    }

    pub async fn state(&self) -> Result<ClockState> {
        match self {
            Clock::System => Ok(ClockState {
                now: Utc::now(),
                frozen: false,
            }),
            Clock::Shared(pool) => read_shared(pool).await,
        }
    }

    /// Sets the shared clock, inside the caller's transaction; fails on the
    /// system clock.
    pub async fn set(&self, conn: &mut PgConnection, to: DateTime<Utc>, frozen: bool) -> Result<ClockState> {
        self.shared_pool()?;
        sqlx::query(
            "UPDATE platform.dev_clock SET base_virtual = $1, base_real = clock_timestamp(), frozen = $2 WHERE id = 1",
        )
        .bind(to)
        .bind(frozen)
        .execute(&mut *conn)
        .await?;
        read_shared(conn).await
    }

    /// Moves the shared clock forward by `by`, inside the caller's transaction.
    pub async fn advance(&self, conn: &mut PgConnection, by: chrono::Duration) -> Result<ClockState> {
        if by < chrono::Duration::zero() {
            return Err(Error::invalid("by", "must not be negative", "时间只能向前调整"));
        }
        self.shared_pool()?;
        let micros = by
            .num_microseconds()
            .ok_or_else(|| Error::invalid("by", "is too large", "调整幅度过大"))?;
        sqlx::query(
            "UPDATE platform.dev_clock SET base_virtual = base_virtual + $1 * interval '1 microsecond' WHERE id = 1",
        )
        .bind(micros)
        .execute(&mut *conn)
        .await?;
        read_shared(conn).await
    }

    fn shared_pool(&self) -> Result<&PgPool> {
        match self {
            Clock::Shared(pool) => Ok(pool),
            Clock::System => Err(Error::precondition(
                "the dev clock is not enabled (DUBAN_DEV_CLOCK=true)",
                "未启用开发时钟",
            )),
        }
    }
}

async fn read_shared(db: impl PgExecutor<'_>) -> Result<ClockState> {
    let (now, frozen): (DateTime<Utc>, bool) = sqlx::query_as(NOW_SQL).fetch_one(db).await?;
    Ok(ClockState { now, frozen })
}
