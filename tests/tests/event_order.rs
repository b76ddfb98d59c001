//! Event order across a power of ten of transaction ids. In a file of its
//! own: burning transaction ids holds back the cluster-wide xmin, which
//! would stall the event tests running beside it (test binaries run one at
//! a time).

use duban_platform::events::{self, Cursor};
use duban_platform::test_db::TestDatabase;
use duban_tests::write_test_event;

/// Transaction ids are compared as numbers, not text: events written on
/// both sides of a power of ten (xid 99…9 and 10…0) come out in commit
/// order, and a cursor never goes back (it did when ordered by the text).
#[tokio::test]
async fn events_stay_in_order_across_a_power_of_ten_of_transaction_ids() {
    let db = TestDatabase::fresh().await.unwrap();
    let pool = &db.pool;
    let next_xid = async || -> u64 {
        let s: String = sqlx::query_scalar("SELECT (pg_current_xact_id()::text::bigint + 1)::text")
            .fetch_one(pool)
            .await
            .unwrap();
        s.parse().unwrap()
    };
    let now = next_xid().await;
    let power = 10u64.pow((now + 20).to_string().len() as u32);
    // Subtransactions that write each take an id: burn to a few below the
    // power of ten (each check takes one too).
    let mut ids = Vec::new();
    loop {
        let next = next_xid().await;
        if next + 8 >= power {
            break;
        }
        let mut conn = pool.acquire().await.unwrap();
        sqlx::query("CREATE TEMP TABLE IF NOT EXISTS burn (n int)")
            .execute(&mut *conn)
            .await
            .unwrap();
        let burn = format!(
            "DO $$ BEGIN FOR i IN 1..{} LOOP BEGIN INSERT INTO burn VALUES (1); \
             EXCEPTION WHEN others THEN NULL; END; END LOOP; END $$",
            power - next - 8
        );
        sqlx::query(sqlx::AssertSqlSafe(burn))
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    // One event per transaction until the ids have crossed the power of ten.
    let mut xids = Vec::new();
    while xids.last().is_none_or(|x| *x < power) {
        let mut tx = pool.begin().await.unwrap();
        ids.push(write_test_event(&mut tx, &format!("e{}", ids.len())).await);
        let xid: String = sqlx::query_scalar("SELECT pg_current_xact_id()::text")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        xids.push(xid.parse::<u64>().unwrap());
    }
    assert!(
        xids.first().unwrap() < &power && xids.last().unwrap() >= &power,
        "{xids:?} around {power}"
    );
    // Read one at a time: each step moves the cursor forward, and the events
    // arrive in the order they were written, each once.
    let mut cursor = Cursor::START;
    let mut seen = Vec::new();
    loop {
        let batch = events::read_after(pool, cursor, 1, &Default::default()).await.unwrap();
        let Some(e) = batch.first() else { break };
        assert!(e.cursor > cursor, "cursor must only move forward");
        cursor = e.cursor;
        seen.push(e.id);
    }
    assert_eq!(seen, ids);
}
