//! The event cursor: commit-ordered and gap-free, even when transactions
//! commit in a different order than they wrote.

use duban_platform::events::{self, Cursor};
use duban_platform::test_db::TestDatabase;
use duban_tests::write_test_event;
use rand::Rng;
use sqlx::PgPool;
use std::collections::HashSet;
use std::time::Duration;

async fn drain(pool: &PgPool, cursor: &mut Cursor) -> Vec<i64> {
    let mut out = Vec::new();
    loop {
        let batch = events::read_after(pool, *cursor, 50, &Default::default())
            .await
            .unwrap();
        if batch.is_empty() {
            return out;
        }
        for e in batch {
            assert!(e.cursor > *cursor, "cursor must only move forward");
            *cursor = e.cursor;
            out.push(e.id);
        }
    }
}

/// Drains until `n` events came (or 10 s passed): events wait while any
/// older transaction of the cluster is open, and the other test of this
/// file writes into the same cluster meanwhile.
async fn drain_n(pool: &PgPool, cursor: &mut Cursor, n: usize) -> Vec<i64> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while out.len() < n && tokio::time::Instant::now() < deadline {
        out.extend(drain(pool, cursor).await);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    out
}

#[tokio::test]
async fn a_late_commit_is_never_skipped() {
    let db = TestDatabase::fresh().await.unwrap();
    let pool = &db.pool;
    let mut cursor = Cursor::START;

    // A starts first and takes the lower id, B commits first.
    let mut a = pool.begin().await.unwrap();
    let a_id = write_test_event(&mut a, "a").await;
    let mut b = pool.begin().await.unwrap();
    let b_id = write_test_event(&mut b, "b").await;
    b.commit().await.unwrap();
    assert!(a_id < b_id);

    // While A runs, B is held back: handing it out now would let a consumer
    // step past A's event for good.
    assert_eq!(drain(pool, &mut cursor).await, Vec::<i64>::new());
    a.commit().await.unwrap();
    assert_eq!(drain_n(pool, &mut cursor, 2).await, vec![a_id, b_id]);

    // And an event committed after the cursor moved still comes next.
    let mut c = pool.begin().await.unwrap();
    let c_id = write_test_event(&mut c, "c").await;
    c.commit().await.unwrap();
    assert_eq!(drain_n(pool, &mut cursor, 1).await, vec![c_id]);
    // A rolled-back event never appears: the next one after it does.
    let mut d = pool.begin().await.unwrap();
    write_test_event(&mut d, "d").await;
    d.rollback().await.unwrap();
    let mut e = pool.begin().await.unwrap();
    let e_id = write_test_event(&mut e, "e").await;
    e.commit().await.unwrap();
    assert_eq!(drain_n(pool, &mut cursor, 1).await, vec![e_id]);
    assert_eq!(drain(pool, &mut cursor).await, Vec::<i64>::new());
    // The cursor survives a round trip through its string form.
    let reparsed: Cursor = cursor.to_string().parse().unwrap();
    assert_eq!(reparsed, cursor);
}

#[tokio::test]
async fn concurrent_writers_and_a_polling_consumer_see_every_event_once() {
    const WRITERS: usize = 8;
    const EACH: usize = 25;
    let db = TestDatabase::fresh().await.unwrap();
    let pool = db.pool.clone();

    let consumer = {
        let pool = pool.clone();
        tokio::spawn(async move {
            let mut cursor = Cursor::START;
            let mut seen = Vec::new();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            while seen.len() < WRITERS * EACH && tokio::time::Instant::now() < deadline {
                seen.extend(drain(&pool, &mut cursor).await);
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
            seen
        })
    };
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let pool = pool.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..EACH {
                let mut tx = pool.begin().await.unwrap();
                write_test_event(&mut tx, &format!("{w}-{i}")).await;
                let pause = rand::rng().random_range(0..15);
                tokio::time::sleep(Duration::from_millis(pause)).await;
                tx.commit().await.unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let seen = consumer.await.unwrap();
    let unique: HashSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "an event was delivered twice");
    let all: Vec<i64> = sqlx::query_scalar("SELECT id FROM platform.events ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(all.len(), WRITERS * EACH);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(sorted, all, "an event was skipped");
}
