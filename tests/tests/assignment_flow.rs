//! An item's follow-up on the dev clock: assigned across the 2026 National
//! Day holiday to two units, lights changing with time, acknowledged,
//! reported, returned, reported again, verified, written off the next Monday.

use duban_core::Role;
use duban_proto::assignment::v1 as pb;
use duban_proto::registry::v1 as reg;
use duban_tests::{TestApp, date as d, get_assignment, rid, uuid};
use tonic::Code;

fn due(a: &pb::Assignment) -> Vec<(String, reg::Date)> {
    a.milestones
        .iter()
        .map(|m| (m.kind.clone(), m.due_date.unwrap()))
        .collect()
}

#[tokio::test]
async fn an_item_followed_from_assignment_to_close_out() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    app.set_clock("2026-09-30T10:00:00+08:00").await;
    let mut registry = app.admin().await;
    let zxj = app.unit_by_code("jczy-zxj").await;
    let lat = app.unit_by_code("jczy-lat").await;
    let court = app.unit_by_code("jczy").await;
    let item = app
        .draft_item(reg::Item {
            title: "涉企执行案件专项清理".into(),
            lead_unit_id: zxj.id.clone(),
            co_unit_ids: vec![lat.id.clone()],
            ..Default::default()
        })
        .await;
    let mut admin = app.assignments(&app.admin_token).await;
    // Not registered yet: cannot be assigned.
    let err = admin
        .assign_item(pb::AssignItemRequest {
            request_id: rid(),
            item_id: item.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let item = app.register(item).await;

    // 交办 by the office supervisor, on the eve of National Day.
    let supervisor = app.token(&[Role::OfficeSupervisor], &[uuid(&court.id)]).await;
    let assigned = app
        .assignments(&supervisor)
        .await
        .assign_item(pb::AssignItemRequest {
            request_id: rid(),
            item_id: item.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .assignments;
    assert_eq!(assigned.len(), 2);
    let lead = assigned.iter().find(|a| a.role == "lead").unwrap().clone();
    let co = assigned.iter().find(|a| a.role == "co").unwrap().clone();
    assert_eq!(
        (
            lead.head.as_ref().unwrap().name.as_str(),
            lead.liaison.as_ref().unwrap().name.as_str()
        ),
        ("胡振宇", "彭悦")
    );
    assert_eq!(
        (
            co.head.as_ref().unwrap().name.as_str(),
            co.liaison.as_ref().unwrap().name.as_str()
        ),
        ("王建华", "李晓婷")
    );
    let expected = vec![
        ("deploy".to_owned(), d(2026, 10, 8)),
        ("initial".to_owned(), d(2026, 10, 10)),
        ("resolve".to_owned(), d(2026, 10, 15)),
    ];
    assert_eq!(due(&lead), expected);
    assert_eq!(due(&co), expected);
    assert_eq!(lead.milestones[0].calendar_versions.get(&2026), Some(&1));
    // Deploy is due the next working day (10-08): yellow already.
    assert_eq!(lead.light, "yellow");
    assert_eq!(lead.state, "assigned");
    let err = admin
        .assign_item(pb::AssignItemRequest {
            request_id: rid(),
            item_id: item.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);

    // The lead unit's liaison signs for it; not for the co-unit's.
    let zxj_liaison = app.token(&[Role::UnitLiaison], &[uuid(&zxj.id)]).await;
    let mut unit = app.assignments(&zxj_liaison).await;
    let err = unit
        .acknowledge(pb::AcknowledgeRequest {
            request_id: rid(),
            id: co.id.clone(),
            etag: co.etag.clone(),
            deployment: "x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    app.set_clock("2026-10-08T09:00:00+08:00").await;
    let lead = unit
        .acknowledge(pb::AcknowledgeRequest {
            request_id: rid(),
            id: lead.id.clone(),
            etag: lead.etag.clone(),
            deployment: "局党组专题研究,成立专班,明确分管局领导牵头".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(lead.state, "acknowledged");
    assert!(lead.milestones[0].met_time.is_some());
    // A stale etag is refused.
    let err = unit
        .acknowledge(pb::AcknowledgeRequest {
            request_id: rid(),
            id: lead.id.clone(),
            etag: "v1".into(),
            deployment: "again".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);

    // The next day: the co-unit never signed (red), the lead unit owes its
    // initial report on the make-up Saturday 10-10 (yellow).
    app.set_clock("2026-10-09T09:00:00+08:00").await;
    assert_eq!(get_assignment(&mut admin, &co.id).await.light, "red");
    assert_eq!(get_assignment(&mut admin, &lead.id).await.light, "yellow");
    // Verifying what was never reported: refused, naming the state.
    let err = admin
        .verify(pb::VerifyRequest {
            request_id: rid(),
            id: lead.id.clone(),
            etag: lead.etag.clone(),
            accept: true,
            grade: "good".into(),
            checked: "x".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);

    let lead = unit
        .submit_feedback(pb::SubmitFeedbackRequest {
            request_id: rid(),
            id: lead.id.clone(),
            etag: lead.etag.clone(),
            kind: "initial".into(),
            text: "已梳理涉企执行案件126件,制定清理计划".into(),
            progress: vec![reg::Target {
                what: "梳理案件".into(),
                target_value: 126.0,
                unit_of_measure: "件".into(),
            }],
            attachments: vec!["https://oa.court.example/doc/8812".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(lead.state, "in_progress");
    assert_eq!(lead.light, "green");
    // A delay explanation needs its reason category and next steps.
    let err = unit
        .submit_feedback(pb::SubmitFeedbackRequest {
            request_id: rid(),
            id: lead.id.clone(),
            etag: lead.etag.clone(),
            kind: "delay_explanation".into(),
            text: "未按期".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let lead = unit
        .submit_feedback(pb::SubmitFeedbackRequest {
            request_id: rid(),
            id: lead.id.clone(),
            etag: lead.etag.clone(),
            kind: "completion".into(),
            text: "126件已全部清理完毕".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(lead.state, "completion_reported");

    // The office does not close on the liaison's word: returned for rework…
    let office = app.token(&[Role::OfficeSupervisor], &[uuid(&court.id)]).await;
    let mut office = app.assignments(&office).await;
    let err = office
        .verify(pb::VerifyRequest {
            request_id: rid(),
            id: lead.id.clone(),
            etag: lead.etag.clone(),
            accept: true,
            grade: "good".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let lead = office
        .verify(pb::VerifyRequest {
            request_id: rid(),
            id: lead.id.clone(),
            etag: lead.etag.clone(),
            accept: false,
            comment: "抽查3件未结案,请核实".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(lead.state, "returned");
    assert!(
        lead.milestones
            .iter()
            .find(|m| m.kind == "resolve")
            .unwrap()
            .met_time
            .is_none()
    );
    // …reported again, verified with a grade and what was checked.
    let lead = unit
        .submit_feedback(pb::SubmitFeedbackRequest {
            request_id: rid(),
            id: lead.id.clone(),
            etag: lead.etag.clone(),
            kind: "completion".into(),
            text: "3件已结,附结案文书".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let lead = office
        .verify(pb::VerifyRequest {
            request_id: rid(),
            id: lead.id.clone(),
            etag: lead.etag.clone(),
            accept: true,
            grade: "good".into(),
            checked: "调阅结案文书126份,电话回访企业10家".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((lead.state.as_str(), lead.grade.as_str()), ("verified", "good"));
    assert_eq!(lead.feedback.len(), 4);

    // Verified this week: not in this Friday's close-out…
    let none = office
        .close_out(pb::CloseOutRequest {
            request_id: rid(),
            week_of: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(none.assignments.is_empty());
    // …written off in next Monday's list.
    app.set_clock("2026-10-12T09:00:00+08:00").await;
    let list = office
        .close_out(pb::CloseOutRequest {
            request_id: rid(),
            week_of: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.week, Some(d(2026, 10, 12)));
    assert_eq!(
        list.assignments.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        [lead.id.as_str()]
    );
    assert_eq!(list.assignments[0].state, "closed_out");
    let again = admin
        .list_close_outs(pb::ListCloseOutsRequest {
            week_of: Some(d(2026, 10, 14)),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.assignments.len(), 1);

    // The ledger shows the follow-up status of the item (its lead unit's).
    let ledger = registry
        .get_item(reg::GetItemRequest { id: item.id.clone() })
        .await
        .unwrap()
        .into_inner();
    let status = ledger.status.unwrap();
    assert_eq!(
        (status.state.as_str(), status.state_label.as_str()),
        ("closed_out", "已销号")
    );
    assert_eq!(status.latest_feedback, "3件已结,附结案文书");

    // Re-inspection (回头看) while the co-unit's assignment is open: refused.
    let err = office
        .re_inspect(pb::ReInspectRequest {
            request_id: rid(),
            item_id: item.id.clone(),
            passed: true,
            findings: "抽查".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    // Once both are done, a failed re-inspection reopens the item: round 2.
    let co_now = get_assignment(&mut admin, &co.id).await;
    let lat_liaison = app.token(&[Role::UnitLiaison], &[uuid(&lat.id)]).await;
    let mut lat_unit = app.assignments(&lat_liaison).await;
    let co_now = lat_unit
        .submit_feedback(pb::SubmitFeedbackRequest {
            request_id: rid(),
            id: co.id.clone(),
            etag: co_now.etag.clone(),
            kind: "deployment".into(),
            text: "已部署".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let co_now = lat_unit
        .submit_feedback(pb::SubmitFeedbackRequest {
            request_id: rid(),
            id: co.id.clone(),
            etag: co_now.etag.clone(),
            kind: "completion".into(),
            text: "配合完成".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    office
        .verify(pb::VerifyRequest {
            request_id: rid(),
            id: co.id.clone(),
            etag: co_now.etag.clone(),
            accept: true,
            grade: "pass".into(),
            checked: "核对立案记录".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let again = office
        .re_inspect(pb::ReInspectRequest {
            request_id: rid(),
            item_id: item.id.clone(),
            passed: false,
            findings: "回访发现2家企业案款仍未到账".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((again.round, again.passed), (1, false));
    assert_eq!(again.assignments.len(), 2);
    assert!(again.assignments.iter().all(|a| a.round == 2 && a.state == "assigned"));
    // 10-12 (Mon) + 1/3/7 working days.
    let round2 = again.assignments.iter().find(|a| a.role == "lead").unwrap();
    assert_eq!(
        due(round2),
        vec![
            ("deploy".to_owned(), d(2026, 10, 13)),
            ("initial".to_owned(), d(2026, 10, 15)),
            ("resolve".to_owned(), d(2026, 10, 21))
        ]
    );
    let ledger = registry
        .get_item(reg::GetItemRequest { id: item.id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ledger.status.unwrap().state, "assigned");

    // Every step was announced.
    let kinds: Vec<String> =
        sqlx::query_scalar("SELECT event_type FROM platform.events WHERE service = 'assignment' ORDER BY id")
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    for expected in [
        "assignment.assigned",
        "assignment.acknowledged",
        "assignment.feedback",
        "assignment.completion_reported",
        "assignment.returned",
        "assignment.verified",
        "assignment.closed_out",
    ] {
        assert!(kinds.iter().any(|k| k == expected), "{expected} missing from {kinds:?}");
    }
    app.stop().await;
}
