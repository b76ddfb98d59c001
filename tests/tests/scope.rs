//! Scope end to end: settings of the whole deployment (the working-day
//! calendar, appraisal rule sets and publishing a period) need a scope that
//! covers the top of the unit tree; a court-scoped office keeps its own
//! court's work. Idempotent retries belong to the token that made them. A
//! supervising leader decides for the units they supervise (分管).

use duban_core::Role;
use duban_proto::appraisal::v1 as ap;
use duban_proto::assignment::v1 as pb;
use duban_tests::{TestApp, rid, uuid, zh};
use tonic::Code;

fn calendar_2026() -> String {
    include_str!("../../services/assignment/calendars/2026.toml").to_owned()
}

fn rules() -> String {
    include_str!("../../services/appraisal/rules/default.toml").to_owned()
}

fn load_calendar(content: String) -> pb::LoadCalendarRequest {
    pb::LoadCalendarRequest {
        request_id: rid(),
        content,
    }
}

fn load_rules(from: &str) -> ap::LoadRuleSetRequest {
    ap::LoadRuleSetRequest {
        request_id: rid(),
        content: rules(),
        effective_from: from.into(),
    }
}

fn publish(key: &str) -> ap::PublishPeriodRequest {
    ap::PublishPeriodRequest {
        request_id: rid(),
        key: key.into(),
    }
}

fn adjust(unit: &str) -> ap::AdjustScoreRequest {
    ap::AdjustScoreRequest {
        request_id: rid(),
        period: "2026-10".into(),
        subject_kind: ap::SubjectKind::Unit as i32,
        subject: unit.into(),
        points: 1.0,
        reason: "系统故障核减".into(),
    }
}

fn assert_denied<T: std::fmt::Debug>(result: Result<T, tonic::Status>, zh_part: &str) {
    let err = result.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert!(zh(&err).contains(zh_part), "{}", zh(&err));
}

#[tokio::test]
async fn deployment_settings_need_the_top_of_the_tree() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    app.set_clock("2026-11-10T09:00:00+08:00").await;
    let root = uuid(&app.unit_by_code("jczy").await.id);
    let jcq = uuid(&app.unit_by_code("jc-jcq").await.id);

    // The calendar is national: a grassroots court's office may not load it,
    // not for a year in use and not for one to come.
    for role in [Role::OfficeSupervisor, Role::OfficeDirector] {
        let mut court_office = app.assignments(&app.token(&[role], &[jcq]).await).await;
        assert_denied(
            court_office.load_calendar(load_calendar(calendar_2026())).await,
            "工作日历",
        );
        let fake_2027 = calendar_2026().replace("2026", "2027");
        assert_denied(court_office.load_calendar(load_calendar(fake_2027)).await, "工作日历");
    }
    let years = app
        .assignments(&app.admin_token)
        .await
        .list_calendars(pb::ListCalendarsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(
        years.years.iter().all(|c| c.year != 2027 && c.version == 1),
        "{years:?}"
    );
    // The office at the top of the tree loads it.
    let mut top_office = app
        .assignments(&app.token(&[Role::OfficeSupervisor], &[root]).await)
        .await;
    let loaded = top_office
        .load_calendar(load_calendar(calendar_2026()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((loaded.year, loaded.version), (2026, 2));

    // One rule set and one publication price and freeze every court's
    // scorecards: not for a grassroots court's director.
    let mut court_director = app.appraisal(&app.token(&[Role::OfficeDirector], &[jcq]).await).await;
    assert_denied(court_director.load_rule_set(load_rules("2026-12-01")).await, "考评规则");
    assert_denied(court_director.publish_period(publish("2026-10")).await, "考评");
    let period = court_director
        .get_period(ap::GetPeriodRequest { key: "2026-10".into() })
        .await
        .unwrap()
        .into_inner();
    assert_ne!(period.state, ap::PeriodState::Published as i32);
    // Its own court's score it corrects; another court's it does not.
    court_director.adjust_score(adjust("jc-jcq")).await.unwrap();
    assert_denied(court_director.adjust_score(adjust("jc-lhq")).await, "范围以外");

    // The 中院's director, whose scope is the whole tree, does both.
    let mut top_director = app.appraisal(&app.token(&[Role::OfficeDirector], &[root]).await).await;
    let v2 = top_director
        .load_rule_set(load_rules("2026-12-01"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(v2.version, 2);
    let published = top_director
        .publish_period(publish("2026-10"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(published.state, ap::PeriodState::Published as i32);
}

#[tokio::test]
async fn a_retry_belongs_to_the_token_that_sent_it() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let zxj = app.unit_by_code("jczy-zxj").await;
    let xs = uuid(&app.unit_by_code("jczy-xs").await.id);
    let root = uuid(&app.unit_by_code("jczy").await.id);
    let item = app
        .registered_item(duban_proto::registry::v1::Item {
            title: "执行案款专项清理".into(),
            lead_unit_id: zxj.id.clone(),
            ..Default::default()
        })
        .await;
    let mut office = app.assignments(&app.admin_token).await;
    let a = duban_tests::assign(&mut office, &item.id).await;
    // Every token of the kit is named "tester": one name, different scopes.
    let mut own = app
        .assignments(&app.token(&[Role::UnitLiaison], &[uuid(&zxj.id)]).await)
        .await;
    let a = duban_tests::acknowledge(&mut own, &a, "已部署").await;
    let request = pb::SubmitFeedbackRequest {
        request_id: rid(),
        id: a.id.clone(),
        etag: a.etag.clone(),
        kind: "initial".into(),
        text: "已清理案款三百万元,涉及当事人隐私".into(),
        ..Default::default()
    };
    let first = own.submit_feedback(request.clone()).await.unwrap().into_inner();
    // The same token's retry is answered from the stored response.
    let again = own.submit_feedback(request.clone()).await.unwrap().into_inner();
    assert_eq!(again, first);

    // Another unit's liaison of the same name replaying it is refused, and
    // the refusal carries nothing of the assignment.
    let mut other = app.assignments(&app.token(&[Role::UnitLiaison], &[xs]).await).await;
    let err = other.submit_feedback(request.clone()).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let told = format!("{err:?}");
    assert!(
        !told.contains("执行案款") && !told.contains("三百万") && !told.contains(&first.etag),
        "{told}"
    );

    // Even a token that may act there does not get another token's stored
    // response: its request is its own, and meets the changed assignment.
    let mut office_named_alike = app
        .assignments(&app.token(&[Role::OfficeSupervisor], &[root]).await)
        .await;
    let err = office_named_alike.submit_feedback(request).await.unwrap_err();
    assert_ne!(err.code(), Code::Ok);
    assert!(
        matches!(err.code(), Code::Aborted | Code::FailedPrecondition),
        "{err:?}"
    );
    let feedbacks = duban_tests::get_assignment(&mut office, &a.id).await.feedback.len();
    assert_eq!(feedbacks, first.feedback.len());
}

#[tokio::test]
async fn a_supervising_leader_decides_for_the_units_they_supervise() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    app.set_clock("2026-09-01T10:00:00+08:00").await;
    let zxj = app.unit_by_code("jczy-zxj").await;
    let sun = uuid(&app.person_by_code("sun.lijun").await.id);
    let chen = uuid(&app.person_by_code("chen.lixin").await.id);
    let item = app
        .registered_item(duban_proto::registry::v1::Item {
            title: "执行难综合治理机制建设".into(),
            urgency: duban_proto::registry::v1::UrgencyClass::Major as i32,
            urgency_reason: "院党组重大部署".into(),
            lead_unit_id: zxj.id.clone(),
            ..Default::default()
        })
        .await;
    let mut office = app.assignments(&app.admin_token).await;
    let a = duban_tests::assign(&mut office, &item.id).await;
    let mut unit = app
        .assignments(&app.token(&[Role::UnitLiaison], &[uuid(&zxj.id)]).await)
        .await;
    let a = duban_tests::acknowledge(&mut unit, &a, "成立专班").await;
    let a = duban_tests::feedback(&mut unit, &a, "initial", "已完成摸底").await;
    let step = |month, day, what: &str| pb::PlanStep {
        date: Some(duban_tests::date(2026, month, day)),
        what: what.into(),
    };
    let a = unit
        .submit_plan(pb::SubmitPlanRequest {
            request_id: rid(),
            id: a.id.clone(),
            etag: a.etag.clone(),
            summary: "分调研、建制两步推进".into(),
            steps: vec![step(9, 30, "完成调研"), step(10, 30, "出台制度")],
        })
        .await
        .unwrap()
        .into_inner();
    let decide_plan = |etag: &str| pb::DecidePlanRequest {
        request_id: rid(),
        id: a.id.clone(),
        etag: etag.into(),
        approve: true,
        comment: "同意".into(),
    };

    // Tokens standing for leaders, scoped to no unit at all: what a leader
    // may decide comes from whom they supervise (分管).
    let mut sun_leader = app.assignments(&app.token_for(sun, &[Role::Leader], &[]).await).await;
    let mut chen_leader = app.assignments(&app.token_for(chen, &[Role::Leader], &[]).await).await;
    let mut nobody_leader = app.assignments(&app.token(&[Role::Leader], &[]).await).await;
    // 陈立新 supervises other units, a leader's token for no person none.
    assert_denied(chen_leader.decide_plan(decide_plan(&a.etag)).await, "范围以外");
    assert_denied(nobody_leader.decide_plan(decide_plan(&a.etag)).await, "范围以外");
    // An office may not decide at all, whatever its scope.
    let root = uuid(&app.unit_by_code("jczy").await.id);
    let mut director = app
        .assignments(&app.token(&[Role::OfficeDirector], &[root]).await)
        .await;
    assert_denied(director.decide_plan(decide_plan(&a.etag)).await, "当前身份无权");
    // 孙立军 supervises 执行局.
    let a = sun_leader.decide_plan(decide_plan(&a.etag)).await.unwrap().into_inner();
    assert_eq!(a.plans[0].state, "approved");

    // The same for a request: the unit asks to stop the clock.
    let a = unit
        .request_suspension(pb::RequestSuspensionRequest {
            request_id: rid(),
            id: a.id.clone(),
            etag: a.etag.clone(),
            reason: "待上级法院答复".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let decide = |etag: &str| pb::DecideRequestRequest {
        request_id: rid(),
        id: a.id.clone(),
        etag: etag.into(),
        change_request_id: a.requests[0].id.clone(),
        approve: true,
        comment: "同意中止".into(),
    };
    assert_denied(chen_leader.decide_request(decide(&a.etag)).await, "范围以外");
    let a = sun_leader.decide_request(decide(&a.etag)).await.unwrap().into_inner();
    assert!(a.suspended_time.is_some());
    assert_eq!(a.requests[0].state, "approved");
}
