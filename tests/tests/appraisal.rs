//! Appraisal (考评) end to end: real assignments driven through the
//! assignment RPCs on the dev clock over October 2026, scorecards and
//! rankings checked against figures worked out by hand from the shipped
//! rule set and the 2026 calendar; incremental folding equal to a full
//! recomputation; publishing freezes; adjustments are lines with an audit
//! record; roles and unit scope.
//!
//! October 2026: 10-01…07 国庆 holidays, 10-10 (Saturday) a make-up working
//! day. Assigned 09-30 10:00, a general item is due: 研究部署 10-08, 初步落实
//! 10-10, 办结 10-15 (7 working days: 10-08, 09, 10, 12, 13, 14, 15).

use duban_core::Role;
use duban_proto::appraisal::v1 as ap;
use duban_proto::assignment::v1 as pb;
use duban_proto::registry::v1 as reg;
use duban_tests::{Appraisal, Assignments, TestApp, rid, uuid};
use std::time::Duration;
use tonic_types::StatusExt;

struct Office {
    a: Assignments,
}

impl Office {
    async fn get(&mut self, id: &str) -> pb::Assignment {
        self.a
            .get_assignment(pb::GetAssignmentRequest { id: id.into() })
            .await
            .unwrap()
            .into_inner()
    }

    async fn assign(&mut self, app: &TestApp, title: &str, unit: &str) -> pb::Assignment {
        let unit = app.unit_by_code(unit).await;
        let item = app
            .registered_item(reg::Item {
                title: title.into(),
                lead_unit_id: unit.id,
                ..Default::default()
            })
            .await;
        self.a
            .assign_item(pb::AssignItemRequest {
                request_id: rid(),
                item_id: item.id,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .assignments
            .remove(0)
    }

    async fn ack(&mut self, id: &str) {
        let etag = self.get(id).await.etag;
        self.a
            .acknowledge(pb::AcknowledgeRequest {
                request_id: rid(),
                id: id.into(),
                etag,
                deployment: "专题研究部署".into(),
            })
            .await
            .unwrap();
    }

    async fn feedback(&mut self, id: &str, kind: &str) {
        let etag = self.get(id).await.etag;
        self.a
            .submit_feedback(pb::SubmitFeedbackRequest {
                request_id: rid(),
                id: id.into(),
                etag,
                kind: kind.into(),
                text: "已按要求办理".into(),
                ..Default::default()
            })
            .await
            .unwrap();
    }

    async fn verify(&mut self, id: &str, grade: Option<&str>) {
        let etag = self.get(id).await.etag;
        self.a
            .verify(pb::VerifyRequest {
                request_id: rid(),
                id: id.into(),
                etag,
                accept: grade.is_some(),
                grade: grade.unwrap_or_default().into(),
                checked: "调阅案卷".into(),
                comment: if grade.is_none() {
                    "抽查未结".into()
                } else {
                    String::new()
                },
            })
            .await
            .unwrap();
    }
}

async fn card(client: &mut Appraisal, kind: ap::SubjectKind, subject: &str, period: &str) -> ap::Scorecard {
    client
        .get_scorecard(ap::GetScorecardRequest {
            subject_kind: kind as i32,
            subject: subject.into(),
            period: period.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// (rule, points, quantity, provisional) of each line.
fn lines(c: &ap::Scorecard) -> Vec<(String, f64, i64, bool)> {
    c.lines
        .iter()
        .map(|l| (l.rule.clone(), l.points, l.quantity, l.provisional))
        .collect()
}

fn l(rule: &str, points: f64, quantity: i64, provisional: bool) -> (String, f64, i64, bool) {
    (rule.into(), points, quantity, provisional)
}

async fn rankings(client: &mut Appraisal, group: ap::UnitGroup) -> Vec<(String, i32, bool, f64)> {
    client
        .list_rankings(ap::ListRankingsRequest {
            period: "2026-10".into(),
            group: group as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .rankings
        .into_iter()
        .map(|r| (r.subject.unwrap().code, r.rank, r.tied, r.total))
        .collect()
}

async fn all_cards(client: &mut Appraisal, period: &str) -> Vec<ap::Scorecard> {
    client
        .list_scorecards(ap::ListScorecardsRequest {
            period: period.into(),
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .scorecards
}

fn zh(status: &tonic::Status) -> String {
    status
        .get_error_details()
        .localized_message()
        .map(|m| m.message.clone())
        .unwrap_or_default()
}

fn fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn october_scorecards_rankings_publishing_and_adjustments() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let court = app.unit_by_code("jczy").await;
    let mut office = Office {
        a: app
            .assignments(&app.token(&[Role::OfficeSupervisor], &[uuid(&court.id)]).await)
            .await,
    };

    // 09-30 10:00: three items assigned. A to 江城法院, B to 临河法院, C to 执行局.
    app.set_clock("2026-09-30T10:00:00+08:00").await;
    let a = office.assign(&app, "江城法院清理长期未结案件", "jc-jcq").await;
    let b = office.assign(&app, "临河法院执行积案化解", "jc-lhq").await;
    let c = office.assign(&app, "执行局终本案件清查", "jczy-zxj").await;
    let due: Vec<String> = a
        .milestones
        .iter()
        .map(|m| {
            let d = m.due_date.unwrap();
            format!("{}-{:02}-{:02}", d.year, d.month, d.day)
        })
        .collect();
    assert_eq!(due, ["2026-10-08", "2026-10-10", "2026-10-15"]);

    // 10-08: A and C signed for on time.
    app.set_clock("2026-10-08T09:00:00+08:00").await;
    office.ack(&a.id).await;
    office.ack(&c.id).await;
    // 10-09: initial feedback on time; B missed its deploy: automatic urge 1.
    app.set_clock("2026-10-09T09:00:00+08:00").await;
    office.feedback(&a.id, "initial").await;
    office.feedback(&c.id, "initial").await;
    app.eventually("assignment.urged", 1).await;
    // 10-12: C reports completion (3 working days early); B missed its
    // initial feedback: urge 2.
    app.set_clock("2026-10-12T09:00:00+08:00").await;
    office.feedback(&c.id, "completion").await;
    app.eventually("assignment.urged", 2).await;
    // 10-14: two urges unanswered: B flagged for 通报批评. C verified, 良好.
    app.set_clock("2026-10-14T09:00:00+08:00").await;
    app.eventually("assignment.flagged", 1).await;
    office.verify(&c.id, Some("good")).await;
    // 10-16: A and B missed 办结 (due 10-15): urges 3 and 4.
    app.set_clock("2026-10-16T09:00:00+08:00").await;
    app.eventually("assignment.urged", 4).await;
    // 10-19: A reports completion 2 working days late (10-16, 10-19); C's
    // item fails its re-inspection and goes to 执行局 again (round 2:
    // deploy 10-20, initial 10-22, resolve 10-28).
    app.set_clock("2026-10-19T10:00:00+08:00").await;
    office.feedback(&a.id, "completion").await;
    let again = office
        .a
        .re_inspect(pb::ReInspectRequest {
            request_id: rid(),
            item_id: c.item_id.clone(),
            passed: false,
            findings: "抽查发现3件未实际执结".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .assignments
        .remove(0);
    // 10-20: A's report returned; round 2 signed for.
    app.set_clock("2026-10-20T10:00:00+08:00").await;
    office.verify(&a.id, None).await;
    office.ack(&again.id).await;
    // 10-22: A reports again (10-21, 10-22 late: the days after the return
    // count, not those before it); the office urges round 2 by hand, the
    // unit gives its initial feedback and answers the urge.
    app.set_clock("2026-10-22T10:00:00+08:00").await;
    office.feedback(&a.id, "completion").await;
    let now = office.get(&again.id).await;
    duban_tests::urge(&mut office.a, &now, "请加快办理").await;
    office.feedback(&again.id, "initial").await;
    office.feedback(&again.id, "urge_response").await;
    // 10-23: A verified 优秀; the answer to the urge judged justified.
    app.set_clock("2026-10-23T10:00:00+08:00").await;
    office.verify(&a.id, Some("excellent")).await;
    let now = office.get(&again.id).await;
    office
        .a
        .judge_urge_response(pb::JudgeUrgeResponseRequest {
            request_id: rid(),
            id: again.id.clone(),
            etag: now.etag,
            urge_id: now.urges[0].id.clone(),
            justified: true,
        })
        .await
        .unwrap();
    // 11-02: October is over. The sweep urges what November made overdue;
    // none of it is October's.
    app.set_clock("2026-11-02T09:00:00+08:00").await;
    app.eventually("assignment.urged", 6).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let appraiser_token = app.token(&[Role::Appraiser], &[uuid(&court.id)]).await;
    let mut appraiser = app.appraisal(&appraiser_token).await;
    use ap::SubjectKind::{Person, Unit};

    // A, 江城法院: 100 − 1 (urge 3) − 1 (2 days late) − 2 (returned)
    // − 1 (2 days late again) + 3 (优秀) = 98.
    let jcq = card(&mut appraiser, Unit, "jc-jcq", "2026-10").await;
    assert_eq!(
        lines(&jcq),
        [
            l("urge", -1.0, 1, false),
            l("overdue", -1.0, 2, false),
            l("returned", -2.0, 1, false),
            l("overdue", -1.0, 2, false),
            l("grade", 3.0, 1, false),
        ]
    );
    assert_eq!((jcq.base, jcq.total, jcq.as_of.as_str()), (100.0, 98.0, "2026-10-31"));
    assert_eq!(jcq.period_state, ap::PeriodState::Draft as i32);
    // Every line names its event, item and assignment.
    for line in &jcq.lines {
        let (kind, subject): (String, String) =
            sqlx::query_as("SELECT event_type, subject_id FROM platform.events WHERE id = $1")
                .bind(line.event_id)
                .fetch_one(&app.db.pool)
                .await
                .unwrap();
        assert_eq!((kind, subject), (line.event_type.clone(), a.id.clone()));
        assert_eq!(
            (line.assignment_id.as_str(), line.item_id.as_str()),
            (a.id.as_str(), a.item_id.as_str())
        );
        assert_eq!(line.unit_name, "江川市江城区人民法院");
    }
    assert_eq!(jcq.lines[1].event_type, "assignment.completion_reported");
    assert_eq!(jcq.lines[2].event_type, "assignment.returned");

    // B, 临河法院, never acted: urges 1, 2, 4 (−3), 通报批评 (−5), and by
    // 10-31 still open: deploy 17 working days late (10-09, 10, 12–16,
    // 19–23, 26–30), initial 15 (10-12…), resolve 11 (10-16…): 43 × 0.5.
    // 100 − 3 − 5 − 21.5 = 70.5.
    let lhq = card(&mut appraiser, Unit, "jc-lhq", "2026-10").await;
    let mut got = lines(&lhq);
    got.sort_by(|x, y| x.0.cmp(&y.0).then(x.2.cmp(&y.2)));
    assert_eq!(
        got,
        [
            l("criticism", -5.0, 1, false),
            l("overdue", -5.5, 11, true),
            l("overdue", -7.5, 15, true),
            l("overdue", -8.5, 17, true),
            l("urge", -1.0, 1, false),
            l("urge", -1.0, 1, false),
            l("urge", -1.0, 1, false),
        ]
    );
    assert_eq!(lhq.total, 70.5);
    assert!(lhq.lines.iter().all(|l| l.assignment_id == b.id));

    // C, 执行局: reported 10-12 for 10-15: 3 days early (+0.6), 良好 (+1),
    // failed re-inspection (−5); round 2: manual urge (−1) judged justified
    // (+1), resolve due 10-28 open: 10-29, 10-30 (−1). 95.6.
    let zxj = card(&mut appraiser, Unit, "jczy-zxj", "2026-10").await;
    assert_eq!(
        lines(&zxj),
        [
            l("early", 0.6, 3, false),
            l("grade", 1.0, 1, false),
            l("reinspection_failed", -5.0, 1, false),
            l("urge", -1.0, 1, false),
            l("urge_justified", 1.0, 1, false),
            l("overdue", -1.0, 2, true),
        ]
    );
    assert_eq!(zxj.total, 95.6);

    // The responsible head of 江城法院 answers for A's lines.
    let head = card(&mut appraiser, Person, "jiang.wenbo", "2026-10").await;
    assert_eq!((head.lines.len(), head.total), (5, 98.0));

    // Rankings: grassroots courts among themselves; departments among
    // themselves, the ten without lines tied first.
    assert_eq!(
        rankings(&mut appraiser, ap::UnitGroup::GrassrootsCourts).await,
        [
            ("jc-qsx".to_owned(), 1, false, 100.0),
            ("jc-jcq".to_owned(), 2, false, 98.0),
            ("jc-lhq".to_owned(), 3, false, 70.5),
        ]
    );
    let departments = rankings(&mut appraiser, ap::UnitGroup::Departments).await;
    assert_eq!(departments.len(), 11);
    assert!(
        departments[..10]
            .iter()
            .all(|(_, rank, tied, total)| (*rank, *tied, *total) == (1, true, 100.0))
    );
    assert_eq!(departments[10], ("jczy-zxj".to_owned(), 11, false, 95.6));

    // Folding from scratch gives what folding incrementally gave.
    let october = all_cards(&mut appraiser, "2026-10").await;
    let november = all_cards(&mut appraiser, "2026-11").await;
    let folded = duban_appraisal::store::everything(&app.db.pool).await.unwrap();
    duban_appraisal::consumer::recompute(&app.db.pool, &chrono_tz::Asia::Shanghai)
        .await
        .unwrap();
    assert_eq!(duban_appraisal::store::everything(&app.db.pool).await.unwrap(), folded);
    assert_eq!(all_cards(&mut appraiser, "2026-10").await, october);
    assert_eq!(all_cards(&mut appraiser, "2026-11").await, november);
    assert!(october.iter().any(|c| c.total != 100.0));

    // Publishing: not for the appraiser; the office director publishes.
    let director = app.token(&[Role::OfficeDirector], &[uuid(&court.id)]).await;
    let mut director = app.appraisal(&director).await;
    let denied = appraiser
        .publish_period(ap::PublishPeriodRequest {
            request_id: rid(),
            key: "2026-10".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    let running = director
        .publish_period(ap::PublishPeriodRequest {
            request_id: rid(),
            key: "2026-11".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(running.code(), tonic::Code::FailedPrecondition, "{}", zh(&running));
    let published = director
        .publish_period(ap::PublishPeriodRequest {
            request_id: rid(),
            key: "2026-10".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (published.state, published.rule_set_version),
        (ap::PeriodState::Published as i32, 1)
    );
    let twice = director
        .publish_period(ap::PublishPeriodRequest {
            request_id: rid(),
            key: "2026-10".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(twice.code(), tonic::Code::FailedPrecondition);

    // Frozen: a new calendar making 10-30 a holiday changes the draft
    // quarter (B's three open milestones lose a day each) but not October.
    let q4 = card(&mut appraiser, Unit, "jc-lhq", "2026-Q4").await;
    let calendar = format!(
        "{}\n[[holidays]]\nname = \"临时调整\"\ndays = [\"2026-10-30\"]\n",
        include_str!("../../services/assignment/calendars/2026.toml")
    );
    app.assignments(&app.admin_token)
        .await
        .load_calendar(pb::LoadCalendarRequest {
            request_id: rid(),
            content: calendar,
        })
        .await
        .unwrap();
    let q4_after = card(&mut appraiser, Unit, "jc-lhq", "2026-Q4").await;
    assert_eq!(q4_after.total - q4.total, 1.5);
    let frozen = card(&mut appraiser, Unit, "jc-lhq", "2026-10").await;
    assert_eq!(frozen.period_state, ap::PeriodState::Published as i32);
    assert_eq!((frozen.total, frozen.lines.clone()), (70.5, lhq.lines.clone()));

    // The rules October used cannot be replaced for it; from November they can.
    let rules = include_str!("../../services/appraisal/rules/default.toml").replace("points = -1.0", "points = -2.0");
    let locked = director
        .load_rule_set(ap::LoadRuleSetRequest {
            request_id: rid(),
            content: rules.clone(),
            effective_from: "2026-10-01".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(locked.code(), tonic::Code::FailedPrecondition);
    assert!(zh(&locked).contains("2026-10"), "{}", zh(&locked));
    let v2 = director
        .load_rule_set(ap::LoadRuleSetRequest {
            request_id: rid(),
            content: rules,
            effective_from: "2026-11-01".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((v2.version, v2.locked), (2, false));
    let v1 = appraiser
        .get_rule_set(ap::GetRuleSetRequest { version: 1 })
        .await
        .unwrap()
        .into_inner();
    assert!(v1.locked);
    assert_eq!(card(&mut appraiser, Unit, "jc-lhq", "2026-10").await.total, 70.5);
    assert_eq!(
        card(&mut appraiser, Unit, "jc-lhq", "2026-11").await.rule_set_version,
        2
    );

    // A correction: its own line with reason and author, and an audit record.
    let adjusted = director
        .adjust_score(ap::AdjustScoreRequest {
            request_id: rid(),
            period: "2026-10".into(),
            subject_kind: Unit as i32,
            subject: "jc-lhq".into(),
            points: 2.5,
            reason: "10月30日停电系统无法登录,酌情核减逾期扣分".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let corrected = card(&mut appraiser, Unit, "jc-lhq", "2026-10").await;
    assert_eq!(corrected.total, 73.0);
    let last = corrected.lines.last().unwrap();
    assert_eq!(
        (last.rule.as_str(), last.points, last.adjustment_id.as_str()),
        ("adjustment", 2.5, adjusted.id.as_str())
    );
    assert!(last.description.contains("停电"));
    assert_eq!(last.author, "tester");
    let audited: (String, String) = sqlx::query_as(
        "SELECT principal, after->>'reason' FROM platform.audit_log WHERE action = 'appraisal.score_adjusted'",
    )
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(
        audited,
        ("tester".into(), "10月30日停电系统无法登录,酌情核减逾期扣分".into())
    );
    let ranked = rankings(&mut appraiser, ap::UnitGroup::GrassrootsCourts).await;
    assert_eq!(ranked[2], ("jc-lhq".to_owned(), 3, false, 73.0));

    app.stop().await;
}

#[tokio::test]
async fn roles_scope_and_bad_input() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    app.set_clock("2026-11-02T09:00:00+08:00").await;
    let jcq = app.unit_by_code("jc-jcq").await;
    let head = app.person_by_code("jiang.wenbo").await;

    // A unit's head sees its own unit and itself, not another unit, not rankings.
    let token = app.token_for(uuid(&head.id), &[Role::UnitHead], &[uuid(&jcq.id)]).await;
    let mut unit = app.appraisal(&token).await;
    let own = card(&mut unit, ap::SubjectKind::Unit, "jc-jcq", "2026-10").await;
    assert_eq!((own.total, own.lines.len()), (100.0, 0));
    card(&mut unit, ap::SubjectKind::Person, &head.id, "2026-10").await;
    let other = unit
        .get_scorecard(ap::GetScorecardRequest {
            subject_kind: ap::SubjectKind::Unit as i32,
            subject: "jc-lhq".into(),
            period: "2026-10".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(other.code(), tonic::Code::PermissionDenied);
    assert!(!zh(&other).is_empty());
    let ranking = unit
        .list_rankings(ap::ListRankingsRequest {
            period: "2026-10".into(),
            group: ap::UnitGroup::GrassrootsCourts as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(ranking.code(), tonic::Code::PermissionDenied);
    let listed = all_cards(&mut unit, "2026-10").await;
    assert_eq!(
        listed
            .iter()
            .map(|c| c.subject.clone().unwrap().code)
            .collect::<Vec<_>>(),
        ["jc-jcq"]
    );
    let publish = unit
        .publish_period(ap::PublishPeriodRequest {
            request_id: rid(),
            key: "2026-10".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(publish.code(), tonic::Code::PermissionDenied);

    // Bad input names the field, in Chinese too.
    let mut admin = app.appraisal(&app.admin_token).await;
    let bad = admin
        .get_scorecard(ap::GetScorecardRequest {
            subject_kind: ap::SubjectKind::Unit as i32,
            subject: "jc-jcq".into(),
            period: "2026-13".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (bad.code(), fields(&bad)),
        (tonic::Code::InvalidArgument, vec!["period".to_owned()])
    );
    assert!(zh(&bad).contains("考评期"));
    let bad = admin
        .adjust_score(ap::AdjustScoreRequest {
            request_id: rid(),
            period: "2026-10".into(),
            subject_kind: ap::SubjectKind::Unit as i32,
            subject: "jc-jcq".into(),
            points: 0.333,
            reason: " ".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&bad), ["points", "reason"]);
    let bad = admin
        .load_rule_set(ap::LoadRuleSetRequest {
            request_id: rid(),
            content: include_str!("../../services/appraisal/rules/default.toml")
                .replace("points = -5.0", "points = 5.0"),
            effective_from: "2027-01-01".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        fields(&bad),
        ["content.criticism.points", "content.reinspection_failed.points"]
    );
    let missing = admin
        .get_scorecard(ap::GetScorecardRequest {
            subject_kind: ap::SubjectKind::Unit as i32,
            subject: "no-such-unit".into(),
            period: "2026-10".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
    app.stop().await;
}
