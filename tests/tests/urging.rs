//! Urging and escalation on the dev clock: a reminder before the deadline,
//! an automatic numbered urge when it is missed (once, however many sweeps),
//! answers judged, and the 通报批评 flag after two urges without a justified
//! answer.

use duban_core::Role;
use duban_proto::assignment::v1 as pb;
use duban_proto::registry::v1 as reg;
use duban_tests::{TestApp, get_assignment, rid, urge, uuid};
use std::time::Duration;

#[tokio::test]
async fn reminders_urges_and_the_criticism_flag() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    app.set_clock("2026-09-30T10:00:00+08:00").await;
    let court = app.unit_by_code("jczy").await;
    let zxj = app.unit_by_code("jczy-zxj").await;
    let item = app
        .registered_item(reg::Item {
            title: "终本案件集中清查".into(),
            lead_unit_id: zxj.id.clone(),
            ..Default::default()
        })
        .await;
    let mut office = app
        .assignments(&app.token(&[Role::OfficeSupervisor], &[uuid(&court.id)]).await)
        .await;
    let a = office
        .assign_item(pb::AssignItemRequest {
            request_id: rid(),
            item_id: item.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .assignments[0]
        .clone();

    // 9-30: deploy is due 10-08, the next working day: a reminder, once.
    app.eventually("assignment.reminder", 1).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(app.count_events("assignment.reminder").await, 1);

    // 10-09: deploy missed: urge no. 1, automatically, once.
    app.set_clock("2026-10-09T09:00:00+08:00").await;
    app.eventually("assignment.urged", 1).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let now = office
        .get_assignment(pb::GetAssignmentRequest { id: a.id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(now.urges.len(), 1, "{:?}", now.urges);
    let first = now.urges[0].clone();
    assert_eq!(
        (first.seq, first.kind.as_str(), first.milestone.as_str()),
        (1, "automatic", "deploy")
    );
    // Answer due 24:00 of the next working day, the make-up Saturday 10-10.
    let due = chrono::DateTime::parse_from_rfc3339("2026-10-11T00:00:00+08:00")
        .unwrap()
        .timestamp();
    assert_eq!(first.answer_due_time.unwrap().seconds, due);
    assert_eq!(now.light, "red");

    // The unit answers; the office finds the reason not justified: one against.
    let mut unit = app
        .assignments(&app.token(&[Role::UnitLiaison], &[uuid(&zxj.id)]).await)
        .await;
    let now = unit
        .submit_feedback(pb::SubmitFeedbackRequest {
            request_id: rid(),
            id: a.id.clone(),
            etag: now.etag.clone(),
            kind: "urge_response".into(),
            text: "国庆假期值班人员未及时签收".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(now.urges[0].response_time.is_some());
    let now = office
        .judge_urge_response(pb::JudgeUrgeResponseRequest {
            request_id: rid(),
            id: a.id.clone(),
            etag: now.etag.clone(),
            urge_id: first.id.clone(),
            justified: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(now.urges[0].justified, Some(false));
    assert!(now.flagged_time.is_none());
    // With nothing left to answer, an urge response is refused.
    let err = unit
        .submit_feedback(pb::SubmitFeedbackRequest {
            request_id: rid(),
            id: a.id.clone(),
            etag: now.etag.clone(),
            kind: "urge_response".into(),
            text: "再次说明".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);

    // The office urges by hand (no. 2); it goes unanswered past 10-10 24:00.
    let now = urge(&mut office, &now, "请立即签收并报送部署情况").await;
    assert_eq!((now.urges[1].seq, now.urges[1].kind.as_str()), (2, "manual"));
    app.set_clock("2026-10-12T09:00:00+08:00").await;
    app.eventually("assignment.flagged", 1).await;
    let now = office
        .get_assignment(pb::GetAssignmentRequest { id: a.id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert!(now.flagged_time.is_some());
    assert!(now.flag_reason.contains("经催办2次"), "{}", now.flag_reason);
    // The initial report (due 10-10) was missed as well: urge no. 3.
    app.eventually("assignment.urged", 3).await;
    let now = office
        .get_assignment(pb::GetAssignmentRequest { id: a.id.clone() })
        .await
        .unwrap()
        .into_inner();
    let seqs: Vec<(i32, String)> = now.urges.iter().map(|u| (u.seq, u.milestone.clone())).collect();
    assert_eq!(
        seqs,
        [(1, "deploy".to_owned()), (2, String::new()), (3, "initial".to_owned())]
    );
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(app.count_events("assignment.flagged").await, 1, "flagged once");

    // Into November: the resolution (10-15) is long missed and October
    // passed without a progress report: urged for it, once.
    app.set_clock("2026-11-02T09:00:00+08:00").await;
    app.eventually("assignment.urged", 5).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let now = office
        .get_assignment(pb::GetAssignmentRequest { id: a.id.clone() })
        .await
        .unwrap()
        .into_inner();
    let monthly: Vec<&pb::UrgeRecord> = now.urges.iter().filter(|u| u.kind == "monthly").collect();
    assert_eq!(monthly.len(), 1, "{:?}", now.urges);
    assert_eq!(monthly[0].period, "2026-10");
    assert!(monthly[0].note.contains("2026年10月"), "{}", monthly[0].note);
    assert!(
        now.urges
            .iter()
            .any(|u| u.kind == "automatic" && u.milestone == "resolve")
    );
    app.stop().await;
}

/// Sweeps in several replicas at once flag each assignment, and announce it,
/// exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sweeps_flag_once() {
    use duban_assignment::assignments::AssignmentService;
    use duban_platform::clock::Clock;
    let app = TestApp::spawn().await;
    app.load_demo().await;
    app.set_clock("2026-09-30T09:00:00+08:00").await;
    let court = app.unit_by_code("jczy").await;
    let zxj = app.unit_by_code("jczy-zxj").await;
    let mut office = app
        .assignments(&app.token(&[Role::OfficeSupervisor], &[uuid(&court.id)]).await)
        .await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let item = app
            .registered_item(reg::Item {
                title: format!("并发催办{i}"),
                lead_unit_id: zxj.id.clone(),
                ..Default::default()
            })
            .await;
        let a = office
            .assign_item(pb::AssignItemRequest {
                request_id: rid(),
                item_id: item.id.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .assignments[0]
            .clone();
        ids.push(a.id);
    }
    // 10-09: deploy (due 10-08) missed, urged automatically; the office urges
    // again by hand. Neither is answered.
    app.set_clock("2026-10-09T09:00:00+08:00").await;
    app.eventually("assignment.urged", 6).await;
    for id in &ids {
        let a = get_assignment(&mut office, id).await;
        urge(&mut office, &a, "请速办理").await;
    }
    // Once both answer deadlines have passed, eight replicas sweep at once
    // (with the suite's own sweep).
    app.set_clock("2026-10-13T09:00:00+08:00").await;
    let sweepers: Vec<AssignmentService> = (0..8)
        .map(|_| {
            AssignmentService::new(
                app.db.pool.clone(),
                Clock::shared(app.db.pool.clone()),
                chrono_tz::Asia::Shanghai,
            )
        })
        .collect();
    futures::future::join_all(sweepers.iter().map(|s| s.sweep())).await;
    app.eventually("assignment.flagged", 6).await;
    let per_assignment: Vec<i64> = sqlx::query_scalar(
        "SELECT count(*) FROM platform.events WHERE event_type = 'assignment.flagged' GROUP BY subject_id",
    )
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(per_assignment, [1; 6]);
    app.stop().await;
}
