//! Major items by plan (推进计划), continuing attention (持续关注) with stage
//! reports, items published for claiming (认领), and the ledger's light, on
//! the dev clock over real gRPC.

use duban_core::Role;
use duban_proto::assignment::v1 as pb;
use duban_proto::registry::v1 as reg;
use duban_tests::{TestApp, date as d, get_assignment, rid, uuid};
use std::time::Duration;
use tonic::Code;
use tonic_types::StatusExt;

fn milestone<'a>(a: &'a pb::Assignment, kind: &str) -> &'a pb::AssignmentMilestone {
    a.milestones
        .iter()
        .find(|m| m.kind == kind)
        .unwrap_or_else(|| panic!("no milestone {kind} in {:?}", a.milestones))
}

fn field(err: &tonic::Status) -> String {
    err.get_error_details()
        .bad_request()
        .map(|b| b.field_violations[0].field.clone())
        .unwrap_or_default()
}

fn step(date: reg::Date, what: &str) -> pb::PlanStep {
    pb::PlanStep {
        date: Some(date),
        what: what.into(),
    }
}

async fn feedback(
    c: &mut duban_tests::Assignments,
    a: &pb::Assignment,
    kind: &str,
    text: &str,
    plan_step: i32,
) -> Result<pb::Assignment, tonic::Status> {
    c.submit_feedback(pb::SubmitFeedbackRequest {
        request_id: rid(),
        id: a.id.clone(),
        etag: a.etag.clone(),
        kind: kind.into(),
        text: text.into(),
        plan_step,
        ..Default::default()
    })
    .await
    .map(|r| r.into_inner())
}

/// The urges of `a` as (kind, milestone or period), waiting for the
/// background sweep (every second in tests) to issue `n` of them.
async fn urges(c: &mut duban_tests::Assignments, id: &str, n: usize) -> Vec<(String, String)> {
    for _ in 0..150 {
        let a = get_assignment(c, id).await;
        if a.urges.len() >= n {
            return a
                .urges
                .iter()
                .map(|u| {
                    let what = if u.kind == "monthly" { &u.period } else { &u.milestone };
                    (u.kind.clone(), what.clone())
                })
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("fewer than {n} urges on {id}");
}

#[tokio::test]
async fn a_major_item_goes_by_an_approved_plan() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    app.set_clock("2026-09-01T10:00:00+08:00").await;
    let court = app.unit_by_code("jczy").await;
    let zxj = app.unit_by_code("jczy-zxj").await;
    let sun = app.person_by_code("sun.lijun").await;
    let chen = app.person_by_code("chen.lixin").await;
    let item = app
        .registered_item(reg::Item {
            title: "执行难综合治理机制建设".into(),
            urgency: reg::UrgencyClass::Major as i32,
            urgency_reason: "院党组重大部署".into(),
            lead_unit_id: zxj.id.clone(),
            supervising_leader_id: sun.id.clone(),
            ..Default::default()
        })
        .await;
    let mut office = app
        .assignments(&app.token(&[Role::OfficeSupervisor], &[uuid(&court.id)]).await)
        .await;
    let a = duban_tests::assign(&mut office, &item.id).await;
    // One month from 9-01 is 10-01, a holiday: the next working day, 10-08.
    assert_eq!(milestone(&a, "resolve").due_date, Some(d(2026, 10, 8)));
    let mut unit = app
        .assignments(&app.token(&[Role::UnitLiaison], &[uuid(&zxj.id)]).await)
        .await;
    let a = unit
        .acknowledge(pb::AcknowledgeRequest {
            request_id: rid(),
            id: a.id.clone(),
            etag: a.etag.clone(),
            deployment: "成立专班,分管院领导牵头".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let a = feedback(&mut unit, &a, "initial", "已完成摸底", 0).await.unwrap();
    assert_eq!(a.state, "in_progress");

    // The plan: steps must be dated after today and in order.
    app.set_clock("2026-09-10T10:00:00+08:00").await;
    let a = get_assignment(&mut unit, &a.id).await;
    let submit = |steps: Vec<pb::PlanStep>, etag: &str| pb::SubmitPlanRequest {
        request_id: rid(),
        id: a.id.clone(),
        etag: etag.into(),
        summary: "分调研、建制两步推进".into(),
        steps,
    };
    let err = unit
        .submit_plan(submit(vec![step(d(2026, 9, 9), "完成调研")], &a.etag))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), field(&err)),
        (Code::InvalidArgument, "steps[0].date".into())
    );
    let err = unit
        .submit_plan(submit(
            vec![step(d(2026, 10, 30), "出台制度"), step(d(2026, 9, 30), "完成调研")],
            &a.etag,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), field(&err)),
        (Code::InvalidArgument, "steps[1].date".into())
    );
    let a = unit
        .submit_plan(submit(
            vec![step(d(2026, 9, 30), "完成调研"), step(d(2026, 10, 30), "出台制度")],
            &a.etag,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (a.state.as_str(), a.state_label.as_str()),
        ("plan_pending", "计划待审批")
    );
    assert_eq!(a.plans.len(), 1);
    assert_eq!(a.plans[0].state, "pending");

    // Only the supervising leader decides; sending back needs a comment.
    let mut other = app
        .assignments(&app.token_for(uuid(&chen.id), &[Role::Leader], &[uuid(&court.id)]).await)
        .await;
    let decide = |approve: bool, comment: &str, etag: &str| pb::DecidePlanRequest {
        request_id: rid(),
        id: a.id.clone(),
        etag: etag.into(),
        approve,
        comment: comment.into(),
    };
    let err = other.decide_plan(decide(true, "", &a.etag)).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let mut leader = app
        .assignments(&app.token_for(uuid(&sun.id), &[Role::Leader], &[uuid(&court.id)]).await)
        .await;
    let err = leader.decide_plan(decide(false, " ", &a.etag)).await.unwrap_err();
    assert_eq!((err.code(), field(&err)), (Code::InvalidArgument, "comment".into()));
    app.set_clock("2026-09-11T10:00:00+08:00").await;
    let a = leader
        .decide_plan(decide(true, "同意", &a.etag))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a.state, "plan_approved");
    assert_eq!(a.plans[0].state, "approved");
    // The month's milestone was met when the plan was submitted (9-10).
    let resolve = milestone(&a, "resolve");
    assert_eq!(resolve.met_time.unwrap().seconds, 1_789_005_600); // 2026-09-10 10:00 +08:00
    // Met by the plan, not done: called what it is.
    assert_eq!(resolve.met_label, "计划已批准");
    let plan1 = milestone(&a, "plan.1");
    assert_eq!(plan1.due_date, Some(d(2026, 9, 30)));
    assert_eq!(plan1.label, "推进计划第1个节点");
    assert_eq!(milestone(&a, "plan.2").due_date, Some(d(2026, 10, 30)));
    assert_eq!(a.light, "green");
    // plan.1's window runs from 9-11 10:00 to 10-01 00:00 (470 h): 75% is
    // 9-26 02:30, before the eve (9-29).
    app.set_clock("2026-09-26T02:00:00+08:00").await;
    assert_eq!(get_assignment(&mut unit, &a.id).await.light, "green");
    app.set_clock("2026-09-26T03:00:00+08:00").await;
    assert_eq!(get_assignment(&mut unit, &a.id).await.light, "yellow");

    // Progress against the plan keeps its state and meets the step it names.
    app.set_clock("2026-09-28T10:00:00+08:00").await;
    let a = get_assignment(&mut unit, &a.id).await;
    let err = feedback(&mut unit, &a, "initial", "调研完成", 1).await.unwrap_err();
    assert_eq!((err.code(), field(&err)), (Code::InvalidArgument, "plan_step".into()));
    let err = feedback(&mut unit, &a, "progress", "调研完成", 5).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let a = feedback(&mut unit, &a, "progress", "调研完成,形成报告", 1)
        .await
        .unwrap();
    assert_eq!(a.state, "plan_approved");
    assert!(milestone(&a, "plan.1").met_time.is_some());
    assert_eq!(milestone(&a, "plan.1").met_label, "已完成");
    assert_eq!(milestone(&a, "plan.2").met_label, "");
    assert!(milestone(&a, "plan.2").met_time.is_none());

    // No report in October, and step 2 missed: on 11-02 the sweep urges both.
    app.set_clock("2026-11-02T10:00:00+08:00").await;
    let mut found = urges(&mut office, &a.id, 2).await;
    found.sort();
    assert_eq!(
        found,
        [
            ("automatic".to_string(), "plan.2".to_string()),
            ("monthly".to_string(), "2026-10".to_string())
        ]
    );
    assert_eq!(get_assignment(&mut unit, &a.id).await.light, "red");

    // The completion report covers the rest of the plan.
    let a = get_assignment(&mut unit, &a.id).await;
    let a = feedback(&mut unit, &a, "completion", "制度已出台并运行", 0)
        .await
        .unwrap();
    assert_eq!(a.state, "completion_reported");
    assert!(a.milestones.iter().all(|m| m.met_time.is_some()));
    app.stop().await;
}

#[tokio::test]
async fn continuing_attention_keeps_an_item_on_the_ledger_with_stage_reports() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    app.set_clock("2026-09-01T10:00:00+08:00").await;
    let court = app.unit_by_code("jczy").await;
    let lat = app.unit_by_code("jczy-lat").await;
    let item = app
        .registered_item(reg::Item {
            title: "诉讼服务满意度提升".into(),
            lead_unit_id: lat.id.clone(),
            continuing_attention: true,
            ..Default::default()
        })
        .await;
    let mut office = app
        .assignments(&app.token(&[Role::OfficeSupervisor], &[uuid(&court.id)]).await)
        .await;
    let a = duban_tests::assign(&mut office, &item.id).await;
    let mut unit = app
        .assignments(&app.token(&[Role::UnitLiaison], &[uuid(&lat.id)]).await)
        .await;
    let a = unit
        .acknowledge(pb::AcknowledgeRequest {
            request_id: rid(),
            id: a.id.clone(),
            etag: a.etag.clone(),
            deployment: "立案庭牵头".into(),
        })
        .await
        .unwrap()
        .into_inner();
    // A stage report belongs to continuing attention, after verification.
    let err = feedback(&mut unit, &a, "stage_report", "阶段情况", 0)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let a = feedback(&mut unit, &a, "completion", "窗口改造完成", 0).await.unwrap();
    app.set_clock("2026-09-04T10:00:00+08:00").await;
    let a = office
        .verify(pb::VerifyRequest {
            request_id: rid(),
            id: a.id.clone(),
            etag: a.etag.clone(),
            accept: true,
            grade: "good".into(),
            checked: "实地查看窗口,抽查群众评价".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    // Registered for continuing attention: a stage report monthly, the first
    // a month from 9-04, i.e. 10-04 in the holiday, so 10-08.
    assert_eq!(a.state, "verified");
    assert_eq!(a.attention_months, 1);
    assert_eq!(milestone(&a, "stage.1").due_date, Some(d(2026, 10, 8)));
    assert_eq!(a.light, "green");

    // It stays on the ledger: the next Monday's close-out leaves it.
    app.set_clock("2026-09-07T09:00:00+08:00").await;
    let list = office
        .close_out(pb::CloseOutRequest {
            request_id: rid(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(list.assignments.iter().all(|x| x.id != a.id));
    assert_eq!(get_assignment(&mut office, &a.id).await.state, "verified");

    // A stage report meets the one owed and owes the next (9-21 + 1 month).
    app.set_clock("2026-09-21T10:00:00+08:00").await;
    let a = get_assignment(&mut unit, &a.id).await;
    let a = feedback(&mut unit, &a, "stage_report", "满意度升至96%", 0)
        .await
        .unwrap();
    assert_eq!(a.state, "verified");
    assert!(milestone(&a, "stage.1").met_time.is_some());
    assert_eq!(milestone(&a, "stage.2").due_date, Some(d(2026, 10, 21)));
    assert_eq!(milestone(&a, "stage.2").label, "第2次阶段性报告");

    // Only the office sets it; out-of-range months are refused.
    let err = unit
        .set_attention(pb::SetAttentionRequest {
            request_id: rid(),
            id: a.id.clone(),
            etag: a.etag.clone(),
            months: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = office
        .set_attention(pb::SetAttentionRequest {
            request_id: rid(),
            id: a.id.clone(),
            etag: a.etag.clone(),
            months: 13,
        })
        .await
        .unwrap_err();
    assert_eq!((err.code(), field(&err)), (Code::InvalidArgument, "months".into()));
    let a = office
        .set_attention(pb::SetAttentionRequest {
            request_id: rid(),
            id: a.id.clone(),
            etag: a.etag.clone(),
            months: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a.attention_months, 0);
    assert!(a.milestones.iter().all(|m| m.kind != "stage.2"));
    assert_eq!(a.light, "");

    // Attention over, the next close-out writes it off.
    app.set_clock("2026-09-28T09:00:00+08:00").await;
    let list = office
        .close_out(pb::CloseOutRequest {
            request_id: rid(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(list.assignments.iter().any(|x| x.id == a.id && x.state == "closed_out"));
    app.stop().await;
}

#[tokio::test]
async fn items_published_for_claiming_are_claimed_by_units_and_their_leaders() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    app.set_clock("2026-09-01T10:00:00+08:00").await;
    let court = app.unit_by_code("jczy").await;
    let lat = app.unit_by_code("jczy-lat").await;
    let zxj = app.unit_by_code("jczy-zxj").await;
    let xs = app.unit_by_code("jczy-xs").await;
    let sj = app.unit_by_code("jczy-sj").await;
    let sun = app.person_by_code("sun.lijun").await; // supervises 执行局
    let chen = app.person_by_code("chen.lixin").await; // supervises 立案庭, 审监庭, not 刑庭
    let item = app
        .registered_item(reg::Item {
            title: "院长批示:做好涉企案件专项清理".into(),
            lead_unit_id: court.id.clone(),
            ..Default::default()
        })
        .await;
    let mut office = app
        .assignments(&app.token(&[Role::OfficeSupervisor], &[uuid(&court.id)]).await)
        .await;
    let offer = office
        .publish_for_claim(pb::PublishForClaimRequest {
            request_id: rid(),
            item_id: item.id.clone(),
            note: "请相关部门认领".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(offer.policy, "13710");
    assert!(offer.claimed_unit_ids.is_empty());
    let err = office
        .publish_for_claim(pb::PublishForClaimRequest {
            request_id: rid(),
            item_id: item.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);

    // A unit sees its court's open offers and claims for itself: it leads.
    let mut lat_unit = app
        .assignments(&app.token(&[Role::UnitLiaison], &[uuid(&lat.id)]).await)
        .await;
    let offers = lat_unit
        .list_claim_offers(pb::ListClaimOffersRequest {
            open_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .offers;
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0].item_id, item.id);
    let claim = |unit: &reg::Unit| pb::ClaimRequest {
        request_id: rid(),
        item_id: item.id.clone(),
        unit_id: unit.id.clone(),
    };
    let err = lat_unit.claim(claim(&zxj)).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let first = lat_unit.claim(claim(&lat)).await.unwrap().into_inner();
    assert_eq!((first.role.as_str(), first.unit_id.as_str()), ("lead", lat.id.as_str()));
    assert_eq!(first.state, "assigned");
    // 13710 from the claim: deploy 9-02, initial 9-04, resolve 9-10.
    assert_eq!(milestone(&first, "resolve").due_date, Some(d(2026, 9, 10)));
    let err = lat_unit.claim(claim(&lat)).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);

    // A leader claims for a unit they supervise (分管), not for another.
    let mut sun_c = app
        .assignments(&app.token_for(uuid(&sun.id), &[Role::Leader], &[uuid(&court.id)]).await)
        .await;
    let second = sun_c.claim(claim(&zxj)).await.unwrap().into_inner();
    assert_eq!(second.role, "co");
    let mut chen_c = app
        .assignments(&app.token_for(uuid(&chen.id), &[Role::Leader], &[uuid(&court.id)]).await)
        .await;
    let err = chen_c.claim(claim(&xs)).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // Closed: no more claims; assigning it again is refused.
    let closed = office
        .close_claim_offer(pb::CloseClaimOfferRequest {
            request_id: rid(),
            item_id: item.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(closed.close_time.is_some());
    assert_eq!(closed.claimed_unit_names, [lat.name.clone(), zxj.name.clone()]);
    let err = chen_c.claim(claim(&sj)).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let err = office
        .assign_item(pb::AssignItemRequest {
            request_id: rid(),
            item_id: item.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    // A general item has no plan.
    let err = lat_unit
        .submit_plan(pb::SubmitPlanRequest {
            request_id: rid(),
            id: first.id.clone(),
            etag: first.etag.clone(),
            summary: "计划".into(),
            steps: vec![step(d(2026, 9, 30), "完成")],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(app.count_events("assignment.claimed").await, 2);
    app.stop().await;
}

#[tokio::test]
async fn the_ledger_shows_the_light_from_the_clock() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    app.set_clock("2026-09-30T10:00:00+08:00").await;
    let lat = app.unit_by_code("jczy-lat").await;
    let item = app
        .registered_item(reg::Item {
            title: "审判流程节点公开".into(),
            lead_unit_id: lat.id.clone(),
            ..Default::default()
        })
        .await;
    let mut admin = app.assignments(&app.admin_token).await;
    admin
        .assign_item(pb::AssignItemRequest {
            request_id: rid(),
            item_id: item.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut registry = app.admin().await;
    let mut status = async |at: &str| {
        app.set_clock(at).await;
        let item = registry
            .get_item(reg::GetItemRequest { id: item.id.clone() })
            .await
            .unwrap()
            .into_inner();
        item.status.unwrap_or_default().light
    };
    // Deploy is due 10-08, the working day after the holiday: yellow already
    // on 9-30 (its eve); red once 10-08 24:00 has passed unmet. 9-29 would be
    // green, but assignment was 9-30.
    assert_eq!(status("2026-09-30T10:00:01+08:00").await, "yellow");
    assert_eq!(status("2026-10-09T00:00:00+08:00").await, "red");
    app.stop().await;
}
