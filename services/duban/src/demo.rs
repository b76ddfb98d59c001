//! The demo court's ledger for `duban dev --demo`: items of every source kind
//! and urgency class, some decomposed, in every registration state. Loaded
//! through the same service calls an office makes; every call has a fixed
//! request id, so loading again changes nothing.

use anyhow::Context;
use duban_assignment::assignments::AssignmentService;
use duban_platform::auth::Principal;
use duban_proto::assignment::v1 as apb;
use duban_proto::registry::v1 as pb;
use duban_registry::items::service::ItemService;
use duban_registry::org::store as org;
use sqlx::PgPool;

struct Demo<'a> {
    items: &'a ItemService,
    pool: &'a PgPool,
    admin: &'a Principal,
}

fn date(y: i32, m: i32, d: i32) -> Option<pb::Date> {
    Some(pb::Date {
        year: y,
        month: m,
        day: d,
    })
}

fn target(what: &str, value: f64, unit: &str) -> pb::Target {
    pb::Target {
        what: what.into(),
        target_value: value,
        unit_of_measure: unit.into(),
    }
}

/// Whether a demo call with `request_id` has already been made.
async fn recorded(pool: &PgPool, request_id: &str) -> anyhow::Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM platform.requests WHERE request_id = $1)")
            .bind(request_id)
            .fetch_one(pool)
            .await?,
    )
}

fn err(e: duban_platform::Error) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

impl Demo<'_> {
    async fn unit(&self, code: &str) -> anyhow::Result<String> {
        Ok(org::unit_id_by_code(self.pool, code)
            .await?
            .with_context(|| format!("demo unit {code}"))?
            .to_string())
    }

    async fn person(&self, code: &str) -> anyhow::Result<String> {
        Ok(org::person_id_by_code(self.pool, code)
            .await?
            .with_context(|| format!("demo person {code}"))?
            .to_string())
    }

    async fn source(&self, key: &str, source: pb::Source) -> anyhow::Result<pb::Source> {
        let req = pb::CreateSourceRequest {
            request_id: format!("demo-source-{key}"),
            source: Some(source),
        };
        self.items.create_source(self.admin, &req).await.map_err(err)
    }

    async fn draft(&self, key: &str, item: pb::Item) -> anyhow::Result<pb::Item> {
        let req = pb::CreateItemRequest {
            request_id: format!("demo-item-{key}"),
            item: Some(item),
        };
        self.items.create_item(self.admin, &req).await.map_err(err)
    }

    async fn submit(&self, key: &str, item: &pb::Item) -> anyhow::Result<pb::Item> {
        let req = pb::SubmitItemRequest {
            request_id: format!("demo-submit-{key}"),
            id: item.id.clone(),
            etag: item.etag.clone(),
        };
        self.items.submit_item(self.admin, &req).await.map_err(err)
    }

    async fn approve(&self, key: &str, item: &pb::Item, comment: &str) -> anyhow::Result<pb::Item> {
        self.approve_as(key, item, comment, pb::UrgencyClass::Unspecified, "")
            .await
    }

    /// Approves, the approver setting the class (and its reason) when given.
    async fn approve_as(
        &self,
        key: &str,
        item: &pb::Item,
        comment: &str,
        class: pb::UrgencyClass,
        reason: &str,
    ) -> anyhow::Result<pb::Item> {
        let req = pb::ApproveItemRequest {
            request_id: format!("demo-approve-{key}"),
            id: item.id.clone(),
            etag: item.etag.clone(),
            urgency: class as i32,
            urgency_reason: reason.into(),
            comment: comment.into(),
            ..Default::default()
        };
        self.items.approve_item(self.admin, &req).await.map_err(err)
    }

    async fn reject(&self, key: &str, item: &pb::Item, comment: &str) -> anyhow::Result<pb::Item> {
        let req = pb::RejectItemRequest {
            request_id: format!("demo-reject-{key}"),
            id: item.id.clone(),
            etag: item.etag.clone(),
            comment: comment.into(),
        };
        self.items.reject_item(self.admin, &req).await.map_err(err)
    }

    async fn decompose(
        &self,
        key: &str,
        item: &pb::Item,
        children: Vec<pb::SubItem>,
    ) -> anyhow::Result<pb::DecomposeItemResponse> {
        let req = pb::DecomposeItemRequest {
            request_id: format!("demo-decompose-{key}"),
            id: item.id.clone(),
            children,
        };
        self.items.decompose_item(self.admin, &req).await.map_err(err)
    }

    async fn registered(&self, key: &str, item: pb::Item, comment: &str) -> anyhow::Result<pb::Item> {
        let draft = self.draft(key, item).await?;
        let pending = self.submit(key, &draft).await?;
        self.approve(key, &pending, comment).await
    }
}

pub async fn load_items(items: &ItemService, pool: &PgPool, admin: &Principal) -> anyhow::Result<()> {
    // A data dir an older build loaded keeps its ledger: its calls, replayed
    // with what this build says, would be refused as different requests.
    if recorded(pool, "demo-approve-npc-108").await? {
        return Ok(());
    }
    let d = Demo { items, pool, admin };
    let court = d.unit("jczy").await?;
    let unit_item = |title: &str, lead: &str, targets: Vec<pb::Target>| pb::SubItem {
        level: pb::DecompositionLevel::Unit as i32,
        title: title.into(),
        lead_unit_id: lead.into(),
        targets,
        ..Default::default()
    };
    let source =
        |kind: pb::SourceKind, title: &str, number: &str, on: Option<pb::Date>, issuer: &str, decisions: &[&str]| {
            pb::Source {
                kind: kind as i32,
                title: title.into(),
                doc_number: number.into(),
                doc_date: on,
                issuer: issuer.into(),
                court_id: court.clone(),
                decisions: decisions
                    .iter()
                    .map(|t| pb::Decision {
                        text: (*t).into(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }
        };
    let item = |title: &str,
                requirements: &str,
                source: &pb::Source,
                class: pb::UrgencyClass,
                reason: &str,
                lead: &str,
                leader: &str| pb::Item {
        title: title.into(),
        requirements: requirements.into(),
        source_id: source.id.clone(),
        urgency: class as i32,
        urgency_reason: reason.into(),
        lead_unit_id: lead.into(),
        supervising_leader_id: leader.into(),
        court_id: court.clone(),
        ..Default::default()
    };
    let (sgb, sj, bgs, zxj, lat, xs, ms1, ms2, xz) = (
        d.unit("jczy-sgb").await?,
        d.unit("jczy-sj").await?,
        d.unit("jczy-bgs").await?,
        d.unit("jczy-zxj").await?,
        d.unit("jczy-lat").await?,
        d.unit("jczy-xs").await?,
        d.unit("jczy-ms1").await?,
        d.unit("jczy-ms2").await?,
        d.unit("jczy-xz").await?,
    );
    let (jcq, lhq, qsx) = (
        d.unit("jc-jcq").await?,
        d.unit("jc-lhq").await?,
        d.unit("jc-qsx").await?,
    );
    let (zhou, chen, liu, sun) = (
        d.person("zhou.mingyuan").await?,
        d.person("chen.lixin").await?,
        d.person("liu.huimin").await?,
        d.person("sun.lijun").await?,
    );

    // 分党组决定事项: one minutes document, three of its decisions registered.
    let minutes = d
        .source(
            "minutes-5",
            source(
                pb::SourceKind::PartyGroupDecision,
                "中共江川市中级人民法院分党组会议纪要(第5期)",
                "分党组纪要〔2026〕5号",
                date(2026, 4, 8),
                "分党组",
                &[
                    "研究制定《审判质效提升三年行动方案》",
                    "开展长期未结案件专项清理",
                    "完善督查督办考评办法,纳入年度绩效考核",
                    "加强法官助理队伍建设",
                ],
            ),
        )
        .await?;
    let from_minutes = d
        .items
        .register_from_decisions(
            admin,
            &pb::RegisterItemsFromDecisionsRequest {
                request_id: "demo-from-minutes-5".into(),
                source_id: minutes.id.clone(),
                decision_ids: minutes.decisions[..3].iter().map(|x| x.id.clone()).collect(),
                template: Some(pb::Item {
                    urgency: pb::UrgencyClass::General as i32,
                    urgency_reason: "分党组决定事项,按13710机制办理".into(),
                    lead_unit_id: sgb.clone(),
                    supervising_leader_id: zhou.clone(),
                    ..Default::default()
                }),
            },
        )
        .await
        .map_err(err)?
        .items;
    let plan = d.submit("minutes-5-1", &from_minutes[0]).await?;
    d.approve("minutes-5-1", &plan, "同意立项").await?;
    // The backlog clearance: major, split to every court that carries cases.
    let backlog = d.submit("minutes-5-2", &from_minutes[1]).await?;
    let backlog = d
        .approve_as(
            "minutes-5-2",
            &backlog,
            "同意,按重大事项一个月内拿出方案",
            pb::UrgencyClass::Major,
            "涉及两级法院多个单位,情况复杂",
        )
        .await?;
    let split = d
        .decompose(
            "minutes-5-2",
            &backlog,
            vec![
                unit_item(
                    "江城法院长期未结案件清理",
                    &jcq,
                    vec![target("清理长期未结案件", 120.0, "件")],
                ),
                unit_item(
                    "临河法院长期未结案件清理",
                    &lhq,
                    vec![target("清理长期未结案件", 85.0, "件")],
                ),
                unit_item(
                    "青石法院长期未结案件清理",
                    &qsx,
                    vec![target("清理长期未结案件", 40.0, "件")],
                ),
                unit_item(
                    "中院审判监督庭长期未结案件清理",
                    &sj,
                    vec![target("清理长期未结案件", 30.0, "件")],
                ),
            ],
        )
        .await?;
    for (i, child) in split.children.iter().enumerate() {
        d.approve(&format!("minutes-5-2-{i}"), child, "同意").await?;
    }
    d.submit("minutes-5-3", &from_minutes[2]).await?;

    // 院长批示: urgent.
    let instruction = d
        .source(
            "president-18",
            source(
                pb::SourceKind::PresidentInstruction,
                "关于涉企执行案件的批示",
                "院批〔2026〕18号",
                date(2026, 9, 14),
                "周明远",
                &[],
            ),
        )
        .await?;
    d.registered(
        "president-18",
        item(
            "涉企执行案件专项督办",
            "对涉企执行案件逐案梳理,三日内报送清单及化解方案",
            &instruction,
            pb::UrgencyClass::Urgent,
            "院长批示要求立即办理",
            &zxj,
            &sun,
        ),
        "特事特办",
    )
    .await?;

    // 其他院领导批示: fixed deadline.
    let leader_note = d
        .source(
            "chen-7",
            source(
                pb::SourceKind::LeaderInstruction,
                "关于诉讼服务中心窗口改造的批示",
                "院领导批〔2026〕7号",
                date(2026, 9, 22),
                "陈立新",
                &[],
            ),
        )
        .await?;
    let mut window = item(
        "诉讼服务中心窗口改造",
        "完成导诉台、自助立案设备和无障碍通道改造",
        &leader_note,
        pb::UrgencyClass::FixedDeadline,
        "批示明确年底前完成",
        &lat,
        &chen,
    );
    window.deadline = date(2026, 12, 31);
    window.co_unit_ids = vec![bgs.clone()];
    d.registered("chen-7", window, "同意").await?;

    // 工作会议部署: sent back once, still a draft.
    let conference = d
        .source(
            "conference-2026",
            source(
                pb::SourceKind::WorkConference,
                "2026年全市法院工作会议",
                "",
                date(2026, 2, 20),
                "江川市中级人民法院",
                &[],
            ),
        )
        .await?;
    let mut mediation = item(
        "推进一站式多元解纷机制建设",
        "联合司法局、工会等建立诉调对接平台,年内覆盖三个基层法院",
        &conference,
        pb::UrgencyClass::General,
        "工作会议部署",
        &lat,
        &chen,
    );
    mediation.co_unit_ids = vec![ms1.clone()];
    let mediation = d.draft("conference-mediation", mediation).await?;
    let mediation = d.submit("conference-mediation", &mediation).await?;
    d.reject(
        "conference-mediation",
        &mediation,
        "涉及三个基层法院,请按重大事项定级并说明理由",
    )
    .await?;

    // 年度重点工作: major, decomposed to courts and departments, one further to persons.
    let annual = d
        .source(
            "annual-2026",
            source(
                pb::SourceKind::AnnualKeyTask,
                "2026年两级法院年度重点工作任务分解",
                "江中法〔2026〕12号",
                date(2026, 3, 1),
                "江川市中级人民法院",
                &[],
            ),
        )
        .await?;
    let mut closure = item(
        "全年审判执行结案任务",
        "两级法院全年结案不少于18000件,结收案比不低于100%",
        &annual,
        pb::UrgencyClass::Major,
        "全年重点任务,涉及两级法院",
        &sgb,
        &zhou,
    );
    closure.targets = vec![target("结案", 18000.0, "件")];
    closure.tags = vec!["年度重点".into(), "审判质效".into()];
    closure.continuing_attention = true;
    let closure = d.registered("annual-closure", closure, "同意,持续关注").await?;
    let shares = d
        .decompose(
            "annual-closure",
            &closure,
            vec![
                unit_item("江城法院结案任务", &jcq, vec![target("结案", 6500.0, "件")]),
                unit_item("临河法院结案任务", &lhq, vec![target("结案", 5200.0, "件")]),
                unit_item("青石法院结案任务", &qsx, vec![target("结案", 2800.0, "件")]),
                unit_item("中院刑事审判庭结案任务", &xs, vec![target("结案", 900.0, "件")]),
                unit_item("中院民事审判第一庭结案任务", &ms1, vec![target("结案", 1300.0, "件")]),
                unit_item("中院民事审判第二庭结案任务", &ms2, vec![target("结案", 1000.0, "件")]),
                unit_item("中院行政审判庭结案任务", &xz, vec![target("结案", 300.0, "件")]),
            ],
        )
        .await?;
    for (i, child) in shares.children.iter().enumerate() {
        d.approve(&format!("annual-closure-{i}"), child, "同意").await?;
    }
    let ms1_share = shares
        .children
        .iter()
        .find(|c| c.lead_unit_id == ms1)
        .context("demo share")?;
    let people = d
        .decompose(
            "annual-closure-ms1",
            ms1_share,
            vec![
                pb::SubItem {
                    level: pb::DecompositionLevel::Person as i32,
                    title: "杨志刚庭长结案任务".into(),
                    assignee_person_id: d.person("yang.zhigang").await?,
                    targets: vec![target("结案", 260.0, "件")],
                    ..Default::default()
                },
                pb::SubItem {
                    level: pb::DecompositionLevel::Post as i32,
                    title: "速裁团队结案任务".into(),
                    assignee_person_id: d.person("xu.wenjing").await?,
                    targets: vec![target("结案", 1040.0, "件")],
                    ..Default::default()
                },
            ],
        )
        .await?;
    for (i, child) in people.children.iter().enumerate() {
        d.approve(&format!("annual-closure-ms1-{i}"), child, "同意").await?;
    }

    // 院长办公会决定事项: a draft not yet submitted.
    let office_meeting = d
        .source(
            "office-meeting-3",
            source(
                pb::SourceKind::PresidentOfficeMeeting,
                "院长办公会议纪要(第1期)",
                "院办纪〔2026〕1号",
                date(2026, 9, 21),
                "周明远",
                &["规范院机关公文处理流程"],
            ),
        )
        .await?;
    d.draft(
        "office-meeting-3",
        item(
            "规范院机关公文处理流程",
            "修订公文处理办法,明确办文时限",
            &office_meeting,
            pb::UrgencyClass::General,
            "院长办公会决定",
            &bgs,
            &chen,
        ),
    )
    .await?;

    // 上级部署要求: major, awaiting approval.
    let superior = d
        .source(
            "superior-45",
            source(
                pb::SourceKind::SuperiorDeployment,
                "关于开展“案件质量评查年”活动的通知",
                "省高法〔2026〕45号",
                date(2026, 8, 5),
                "省高级人民法院",
                &[],
            ),
        )
        .await?;
    let mut review = item(
        "开展“案件质量评查年”活动",
        "制定评查方案,年内完成两级法院发改案件全覆盖评查",
        &superior,
        pb::UrgencyClass::Major,
        "上级部署,涉及两级法院",
        &sgb,
        &zhou,
    );
    review.co_unit_ids = vec![sj.clone()];
    let review = d.draft("superior-45", review).await?;
    d.submit("superior-45", &review).await?;

    // 其他: a deputy's proposal with a fixed deadline.
    let other = d
        .source(
            "npc-108",
            source(
                pb::SourceKind::Other,
                "市人大代表建议第108号",
                "人大建议〔2026〕108号",
                date(2026, 6, 18),
                "市人大常委会",
                &[],
            ),
        )
        .await?;
    let mut proposal = item(
        "办理人大代表建议第108号(关于行政争议实质性化解)",
        "研究答复并与代表沟通,书面答复抄送办公室",
        &other,
        pb::UrgencyClass::FixedDeadline,
        "人大建议规定答复期限",
        &xz,
        &liu,
    );
    proposal.deadline = date(2026, 12, 15);
    d.registered("npc-108", proposal, "同意").await?;
    tracing::info!("demo ledger loaded");
    Ok(())
}

/// Puts the demo's registered top-level items under follow-up: assigned now
/// (on the dev clock), the first acknowledged and reported on, so the ledger
/// shows states, deadlines and feedback. Every call has a fixed request id.
/// A missing calendar year (the demo run long after 2026) only skips this.
pub async fn load_follow_up(assignments: &AssignmentService, pool: &PgPool, admin: &Principal) -> anyhow::Result<()> {
    let items: Vec<(uuid::Uuid, String)> = sqlx::query_as(
        "SELECT i.id, i.number FROM registry.items i \
         WHERE i.state = 'registered' AND i.parent_id IS NULL AND i.number IS NOT NULL \
           AND NOT EXISTS (SELECT 1 FROM assignment.assignments a WHERE a.item_id = i.id) \
         ORDER BY i.seq",
    )
    .fetch_all(pool)
    .await?;
    let mut assigned = Vec::new();
    for (id, number) in items {
        let req = apb::AssignItemRequest {
            request_id: format!("demo-assign-{number}"),
            item_id: id.to_string(),
            ..Default::default()
        };
        match assignments.assign(admin, &req).await {
            Ok(out) => assigned.extend(out.assignments),
            Err(e) => {
                tracing::warn!(item = number, error = %e, "demo follow-up skipped");
                return Ok(());
            }
        }
    }
    if let Some(first) = assigned.iter().find(|a| a.role == "lead") {
        let ack = apb::AcknowledgeRequest {
            request_id: "demo-ack-1".into(),
            id: first.id.clone(),
            etag: first.etag.clone(),
            deployment: "召开专题会议研究部署,明确分管领导和具体承办人".into(),
        };
        let a = assignments.acknowledge(admin, &ack).await.map_err(err)?;
        let initial = apb::SubmitFeedbackRequest {
            request_id: "demo-feedback-1".into(),
            id: a.id.clone(),
            etag: a.etag.clone(),
            kind: "initial".into(),
            text: "已完成方案初稿,正在征求各庭室意见".into(),
            ..Default::default()
        };
        assignments.feedback(admin, &initial).await.map_err(err)?;
    }
    tracing::info!(assignments = assigned.len(), "demo follow-up loaded");
    Ok(())
}

/// October 2026 in the demo court, for appraisal (考评): six items assigned
/// on 30 September to three grassroots courts and three departments and
/// followed through October on the dev clock — on time, early, late,
/// urged, flagged for 通报批评, returned, graded — so that October's
/// scorecards and rankings have something to explain. The clock is set to
/// each moment in turn (the follow-up sweep run at each, as the suite would),
/// then put back to real time, running. Done once: a later start finds its
/// last step recorded and leaves the clock alone.
pub async fn load_october(
    items: &ItemService,
    assignments: &AssignmentService,
    pool: &PgPool,
    admin: &Principal,
    clock: &duban_platform::clock::Clock,
) -> anyhow::Result<()> {
    const LAST: &str = "demo-oct-verify-lhq";
    if !clock.is_shared() {
        tracing::info!("demo October follow-up skipped: it needs the dev clock");
        return Ok(());
    }
    if recorded(pool, LAST).await? {
        return Ok(());
    }
    let d = Demo { items, pool, admin };
    let at = |text: &str| -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
        Ok(chrono::DateTime::parse_from_rfc3339(text)?.with_timezone(&chrono::Utc))
    };
    let set = async |text: &str| -> anyhow::Result<()> {
        let mut tx = pool.begin().await?;
        clock.set(&mut tx, at(text)?, true).await.map_err(err)?;
        tx.commit().await?;
        assignments.sweep().await.map_err(err)?;
        Ok(())
    };

    set("2026-09-28T09:00:00+08:00").await?;
    let court = d.unit("jczy").await?;
    let source = d
        .source(
            "oct-q4",
            pb::Source {
                kind: pb::SourceKind::PresidentOfficeMeeting as i32,
                title: "院长办公会研究第四季度重点工作督办事项".into(),
                doc_number: "院办纪〔2026〕2号".into(),
                doc_date: date(2026, 9, 28),
                issuer: "院长办公会".into(),
                court_id: court.clone(),
                ..Default::default()
            },
        )
        .await?;
    // Each followed by the leader who supervises (分管) its unit in org.toml.
    let plan: [(&str, &str, &str, &str, pb::UrgencyClass, Option<pb::Date>); 6] = [
        (
            "jcq",
            "江城法院长期未结案件清理",
            "jc-jcq",
            "chen.lixin",
            pb::UrgencyClass::General,
            None,
        ),
        (
            "lhq",
            "临河法院执行积案化解",
            "jc-lhq",
            "liu.huimin",
            pb::UrgencyClass::General,
            None,
        ),
        (
            "qsx",
            "青石法院诉源治理工作推进",
            "jc-qsx",
            "zhao.zhenhua",
            pb::UrgencyClass::General,
            None,
        ),
        (
            "zxj",
            "执行局终本案件集中清查",
            "jczy-zxj",
            "sun.lijun",
            pb::UrgencyClass::General,
            None,
        ),
        (
            "lat",
            "立案庭诉讼服务中心升级改造",
            "jczy-lat",
            "chen.lixin",
            pb::UrgencyClass::FixedDeadline,
            date(2026, 10, 20),
        ),
        (
            "ms1",
            "民一庭类案检索机制建设",
            "jczy-ms1",
            "zhao.zhenhua",
            pb::UrgencyClass::General,
            None,
        ),
    ];
    let mut registered = Vec::new();
    for (key, title, unit, leader, class, deadline) in plan {
        let item = pb::Item {
            title: title.into(),
            requirements: "按院长办公会要求落实,按13710机制反馈".into(),
            source_id: source.id.clone(),
            urgency: class as i32,
            urgency_reason: "院长办公会确定".into(),
            lead_unit_id: d.unit(unit).await?,
            supervising_leader_id: d.person(leader).await?,
            court_id: court.clone(),
            deadline,
            ..Default::default()
        };
        registered.push((key, d.registered(&format!("oct-{key}"), item, "同意").await?));
    }

    set("2026-09-30T10:00:00+08:00").await?;
    let mut ids = std::collections::HashMap::new();
    for (key, item) in &registered {
        // The id the general follow-up uses, so that it finds these assigned.
        let req = apb::AssignItemRequest {
            request_id: format!("demo-assign-{}", item.number),
            item_id: item.id.clone(),
            ..Default::default()
        };
        let out = assignments.assign(admin, &req).await.map_err(err)?;
        ids.insert(*key, out.assignments[0].id.clone());
    }
    let etag =
        async |key: &str| -> anyhow::Result<String> { Ok(assignments.get(admin, &ids[key]).await.map_err(err)?.etag) };
    let ack = async |key: &str| -> anyhow::Result<()> {
        let req = apb::AcknowledgeRequest {
            request_id: format!("demo-oct-ack-{key}"),
            id: ids[key].clone(),
            etag: etag(key).await?,
            deployment: "召开专题会议研究部署,明确责任人和时间表".into(),
        };
        assignments.acknowledge(admin, &req).await.map_err(err)?;
        Ok(())
    };
    let feedback = async |key: &str, step: &str, kind: &str, text: &str| -> anyhow::Result<()> {
        let req = apb::SubmitFeedbackRequest {
            request_id: format!("demo-oct-{step}-{key}"),
            id: ids[key].clone(),
            etag: etag(key).await?,
            kind: kind.into(),
            text: text.into(),
            ..Default::default()
        };
        assignments.feedback(admin, &req).await.map_err(err)?;
        Ok(())
    };
    let verify = async |key: &str, step: &str, grade: Option<&str>| -> anyhow::Result<()> {
        let req = apb::VerifyRequest {
            request_id: format!("demo-oct-{step}-{key}"),
            id: ids[key].clone(),
            etag: etag(key).await?,
            accept: grade.is_some(),
            grade: grade.unwrap_or_default().into(),
            checked: "调阅台账和案卷,电话回访当事人".into(),
            comment: if grade.is_none() {
                "抽查5件,2件未实际结案,请重新办理".into()
            } else {
                String::new()
            },
        };
        assignments.verify(admin, &req).await.map_err(err)?;
        Ok(())
    };

    set("2026-10-08T09:00:00+08:00").await?;
    for key in ["jcq", "lhq", "zxj", "lat", "ms1"] {
        ack(key).await?;
    }
    set("2026-10-09T09:00:00+08:00").await?;
    for key in ["jcq", "zxj", "lat", "ms1"] {
        feedback(key, "initial", "initial", "已制定工作方案,分解任务到人").await?;
    }
    set("2026-10-12T09:00:00+08:00").await?;
    feedback("lhq", "initial", "initial", "已梳理执行积案清单").await?;
    set("2026-10-13T09:00:00+08:00").await?;
    feedback("zxj", "completion", "completion", "终本案件清查完毕,已逐案建档").await?;
    let urge = apb::UrgeRequest {
        request_id: "demo-oct-urge-ms1".into(),
        id: ids["ms1"].clone(),
        etag: etag("ms1").await?,
        note: "请报送类案检索机制建设进展".into(),
    };
    assignments.urge(admin, &urge).await.map_err(err)?;
    feedback("ms1", "answer", "urge_response", "检索平台采购审批中,已报分管院领导").await?;
    set("2026-10-14T09:00:00+08:00").await?;
    feedback("jcq", "completion", "completion", "长期未结案件已全部清理完毕").await?;
    verify("zxj", "verify", Some("good")).await?;
    let now = assignments.get(admin, &ids["ms1"]).await.map_err(err)?;
    let judge = apb::JudgeUrgeResponseRequest {
        request_id: "demo-oct-judge-ms1".into(),
        id: ids["ms1"].clone(),
        etag: now.etag.clone(),
        urge_id: now.urges.first().map(|u| u.id.clone()).unwrap_or_default(),
        justified: true,
    };
    assignments.judge(admin, &judge).await.map_err(err)?;
    set("2026-10-15T09:00:00+08:00").await?;
    feedback("ms1", "completion", "completion", "类案检索机制已建立并试运行").await?;
    set("2026-10-16T09:00:00+08:00").await?;
    verify("jcq", "verify", Some("excellent")).await?;
    set("2026-10-19T09:00:00+08:00").await?;
    verify("ms1", "verify", Some("good")).await?;
    set("2026-10-21T09:00:00+08:00").await?;
    feedback("lhq", "completion", "completion", "执行积案已化解").await?;
    set("2026-10-22T09:00:00+08:00").await?;
    verify("lhq", "return", None).await?;
    set("2026-10-23T09:00:00+08:00").await?;
    feedback("lat", "completion", "completion", "诉讼服务中心升级改造完成").await?;
    set("2026-10-26T09:00:00+08:00").await?;
    feedback("lhq", "completion-2", "completion", "已重新核查,积案全部实际化解").await?;
    verify("lat", "verify", Some("good")).await?;
    set("2026-10-27T09:00:00+08:00").await?;
    verify("lhq", "verify", Some("pass")).await?;
    // Back to real time, running, as `duban dev` starts it.
    let mut tx = pool.begin().await?;
    clock.set(&mut tx, chrono::Utc::now(), false).await.map_err(err)?;
    tx.commit().await?;
    tracing::info!("demo October follow-up loaded");
    Ok(())
}
