//! Extensions (before the deadline only, decided by the supervising leader)
//! and suspensions (the clock stands still; resuming moves every open
//! deadline on by the working days paused), on the dev clock.

use duban_core::Role;
use duban_proto::assignment::v1 as pb;
use duban_proto::registry::v1 as reg;
use duban_tests::{TestApp, date as d, rid, uuid};
use std::collections::HashSet;
use tonic::Code;
use tonic_types::StatusExt;

fn due(a: &pb::Assignment) -> Vec<reg::Date> {
    a.milestones.iter().map(|m| m.due_date.unwrap()).collect()
}

#[tokio::test]
async fn extensions_and_suspensions() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    app.set_clock("2026-09-28T10:00:00+08:00").await;
    let court = app.unit_by_code("jczy").await;
    let zxj = app.unit_by_code("jczy-zxj").await;
    let lat = app.unit_by_code("jczy-lat").await;
    let sun = app.person_by_code("sun.lijun").await;
    let chen = app.person_by_code("chen.lixin").await;
    let item = app
        .registered_item(reg::Item {
            title: "执行案款集中清理".into(),
            lead_unit_id: zxj.id.clone(),
            co_unit_ids: vec![lat.id.clone()],
            supervising_leader_id: sun.id.clone(),
            ..Default::default()
        })
        .await;
    let mut admin = app.assignments(&app.admin_token).await;
    let assigned = admin
        .assign_item(pb::AssignItemRequest {
            request_id: rid(),
            item_id: item.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .assignments;
    let lead = assigned.iter().find(|a| a.role == "lead").unwrap().clone();
    let co = assigned.iter().find(|a| a.role == "co").unwrap().clone();
    assert_eq!(due(&co), [d(2026, 9, 29), d(2026, 10, 8), d(2026, 10, 13)]);

    // The co-unit asks to stop the clock; only the supervising leader decides.
    let mut lat_unit = app
        .assignments(&app.token(&[Role::UnitLiaison], &[uuid(&lat.id)]).await)
        .await;
    let co = lat_unit
        .request_suspension(pb::RequestSuspensionRequest {
            request_id: rid(),
            id: co.id.clone(),
            etag: co.etag.clone(),
            reason: "待上级法院答复".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let pending = co.requests[0].clone();
    assert_eq!(
        (pending.kind.as_str(), pending.state.as_str()),
        ("suspension", "pending")
    );
    let mut other_leader = app
        .assignments(&app.token_for(uuid(&chen.id), &[Role::Leader], &[uuid(&court.id)]).await)
        .await;
    let err = other_leader
        .decide_request(pb::DecideRequestRequest {
            request_id: rid(),
            id: co.id.clone(),
            etag: co.etag.clone(),
            change_request_id: pending.id.clone(),
            approve: true,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let mut leader = app
        .assignments(&app.token_for(uuid(&sun.id), &[Role::Leader], &[uuid(&court.id)]).await)
        .await;
    let co = leader
        .decide_request(pb::DecideRequestRequest {
            request_id: rid(),
            id: co.id.clone(),
            etag: co.etag.clone(),
            change_request_id: pending.id.clone(),
            approve: true,
            comment: "同意中止".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(co.suspended_time.is_some());
    assert_eq!(co.requests[0].state, "approved");
    // Shown as it is: suspended, not 已交办 with no light.
    assert_eq!(co.state_label, "已中止(已暂停0个工作日)");

    // While suspended the clock stands still: no light, no red.
    app.set_clock("2026-10-09T09:00:00+08:00").await;
    let co_now = admin
        .get_assignment(pb::GetAssignmentRequest { id: co.id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(co_now.light, "");
    assert_eq!(co_now.state, "assigned", "the state it paused");
    assert_eq!(
        (co_now.state_label.as_str(), co_now.paused_working_days),
        ("已中止(已暂停4个工作日)", 4)
    );
    let listed = admin
        .list_assignments(pb::ListAssignmentsRequest {
            item_id: item.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .assignments;
    let labels: HashSet<&str> = listed.iter().map(|a| a.state_label.as_str()).collect();
    assert_eq!(labels, HashSet::from(["已交办", "已中止(已暂停4个工作日)"]));
    // Resumed on 10-09: 4 working days stood still (9-29, 9-30, 10-08, 10-09).
    let office = app
        .assignments(&app.token(&[Role::OfficeSupervisor], &[uuid(&court.id)]).await)
        .await;
    let mut office = office;
    let co = office
        .resume(pb::ResumeRequest {
            request_id: rid(),
            id: co.id.clone(),
            etag: co_now.etag.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(due(&co), [d(2026, 10, 10), d(2026, 10, 13), d(2026, 10, 19)]);
    assert!(co.suspended_time.is_none());
    assert_eq!((co.state_label.as_str(), co.paused_working_days), ("已交办", 0));
    let err = office
        .resume(pb::ResumeRequest {
            request_id: rid(),
            id: co.id.clone(),
            etag: co.etag.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);

    // The lead unit asks for more time before its deadline (10-13).
    let mut zxj_unit = app
        .assignments(&app.token(&[Role::UnitLiaison], &[uuid(&zxj.id)]).await)
        .await;
    let lead_now = admin
        .get_assignment(pb::GetAssignmentRequest { id: lead.id.clone() })
        .await
        .unwrap()
        .into_inner();
    let err = zxj_unit
        .request_extension(pb::RequestExtensionRequest {
            request_id: rid(),
            id: lead.id.clone(),
            etag: lead_now.etag.clone(),
            new_deadline: Some(d(2026, 10, 30)),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let lead_now = zxj_unit
        .request_extension(pb::RequestExtensionRequest {
            request_id: rid(),
            id: lead.id.clone(),
            etag: lead_now.etag.clone(),
            new_deadline: Some(d(2026, 10, 30)),
            reason: "涉案款项需跨省核对".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let request = lead_now
        .requests
        .iter()
        .find(|q| q.kind == "extension")
        .unwrap()
        .id
        .clone();
    let lead_now = leader
        .decide_request(pb::DecideRequestRequest {
            request_id: rid(),
            id: lead.id.clone(),
            etag: lead_now.etag.clone(),
            change_request_id: request,
            approve: true,
            comment: "同意".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        lead_now
            .milestones
            .iter()
            .find(|m| m.kind == "resolve")
            .unwrap()
            .due_date,
        Some(d(2026, 10, 30))
    );

    // After the (new) deadline, an extension is refused: explain the delay instead.
    app.set_clock("2026-10-31T09:00:00+08:00").await;
    let err = zxj_unit
        .request_extension(pb::RequestExtensionRequest {
            request_id: rid(),
            id: lead.id.clone(),
            etag: lead_now.etag.clone(),
            new_deadline: Some(d(2026, 11, 30)),
            reason: "仍需时间".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let zh = err.get_error_details().localized_message().unwrap().message.clone();
    assert!(zh.contains("办理时限已过"), "{zh}");
    app.stop().await;
}

#[tokio::test]
async fn reloading_a_calendar_year_recomputes_the_open_deadlines() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    app.set_clock("2026-09-30T10:00:00+08:00").await;
    let lat = app.unit_by_code("jczy-lat").await;
    let item = app
        .registered_item(reg::Item {
            title: "诉讼服务窗口改造".into(),
            lead_unit_id: lat.id.clone(),
            ..Default::default()
        })
        .await;
    let mut admin = app.assignments(&app.admin_token).await;
    let a = admin
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
    assert_eq!(due(&a), [d(2026, 10, 8), d(2026, 10, 10), d(2026, 10, 15)]);

    // A corrected 2026: 10-10 no longer a make-up day, 10-14 a day off.
    let shipped = admin
        .get_calendar(pb::GetCalendarRequest { year: 2026 })
        .await
        .unwrap()
        .into_inner()
        .content;
    let corrected = shipped
        .replace(
            "workdays = [\"2026-09-20\", \"2026-10-10\"]",
            "workdays = [\"2026-09-20\"]",
        )
        .replace(
            "days = [\"2026-10-01..2026-10-07\"]",
            "days = [\"2026-10-01..2026-10-07\", \"2026-10-14\"]",
        );
    assert_ne!(corrected, shipped);
    let loaded = admin
        .load_calendar(pb::LoadCalendarRequest {
            request_id: rid(),
            content: corrected,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(loaded.version, 2);
    let a = admin
        .get_assignment(pb::GetAssignmentRequest { id: a.id.clone() })
        .await
        .unwrap()
        .into_inner();
    // After 9-30: 10-08, 10-09, 10-12 (3), 10-13, 10-15, 10-16, 10-19 (7).
    assert_eq!(due(&a), [d(2026, 10, 8), d(2026, 10, 12), d(2026, 10, 19)]);
    assert!(a.milestones.iter().all(|m| m.calendar_versions.get(&2026) == Some(&2)));
    let recomputed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM platform.events WHERE event_type = 'assignment.deadlines_recomputed'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(recomputed, 1);
    app.stop().await;
}

#[tokio::test]
async fn the_president_decides_for_any_unit_of_the_court() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    app.set_clock("2026-09-28T10:00:00+08:00").await;
    let court = app.unit_by_code("jczy").await;
    let zxj = app.unit_by_code("jczy-zxj").await;
    let sun = app.person_by_code("sun.lijun").await;
    let zhou = app.person_by_code("zhou.mingyuan").await;
    // 孙立军 supervises 执行局; 周明远 holds only the president's role here.
    let mut president = app
        .assignments(
            &app.token_for(uuid(&zhou.id), &[Role::President], &[uuid(&court.id)])
                .await,
        )
        .await;
    let mut unit = app
        .assignments(&app.token(&[Role::UnitLiaison], &[uuid(&zxj.id)]).await)
        .await;
    let mut office = app
        .assignments(&app.token(&[Role::OfficeSupervisor], &[uuid(&court.id)]).await)
        .await;
    let register = |title: &str, urgency: reg::UrgencyClass| reg::Item {
        title: title.into(),
        urgency: urgency as i32,
        urgency_reason: "院党组部署".into(),
        lead_unit_id: zxj.id.clone(),
        supervising_leader_id: sun.id.clone(),
        ..Default::default()
    };

    // An extension of a general item's deadline (10-13).
    let item = app
        .registered_item(register("执行案款集中清理", reg::UrgencyClass::General))
        .await;
    let a = duban_tests::assign(&mut office, &item.id).await;
    let a = unit
        .request_extension(pb::RequestExtensionRequest {
            request_id: rid(),
            id: a.id.clone(),
            etag: a.etag.clone(),
            new_deadline: Some(d(2026, 10, 30)),
            reason: "涉案款项需跨省核对".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let a = president
        .decide_request(pb::DecideRequestRequest {
            request_id: rid(),
            id: a.id.clone(),
            etag: a.etag.clone(),
            change_request_id: a.requests[0].id.clone(),
            approve: true,
            comment: "同意".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a.requests[0].state, "approved");
    let resolve = a.milestones.iter().find(|m| m.kind == "resolve").unwrap();
    assert_eq!(resolve.due_date, Some(d(2026, 10, 30)));

    // A major item's plan.
    let item = app
        .registered_item(register("执行难综合治理机制建设", reg::UrgencyClass::Major))
        .await;
    let a = duban_tests::assign(&mut office, &item.id).await;
    let a = duban_tests::acknowledge(&mut unit, &a, "成立专班").await;
    let a = unit
        .submit_plan(pb::SubmitPlanRequest {
            request_id: rid(),
            id: a.id.clone(),
            etag: a.etag.clone(),
            summary: "分调研、建制两步推进".into(),
            steps: vec![
                pb::PlanStep {
                    date: Some(d(2026, 10, 30)),
                    what: "完成调研".into(),
                },
                pb::PlanStep {
                    date: Some(d(2026, 11, 30)),
                    what: "出台制度".into(),
                },
            ],
        })
        .await
        .unwrap()
        .into_inner();
    let a = president
        .decide_plan(pb::DecidePlanRequest {
            request_id: rid(),
            id: a.id.clone(),
            etag: a.etag.clone(),
            approve: true,
            comment: "同意".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a.state, "plan_approved");
    app.stop().await;
}
