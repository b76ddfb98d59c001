//! Notices (临近提醒 / 催办通知 / 通报批评告知) end to end: an item of 执行局's
//! assigned on the dev clock 9-30 (deploy due 10-08, initial 10-10), left
//! alone; the assignment service's sweep reminds, urges and flags it; two
//! reporting workers (as replicas) turn each event into one archived notice
//! mailed through a real SMTP server to the unit's head 胡振宇 and liaison
//! 彭悦, once each; a restarted worker sends nothing again; a liaison
//! without an e-mail address is recorded as a failed delivery. And a worker
//! that was down: the reminders out of date by the time it runs are
//! archived but not sent (skipped, with why); the urge still goes out.

use duban_core::Role;
use duban_proto::registry::v1 as reg;
use duban_proto::reporting::v1 as rp;
use duban_tests::smtp::{Received, SmtpServer};
use duban_tests::{Assignments, Reporting, TestApp, rid, uuid, worker};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

const HEAD: &str = "hu.zhenyu@jczy.court.example";
const LIAISON: &str = "peng.yue@jczy.court.example";
const TITLE: &str = "优化诉讼服务中心窗口设置";

/// Every notice in the archive (ListReports, kind NOTICE), oldest first,
/// with its rendering and deliveries.
async fn notices(c: &mut Reporting) -> Vec<rp::Report> {
    let listed = c
        .list_reports(rp::ListReportsRequest {
            kind: rp::ReportKind::Notice as i32,
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .reports;
    let mut out = Vec::new();
    for r in listed.iter().rev() {
        assert_eq!(r.kind, rp::ReportKind::Notice as i32);
        out.push(
            c.get_report(rp::GetReportRequest { id: r.id.clone() })
                .await
                .unwrap()
                .into_inner(),
        );
    }
    out
}

/// Waits until there are `n` notices and none has a delivery in flight.
async fn settled(c: &mut Reporting, n: usize) -> Vec<rp::Report> {
    for _ in 0..200 {
        let all = notices(c).await;
        let busy = all
            .iter()
            .flat_map(|r| &r.deliveries)
            .any(|d| d.state == rp::DeliveryState::Pending as i32 || d.state == rp::DeliveryState::Sending as i32);
        if all.len() >= n && !busy {
            assert_eq!(all.len(), n, "{:?}", all.iter().map(|r| &r.subject).collect::<Vec<_>>());
            return all;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {n} settled notices");
}

/// Base64 (RFC 4648), for the mail's encoded subject and body.
fn base64(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
        let v = A.iter().position(|a| *a == c).expect("base64") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// The Subject header, its RFC 2047 words decoded.
fn subject(m: &Received) -> String {
    let raw = m.header("Subject").unwrap();
    raw.split_whitespace()
        .map(
            |w| match w.strip_prefix("=?utf-8?b?").and_then(|w| w.strip_suffix("?=")) {
                Some(b) => String::from_utf8(base64(b)).unwrap(),
                None => w.to_owned(),
            },
        )
        .collect()
}

/// The text/plain part as sent.
fn text(m: &Received) -> String {
    let start = m.data.find("Content-Type: text/plain").expect("a text part");
    let part = &m.data[start..];
    let (head, rest) = part.split_once("\r\n\r\n").unwrap();
    let body = &rest[..rest.find("\r\n--").unwrap()];
    if head.contains("base64") {
        String::from_utf8(base64(body)).unwrap()
    } else {
        body.to_owned()
    }
}

/// Checks each notice went to the head and the liaison, once each, under
/// the Message-ID the archive shows, with the archived subject and text.
fn delivered_once(notices: &[rp::Report], received: &[Received]) {
    let by_id: HashMap<String, &Received> = received.iter().map(|m| (m.message_id(), m)).collect();
    assert_eq!(by_id.len(), received.len(), "a Message-ID arrived twice");
    assert_eq!(
        received.len(),
        2 * notices.len(),
        "{:?} for {:?}",
        received.iter().map(|m| (subject(m), m.to.clone())).collect::<Vec<_>>(),
        notices.iter().map(|n| &n.subject).collect::<Vec<_>>()
    );
    for n in notices {
        let to: HashSet<&str> = n.deliveries.iter().map(|d| d.recipient_email.as_str()).collect();
        assert_eq!(to, HashSet::from([HEAD, LIAISON]), "{}", n.subject);
        for d in &n.deliveries {
            assert_eq!(d.state, rp::DeliveryState::Sent as i32, "{d:?}");
            let m = by_id[&d.message_id];
            assert_eq!(m.to, [d.recipient_email.clone()]);
            assert_eq!(subject(m), n.subject);
            let body = text(m);
            assert!(body.contains("执行局:"), "{body}");
            assert!(body.contains(TITLE), "{body}");
        }
    }
}

/// The office urges by hand.
async fn urge(office: &mut Assignments, id: &str, note: &str) {
    let now = duban_tests::get_assignment(office, id).await;
    duban_tests::urge(office, &now, note).await;
}

fn find<'a>(notices: &'a [rp::Report], subject: &str) -> &'a rp::Report {
    notices.iter().find(|n| n.subject == subject).unwrap_or_else(|| {
        panic!(
            "no notice {subject}: {:?}",
            notices.iter().map(|n| &n.subject).collect::<Vec<_>>()
        )
    })
}

/// The demo court with an SMTP server, a notices-only worker's settings
/// (the schedules switched off, as the office would), the office's and
/// reporting clients, and the dev clock at 2026-09-30 10:00.
struct Court {
    app: TestApp,
    smtp: SmtpServer,
    settings: duban_platform::configuration::Settings,
    zxj: reg::Unit,
    office: Assignments,
    reports: Reporting,
}

async fn court() -> Court {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let smtp = SmtpServer::start().await;
    let settings = worker::settings(Some(smtp.port()), None);
    let court = app.unit_by_code("jczy").await;
    let zxj = app.unit_by_code("jczy-zxj").await;
    let office = app
        .assignments(&app.token(&[Role::OfficeSupervisor], &[uuid(&court.id)]).await)
        .await;
    let reports = app.reporting(&app.admin_token).await;
    sqlx::query("UPDATE reporting.schedules SET enabled = false")
        .execute(&app.db.pool)
        .await
        .unwrap();
    app.set_clock("2026-09-30T10:00:00+08:00").await;
    Court {
        app,
        smtp,
        settings,
        zxj,
        office,
        reports,
    }
}

/// A registered item of 执行局's titled [`TITLE`].
async fn titled_item(app: &TestApp, zxj: &reg::Unit) -> reg::Item {
    app.registered_item(reg::Item {
        title: TITLE.into(),
        lead_unit_id: zxj.id.clone(),
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn reminders_urges_and_criticism_reach_the_head_and_the_liaison_once() {
    let Court {
        app,
        smtp,
        settings: s,
        zxj,
        mut office,
        reports: mut c,
    } = court().await;
    let item = titled_item(&app, &zxj).await;
    let number = item.number.clone();
    assert!(!number.is_empty());
    let a = duban_tests::assign(&mut office, &item.id).await;
    // Two workers, as two replicas would run.
    let (stop1, w1) = worker::start(&app, &s);
    let (stop2, w2) = worker::start(&app, &s);

    // 9-30: deploy is due 10-08, the next working day: 临近提醒.
    app.eventually("assignment.reminder", 1).await;
    let all = settled(&mut c, 1).await;
    let reminder = find(
        &all,
        &format!("【临近提醒】{number} {TITLE}(研究部署将于10月8日24时到期)"),
    );
    assert_eq!(reminder.title, "临近提醒");
    assert_eq!(reminder.unit_id, zxj.id);
    assert!(
        reminder.text.contains("请按要求于10月8日24时前报送研究部署情况"),
        "{}",
        reminder.text
    );
    delivered_once(&all, &smtp.received());

    // 10-09: deploy missed: urge no. 1 (and initial, due 10-10, reminded).
    app.set_clock("2026-10-09T09:00:00+08:00").await;
    app.eventually("assignment.urged", 1).await;
    app.eventually("assignment.reminder", 2).await;
    let all = settled(&mut c, 3).await;
    let first = find(&all, &format!("【催办通知】{number} {TITLE}(第1次催办)"));
    assert_eq!(first.title, "催办通知");
    assert_eq!(first.number, number);
    for fact in [
        "执行局:",
        "研究部署时限(10月8日24时)已届满",
        "现对该事项进行第1次催办",
        "请于10月10日24时前回复催办",
        "责任人:胡振宇",
        "联络员:彭悦",
        "江川市中级人民法院办公室",
        "2026年10月9日",
    ] {
        assert!(first.text.contains(fact), "text lacks {fact}: {}", first.text);
        assert!(read_as_text(&first.html).contains(fact), "html lacks {fact}");
    }
    // Dates are never broken across lines in the mail.
    assert!(
        first
            .html
            .contains("<span style=\"white-space:nowrap;\">10月8日24时</span>")
    );
    find(
        &all,
        &format!("【临近提醒】{number} {TITLE}(反馈初步落实情况将于10月10日24时到期)"),
    );
    delivered_once(&all, &smtp.received());

    // The office urges by hand: no. 2.
    urge(&mut office, &a.id, "请立即签收并报送部署情况").await;
    let all = settled(&mut c, 4).await;
    let manual = find(&all, &format!("【催办通知】{number} {TITLE}(第2次催办)"));
    assert!(
        manual.text.contains("督查督办部门现对该事项进行第2次催办"),
        "{}",
        manual.text
    );

    // 10-12: both urges unanswered past 10-10 24:00: 通报批评; the initial
    // report (due 10-10) was missed too: urge no. 3.
    app.set_clock("2026-10-12T09:00:00+08:00").await;
    app.eventually("assignment.flagged", 1).await;
    app.eventually("assignment.urged", 3).await;
    let all = settled(&mut c, 6).await;
    let flag = find(&all, &format!("【通报批评告知】{number} {TITLE}"));
    assert!(flag.text.contains("经催办2次无正当理由未按要求办理"), "{}", flag.text);
    assert!(flag.text.contains("予以通报批评"), "{}", flag.text);
    let third = find(&all, &format!("【催办通知】{number} {TITLE}(第3次催办)"));
    assert!(
        third.text.contains("反馈初步落实情况时限(10月10日24时)已届满"),
        "{}",
        third.text
    );
    delivered_once(&all, &smtp.received());

    // One notice per event, however many workers.
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM platform.events WHERE subject_id = $1 \
         AND event_type IN ('assignment.reminder', 'assignment.urged', 'assignment.flagged')",
    )
    .bind(&a.id)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(events, 6);

    // Restarted: a new worker sends nothing again.
    stop1.cancel();
    stop2.cancel();
    w1.await.unwrap();
    w2.await.unwrap();
    let (stop, worker) = worker::start(&app, &s);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let all = settled(&mut c, 6).await;
    delivered_once(&all, &smtp.received());

    // The liaison's address is removed from the directory; the next urge
    // reaches the head and is recorded as undeliverable to the liaison.
    let peng = app.person_by_code("peng.yue").await;
    app.admin()
        .await
        .update_person(reg::UpdatePersonRequest {
            request_id: rid(),
            person: Some(reg::Person {
                email: String::new(),
                ..peng
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["email".into()],
            }),
        })
        .await
        .unwrap();
    urge(&mut office, &a.id, "请于今日报送").await;
    let all = settled(&mut c, 7).await;
    let fourth = find(&all, &format!("【催办通知】{number} {TITLE}(第4次催办)"));
    let by = |name: &str| fourth.deliveries.iter().find(|d| d.recipient_name == name).unwrap();
    assert_eq!(by("胡振宇").state, rp::DeliveryState::Sent as i32);
    let failed = by("彭悦");
    assert_eq!(failed.state, rp::DeliveryState::Failed as i32);
    assert!(failed.last_error.contains("未登记电子邮箱"), "{}", failed.last_error);
    assert_eq!(smtp.received().len(), 2 * 6 + 1);
    stop.cancel();
    worker.await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn reminders_out_of_date_when_the_worker_comes_back_are_archived_not_sent() {
    let Court {
        app,
        smtp,
        settings: s,
        zxj,
        mut office,
        reports: mut c,
    } = court().await;
    let mut unit = app
        .assignments(&app.token(&[Role::UnitLiaison], &[uuid(&zxj.id)]).await)
        .await;
    // No worker runs while all this happens.
    let item = titled_item(&app, &zxj).await;
    let number = item.number.clone();
    duban_tests::assign(&mut office, &item.id).await;
    app.eventually("assignment.reminder", 1).await;
    // 10-09: deploy (due 10-08) missed: urge no. 1; initial (due 10-10) reminded.
    app.set_clock("2026-10-09T09:00:00+08:00").await;
    app.eventually("assignment.urged", 1).await;
    app.eventually("assignment.reminder", 2).await;
    // A second item, assigned 09:30 (deploy due 10-10: reminded at once),
    // is signed for at 10:00.
    app.set_clock("2026-10-09T09:30:00+08:00").await;
    let second = titled_item(&app, &zxj).await;
    let b = duban_tests::assign(&mut office, &second.id).await;
    app.eventually("assignment.reminder", 3).await;
    app.set_clock("2026-10-09T10:00:00+08:00").await;
    duban_tests::acknowledge(&mut unit, &b, "局党组专题研究").await;

    // The worker comes back at 10:05.
    app.set_clock("2026-10-09T10:05:00+08:00").await;
    let (stop, w) = worker::start(&app, &s);
    let all = settled(&mut c, 4).await;
    let deploy = find(
        &all,
        &format!("【临近提醒】{number} {TITLE}(研究部署将于10月8日24时到期)"),
    );
    let met = find(
        &all,
        &format!("【临近提醒】{} {TITLE}(研究部署将于10月10日24时到期)", second.number),
    );
    for (n, why) in [
        (
            deploy,
            "发送前该节点已于10月8日24时到期,临近提醒已过时效,未发送(逾期将另行催办)",
        ),
        (met, "发送前该节点已于10月9日办理,不再提醒"),
    ] {
        assert_eq!(n.deliveries.len(), 2, "{}", n.subject);
        for d in &n.deliveries {
            assert_eq!(d.state, rp::DeliveryState::Skipped as i32, "{d:?}");
            assert_eq!(d.last_error, why);
        }
    }
    // The urge and the reminder still ahead (initial, due 10-10) went out.
    find(&all, &format!("【催办通知】{number} {TITLE}(第1次催办)"));
    find(
        &all,
        &format!("【临近提醒】{number} {TITLE}(反馈初步落实情况将于10月10日24时到期)"),
    );
    let sent: Vec<rp::Report> = all
        .iter()
        .filter(|n| n.id != deploy.id && n.id != met.id)
        .cloned()
        .collect();
    delivered_once(&sent, &smtp.received());

    // The office may still send a skipped one by hand.
    c.send_report(rp::SendReportRequest {
        request_id: rid(),
        id: deploy.id.clone(),
        include_sent: false,
    })
    .await
    .unwrap();
    let all = settled(&mut c, 4).await;
    let sent: Vec<rp::Report> = all.iter().filter(|n| n.id != met.id).cloned().collect();
    delivered_once(&sent, &smtp.received());
    stop.cancel();
    w.await.unwrap();
    app.stop().await;
}

/// The HTML with the spans that keep dates on one line left out.
fn read_as_text(html: &str) -> String {
    html.replace("<span style=\"white-space:nowrap;\">", "")
        .replace("</span>", "")
}
