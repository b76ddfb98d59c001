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
