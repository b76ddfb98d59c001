//! The whole story of one item, end to end over real gRPC on the dev clock:
//! registered, assigned on the eve of the 2026 National Day holiday to two
//! units, the lead unit on time, the co-unit late (lights, a reminder, two
//! urges answered without justification, the 通报批评 flag), returned and
//! verified, written off in the next Monday's list, re-inspected and reopened
//! — and the event stream telling exactly that, nothing twice.
//!
//! Every date below is worked out by hand from the shipped 2026 calendar
//! (国庆节 10-01..10-07 off, 10-10 Saturday a working day) and the rule for
//! periods (docs/domain.md §4: the start day is not counted; N working days end
//! at 24:00 Beijing time of the Nth working day after).

use duban_assignment::assignments::AssignmentService;
use duban_core::Role;
use duban_platform::clock::Clock;
use duban_proto::assignment::v1 as pb;
use duban_proto::registry::v1 as reg;
use duban_tests::{Assignments, TestApp, acknowledge, date as d, feedback, get_assignment, rid, urge, uuid};
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

/// Each milestone's last day.
fn due(a: &pb::Assignment) -> Vec<(String, reg::Date)> {
    a.milestones
        .iter()
        .map(|m| (m.kind.clone(), m.due_date.unwrap()))
        .collect()
}

fn milestone<'a>(a: &'a pb::Assignment, kind: &str) -> &'a pb::AssignmentMilestone {
    a.milestones.iter().find(|m| m.kind == kind).unwrap()
}

/// Seconds since the epoch of an RFC 3339 instant.
fn secs(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339).unwrap().timestamp()
}

async fn accept(c: &mut Assignments, a: &pb::Assignment, grade: &str, checked: &str) -> pb::Assignment {
    c.verify(pb::VerifyRequest {
        request_id: rid(),
        id: a.id.clone(),
        etag: a.etag.clone(),
        accept: true,
        grade: grade.into(),
        checked: checked.into(),
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
}

async fn judge(c: &mut Assignments, a: &pb::Assignment, seq: i32, justified: bool) -> pb::Assignment {
    let urge = a.urges.iter().find(|u| u.seq == seq).unwrap();
    c.judge_urge_response(pb::JudgeUrgeResponseRequest {
        request_id: rid(),
        id: a.id.clone(),
        etag: a.etag.clone(),
        urge_id: urge.id.clone(),
        justified,
    })
    .await
    .unwrap()
    .into_inner()
}

/// Runs the follow-up sweep (reminders, automatic urges, flags) at the dev
/// clock's time — the suite's own sweep also runs every second — then twice
/// more: a repeated sweep must find nothing left to issue.
async fn sweep(s: &AssignmentService) {
    s.sweep().await.expect("sweep");
    for _ in 0..2 {
        assert_eq!(s.sweep().await.expect("sweep"), 0, "a repeated sweep issued again");
    }
}

/// What an event is about, from its payload: the milestone and number of a
/// reminder or urge, the urge judged, the state after a step.
fn detail(e: &pb::Event) -> String {
    let payload: serde_json::Value = serde_json::from_str(&e.payload_json).unwrap();
    let after = &payload["after"];
    let text = |k: &str| after[k].as_str().unwrap_or_default().to_owned();
    match e.event_type.as_str() {
        "assignment.reminder" => text("milestone"),
        "assignment.urged" => match after["seq"].as_i64() {
            Some(seq) => format!("#{seq} {}", text("milestone")),
            None => String::new(),
        },
        "assignment.urge_judged" => format!("#{} justified={}", after["urge"], after["justified"]),
        "assignment.flagged" => format!("against={}", after["urges_against"]),
        "item.reinspection_failed" | "item.reinspection_passed" => {
            format!("round {} passed={}", after["round"], after["passed"])
        }
        _ => text("state"),
    }
}

#[tokio::test]
async fn an_item_from_registration_through_urging_close_out_and_re_inspection() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let sweeper = AssignmentService::new(
        app.db.pool.clone(),
        Clock::shared(app.db.pool.clone()),
        chrono_tz::Asia::Shanghai,
    );
    let court = app.unit_by_code("jczy").await;
    let zxj = app.unit_by_code("jczy-zxj").await; // 执行局: unit A, the lead
    let lat = app.unit_by_code("jczy-lat").await; // 立案庭: unit B, the co-unit
    let sun = app.person_by_code("sun.lijun").await;
    let mut office = app
        .assignments(&app.token(&[Role::OfficeSupervisor], &[uuid(&court.id)]).await)
        .await;
    let mut unit_a = app
        .assignments(&app.token(&[Role::UnitLiaison], &[uuid(&zxj.id)]).await)
        .await;
    let mut unit_b = app
        .assignments(&app.token(&[Role::UnitLiaison], &[uuid(&lat.id)]).await)
        .await;

    // 1. 立项: a general item (一般事项, 13710), lead unit, one co-unit, a
    //    supervising leader; drafted, submitted and approved.
    app.set_clock("2026-09-30T09:00:00+08:00").await;
    let item = app
        .registered_item(reg::Item {
            title: "涉企积案集中攻坚".into(),
            urgency: reg::UrgencyClass::General as i32,
            lead_unit_id: zxj.id.clone(),
            co_unit_ids: vec![lat.id.clone()],
            supervising_leader_id: sun.id.clone(),
            ..Default::default()
        })
        .await;
    assert_eq!(item.state, reg::RegistrationState::Registered as i32);
    assert_eq!(item.urgency, reg::UrgencyClass::General as i32);
    assert!(!item.number.is_empty());

    // 2. 交办 on Wednesday 9-30, the eve of the holiday. After 9-30 the
    //    working days run 10-08 (1), 10-09 (2), 10-10 Saturday (3), 10-12,
    //    10-13, 10-14, 10-15 (7): deploy 10-08, initial 10-10, resolve 10-15.
    let assigned = office
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
    let a = assigned.iter().find(|x| x.role == "lead").unwrap().clone();
    let b = assigned.iter().find(|x| x.role == "co").unwrap().clone();
    assert_eq!(
        (a.unit_id.as_str(), b.unit_id.as_str()),
        (zxj.id.as_str(), lat.id.as_str())
    );
    assert_eq!(
        (
            a.head.as_ref().unwrap().name.as_str(),
            a.liaison.as_ref().unwrap().name.as_str()
        ),
        ("胡振宇", "彭悦")
    );
    assert_eq!(
        (
            b.head.as_ref().unwrap().name.as_str(),
            b.liaison.as_ref().unwrap().name.as_str()
        ),
        ("王建华", "李晓婷")
    );
    let first_round = vec![
        ("deploy".to_owned(), d(2026, 10, 8)),
        ("initial".to_owned(), d(2026, 10, 10)),
        ("resolve".to_owned(), d(2026, 10, 15)),
    ];
    for x in [&a, &b] {
        assert_eq!((x.round, x.state.as_str(), x.policy.as_str()), (1, "assigned", "13710"));
        assert_eq!(due(x), first_round);
        // Each ends at 24:00 Beijing time of its last day.
        let ends: Vec<i64> = x.milestones.iter().map(|m| m.due_time.unwrap().seconds).collect();
        assert_eq!(
            ends,
            [
                secs("2026-10-09T00:00:00+08:00"),
                secs("2026-10-11T00:00:00+08:00"),
                secs("2026-10-16T00:00:00+08:00")
            ]
        );
        // Not green: deploy is due 10-08, the next working day after 9-30, and
        // docs/domain.md §4 makes a milestone within one working day yellow.
        assert_eq!(x.light, "yellow");
    }
    // The sweep reminds both units of deploy (due by the next working day).
    sweep(&sweeper).await;
    // Unit B signs the same afternoon: its next milestone (initial, 10-10) is
    // neither due by the next working day (10-08) nor 75% used: green.
    app.set_clock("2026-09-30T15:00:00+08:00").await;
    let b = acknowledge(&mut unit_b, &b, "庭务会研究,指定专人负责立案环节配合").await;
    assert_eq!((b.state.as_str(), b.light.as_str()), ("acknowledged", "green"));
    assert_eq!(
        milestone(&b, "deploy").met_time.unwrap().seconds,
        secs("2026-09-30T15:00:00+08:00")
    );
    assert_eq!(get_assignment(&mut office, &a.id).await.light, "yellow");

    // 3. Unit A on time; unit B late.
    // 10-08 08:00, first morning after the holiday: B's initial window (9-30
    // 09:00 → 10-11 00:00, 255 h) is 191 h used (< 75%) and 10-10 is not
    // the next working day (10-09): still green. A signs and reports.
    app.set_clock("2026-10-08T08:00:00+08:00").await;
    sweep(&sweeper).await;
    assert_eq!(get_assignment(&mut office, &b.id).await.light, "green");
    let a = acknowledge(&mut unit_a, &a, "局党组专题研究,成立攻坚专班").await;
    let a = feedback(&mut unit_a, &a, "initial", "已梳理涉企积案58件,逐案明确承办人").await;
    assert_eq!((a.state.as_str(), a.light.as_str()), ("in_progress", "green"));
    assert!(milestone(&a, "deploy").met_time.is_some() && milestone(&a, "initial").met_time.is_some());

    // 10-09: B's initial report is due the next working day (10-10): yellow,
    // and the sweep reminds B (only B: A has reported).
    app.set_clock("2026-10-09T09:00:00+08:00").await;
    sweep(&sweeper).await;
    assert_eq!(get_assignment(&mut office, &b.id).await.light, "yellow");
    assert_eq!(get_assignment(&mut office, &a.id).await.light, "green");

    // 10-11 (Sunday): 10-10 24:00 has passed without B's report: red, and an
    // automatic urge no. 1, answer due 24:00 of the next working day (10-12);
    // issued once however many sweeps run (ours and the suite's own).
    app.set_clock("2026-10-11T09:00:00+08:00").await;
    sweep(&sweeper).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let b = get_assignment(&mut office, &b.id).await;
    assert_eq!(b.light, "red");
    assert_eq!(b.urges.len(), 1, "{:?}", b.urges);
    let first = &b.urges[0];
    assert_eq!(
        (first.seq, first.kind.as_str(), first.milestone.as_str()),
        (1, "automatic", "initial")
    );
    assert_eq!(first.issue_time.unwrap().seconds, secs("2026-10-11T09:00:00+08:00"));
    assert_eq!(
        first.answer_due_time.unwrap().seconds,
        secs("2026-10-13T00:00:00+08:00")
    );
    assert!(first.response_time.is_none() && first.justified.is_none());
    assert!(get_assignment(&mut office, &a.id).await.urges.is_empty());

    // 10-12 (Monday): B answers; the office finds no justified reason: one
    // urge against B, not yet flagged.
    app.set_clock("2026-10-12T09:00:00+08:00").await;
    sweep(&sweeper).await;
    let b = feedback(&mut unit_b, &b, "urge_response", "节后立案量大,人手紧张").await;
    assert!(b.urges[0].response_time.is_some());
    let b = judge(&mut office, &b, 1, false).await;
    assert_eq!(b.urges[0].justified, Some(false));
    assert!(b.flagged_time.is_none() && b.flag_reason.is_empty());
    // The office urges by hand: no. 2, answer due 24:00 of 10-13.
    let b = urge(&mut office, &b, "请于明日下班前报送初步落实情况").await;
    assert_eq!(b.urges.len(), 2);
    let second = &b.urges[1];
    assert_eq!((second.seq, second.kind.as_str()), (2, "manual"));
    assert_eq!(
        second.answer_due_time.unwrap().seconds,
        secs("2026-10-14T00:00:00+08:00")
    );
    // Answered, judged unjustified too: two urges without a justified
    // answer flag B for 通报批评.
    let b = feedback(&mut unit_b, &b, "urge_response", "已安排专人,正在整理").await;
    assert!(b.urges[1].response_time.is_some());
    let b = judge(&mut office, &b, 2, false).await;
    assert_eq!(
        b.flagged_time.map(|t| t.seconds),
        Some(secs("2026-10-12T09:00:00+08:00"))
    );
    assert!(b.flag_reason.contains("经催办2次"), "{}", b.flag_reason);
    // B finally reports (late). Its resolve window (9-30 09:00 → 10-16
    // 00:00, 375 h) is 288 h used, past 75%: yellow, no longer red.
    let b = feedback(&mut unit_b, &b, "initial", "已梳理需立案环节配合案件12件").await;
    assert!(milestone(&b, "initial").met_time.is_some());
    assert_eq!((b.state.as_str(), b.light.as_str()), ("in_progress", "yellow"));

    // 4. 10-13: A reports completion, before any reminder of it (10-15 is
    //    not yet the next working day).
    app.set_clock("2026-10-13T09:00:00+08:00").await;
    sweep(&sweeper).await;
    let a = feedback(&mut unit_a, &a, "completion", "58件涉企积案已全部办结").await;
    assert_eq!(a.state, "completion_reported");
    // 10-14: the resolution (10-15) is due the next working day: B is
    // reminded. B reports; the office returns it for rework (驳回重办).
    app.set_clock("2026-10-14T09:00:00+08:00").await;
    sweep(&sweeper).await;
    let b = feedback(&mut unit_b, &b, "completion", "配合事项已完成").await;
    assert_eq!(b.state, "completion_reported");
    assert!(milestone(&b, "resolve").met_time.is_some());
    let b = office
        .verify(pb::VerifyRequest {
            request_id: rid(),
            id: b.id.clone(),
            etag: b.etag.clone(),
            accept: false,
            comment: "未附立案登记材料,抽查2件未立案".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(b.state, "returned");
    assert_eq!(b.return_comment, "未附立案登记材料,抽查2件未立案");
    assert!(milestone(&b, "resolve").met_time.is_none());
    assert_eq!(b.light, "yellow");
    // 10-15: B reports again; the office verifies both, with a grade and
    // what was checked.
    app.set_clock("2026-10-15T09:00:00+08:00").await;
    sweep(&sweeper).await;
    let b = feedback(&mut unit_b, &b, "completion", "2件已补立案,附立案登记表").await;
    assert_eq!(b.state, "completion_reported");
    let b = accept(&mut office, &b, "pass", "核对立案登记表12份,抽查2件").await;
    let a = accept(&mut office, &a, "excellent", "调阅结案文书58份,电话回访企业10家").await;
    for (x, grade, checked) in [
        (&a, "excellent", "调阅结案文书58份,电话回访企业10家"),
        (&b, "pass", "核对立案登记表12份,抽查2件"),
    ] {
        assert_eq!((x.state.as_str(), x.grade.as_str()), ("verified", grade));
        assert_eq!(x.verification_notes, checked);
        assert!(!x.verified_by.is_empty());
        assert_eq!(x.verified_time.unwrap().seconds, secs("2026-10-15T09:00:00+08:00"));
    }
    // B's whole record: deployment, two urge answers, initial, three reports.
    let kinds: Vec<&str> = b.feedback.iter().map(|f| f.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "deployment",
            "urge_response",
            "urge_response",
            "initial",
            "completion",
            "completion"
        ]
    );

    // 5. 一周一销号: verified in the week of 10-12, so not in that week's
    //    list (run on Friday 10-16) but in Monday 10-19's.
    app.set_clock("2026-10-16T09:00:00+08:00").await;
    let this_week = office
        .close_out(pb::CloseOutRequest {
            request_id: rid(),
            week_of: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(this_week.week, Some(d(2026, 10, 12)));
    assert!(this_week.assignments.is_empty(), "{:?}", this_week.assignments);
    app.set_clock("2026-10-19T09:00:00+08:00").await;
    let monday = office
        .close_out(pb::CloseOutRequest {
            request_id: rid(),
            week_of: Some(d(2026, 10, 19)),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(monday.week, Some(d(2026, 10, 19)));
    let ids: HashSet<&str> = monday.assignments.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(ids, HashSet::from([a.id.as_str(), b.id.as_str()]));
    assert!(
        monday.assignments.iter().all(|x| x.state == "closed_out"
            && x.closed_out_time.map(|t| t.seconds) == Some(secs("2026-10-19T09:00:00+08:00")))
    );
    // Written off once: a second run writes off nothing more.
    let again = office
        .close_out(pb::CloseOutRequest {
            request_id: rid(),
            week_of: Some(d(2026, 10, 19)),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.assignments.len(), 2);
    // Any day of the week finds Monday's list; the previous week's lacks them.
    let listed = office
        .list_close_outs(pb::ListCloseOutsRequest {
            week_of: Some(d(2026, 10, 21)),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.week, Some(d(2026, 10, 19)));
    let ids: HashSet<&str> = listed.assignments.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(ids, HashSet::from([a.id.as_str(), b.id.as_str()]));
    let previous = office
        .list_close_outs(pb::ListCloseOutsRequest {
            week_of: Some(d(2026, 10, 12)),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(previous.week, Some(d(2026, 10, 12)));
    assert!(previous.assignments.is_empty(), "{:?}", previous.assignments);
    assert_eq!(get_assignment(&mut office, &a.id).await.state, "closed_out");
    assert_eq!(get_assignment(&mut office, &b.id).await.state, "closed_out");

    // 6. 回头看 on Monday 10-19: it failed, the item is reopened: round 2 to
    //    the same units, from 10-19: 10-20 (1), 10-21, 10-22 (3), 10-23,
    //    10-26, 10-27, 10-28 (7).
    let reopened = office
        .re_inspect(pb::ReInspectRequest {
            request_id: rid(),
            item_id: item.id.clone(),
            passed: false,
            findings: "回访发现3家企业反映案款仍未发放".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((reopened.round, reopened.passed), (1, false));
    assert_eq!(reopened.assignments.len(), 2);
    let a2 = reopened.assignments.iter().find(|x| x.role == "lead").unwrap().clone();
    let b2 = reopened.assignments.iter().find(|x| x.role == "co").unwrap().clone();
    assert_eq!(
        (a2.unit_id.as_str(), b2.unit_id.as_str()),
        (zxj.id.as_str(), lat.id.as_str())
    );
    for x in [&a2, &b2] {
        assert_eq!((x.round, x.state.as_str()), (2, "assigned"));
        assert_ne!(x.id, a.id);
        assert_ne!(x.id, b.id);
        assert_eq!(
            due(x),
            [
                ("deploy".to_owned(), d(2026, 10, 20)),
                ("initial".to_owned(), d(2026, 10, 22)),
                ("resolve".to_owned(), d(2026, 10, 28))
            ]
        );
        assert!(x.urges.is_empty() && x.flagged_time.is_none());
    }
    // A passed re-inspection (another item, one unit) reopens nothing.
    let other = app
        .registered_item(reg::Item {
            title: "诉讼服务中心导诉标识更新".into(),
            lead_unit_id: lat.id.clone(),
            ..Default::default()
        })
        .await;
    let single = office
        .assign_item(pb::AssignItemRequest {
            request_id: rid(),
            item_id: other.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .assignments;
    assert_eq!(single.len(), 1);
    // Round 2's deploy and this one's (10-20) are due the next working day:
    // all three are reminded.
    sweep(&sweeper).await;
    let c = acknowledge(&mut unit_b, &single[0], "立即组织更换").await;
    let c = feedback(&mut unit_b, &c, "completion", "导诉标识已全部更换").await;
    let c = accept(&mut office, &c, "good", "现场查看导诉标识").await;
    let passed = office
        .re_inspect(pb::ReInspectRequest {
            request_id: rid(),
            item_id: other.id.clone(),
            passed: true,
            findings: "现场复查,标识清晰完好".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((passed.round, passed.passed, passed.assignments.len()), (1, true, 0));
    let rounds = office
        .list_assignments(pb::ListAssignmentsRequest {
            item_id: other.id.clone(),
            page_size: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .assignments;
    assert_eq!(
        rounds.iter().map(|x| (x.id.as_str(), x.round)).collect::<Vec<_>>(),
        [(c.id.as_str(), 1)]
    );
    sweep(&sweeper).await;

    // 7. The event stream from the start: everything above, in order, once.
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM platform.events WHERE service = 'assignment'")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let mut stream = app
        .assignments(&app.admin_token)
        .await
        .watch_events(pb::WatchEventsRequest {
            services: vec!["assignment".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut events = Vec::new();
    while events.len() < total as usize {
        let e = tokio::time::timeout(Duration::from_secs(10), stream.message())
            .await
            .expect("the stream delivers every stored event")
            .unwrap()
            .unwrap();
        events.push(e);
    }
    // Nothing more is on its way.
    assert!(
        tokio::time::timeout(Duration::from_millis(600), stream.message())
            .await
            .is_err()
    );
    drop(stream);
    let ids: HashSet<i64> = events.iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), events.len(), "no event twice");
    assert!(events.windows(2).all(|w| w[0].id < w[1].id), "in commit order");
    let mut by_subject: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
    for e in &events {
        by_subject
            .entry(e.subject_id.as_str())
            .or_default()
            .push((e.event_type.clone(), detail(e)));
    }
    let expect = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(t, x)| (format!("assignment.{t}"), x.to_string()))
            .collect()
    };
    let seen = |id: &str| by_subject.get(id).cloned().unwrap_or_default();
    assert_eq!(
        seen(&a.id),
        expect(&[
            ("assigned", "assigned"),
            ("reminder", "deploy"),
            ("acknowledged", "acknowledged"),
            ("feedback", "in_progress"),
            ("completion_reported", "completion_reported"),
            ("verified", "verified"),
            ("closed_out", "closed_out"),
        ])
    );
    assert_eq!(
        seen(&b.id),
        expect(&[
            ("assigned", "assigned"),
            ("reminder", "deploy"),
            ("acknowledged", "acknowledged"),
            ("reminder", "initial"),
            ("urged", "#1 initial"),
            ("urge_answered", "in_progress"),
            ("urge_judged", "#1 justified=false"),
            // A manual urge's event carries the assignment, not the urge's number.
            ("urged", ""),
            ("urge_answered", "in_progress"),
            ("urge_judged", "#2 justified=false"),
            ("flagged", "against=2"),
            ("feedback", "in_progress"),
            ("reminder", "resolve"),
            ("completion_reported", "completion_reported"),
            ("returned", "returned"),
            ("completion_reported", "completion_reported"),
            ("verified", "verified"),
            ("closed_out", "closed_out"),
        ])
    );
    for x in [&a2, &b2] {
        assert_eq!(seen(&x.id), expect(&[("assigned", "assigned"), ("reminder", "deploy")]));
    }
    assert_eq!(
        seen(&c.id),
        expect(&[
            ("assigned", "assigned"),
            ("reminder", "deploy"),
            ("acknowledged", "acknowledged"),
            ("completion_reported", "completion_reported"),
            ("verified", "verified"),
        ])
    );
    assert_eq!(
        seen(&item.id),
        [("item.reinspection_failed".to_owned(), "round 1 passed=false".to_owned())]
    );
    assert_eq!(
        seen(&other.id),
        [("item.reinspection_passed".to_owned(), "round 1 passed=true".to_owned())]
    );
    // Nothing else happened, besides seeding the shipped calendars at start.
    let story: HashSet<&str> = [&a.id, &b.id, &a2.id, &b2.id, &c.id, &item.id, &other.id]
        .into_iter()
        .map(String::as_str)
        .collect();
    let rest: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| !story.contains(e.subject_id.as_str()))
        .map(|e| (e.event_type.as_str(), e.subject_id.as_str()))
        .collect();
    assert_eq!(
        rest,
        [
            ("calendar.loaded", "2024"),
            ("calendar.loaded", "2025"),
            ("calendar.loaded", "2026")
        ]
    );
    app.stop().await;
}
