//! Items and their registration (立项), decomposition and the ledger, over
//! real gRPC on the demo court.

use duban_core::Role;
use duban_proto::registry::v1 as pb;
use duban_tests::{Registry, TestApp, rid, uuid};
use std::collections::HashSet;
use tonic::Code;
use tonic_types::StatusExt;

fn fields(err: &tonic::Status) -> Vec<String> {
    err.get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

fn zh(err: &tonic::Status) -> String {
    err.get_error_details()
        .localized_message()
        .map(|m| m.message.clone())
        .unwrap_or_default()
}

fn date(y: i32, m: i32, d: i32) -> Option<pb::Date> {
    Some(pb::Date {
        year: y,
        month: m,
        day: d,
    })
}

struct Court {
    app: TestApp,
    admin: Registry,
    source: pb::Source,
    lat: pb::Unit,
    xs: pb::Unit,
    zxj: pb::Unit,
    jcq: pb::Unit,
    leader: pb::Person,
}

async fn court() -> Court {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let mut admin = app.admin().await;
    let court = app.unit_by_code("jczy").await;
    let source = admin
        .create_source(pb::CreateSourceRequest {
            request_id: rid(),
            source: Some(pb::Source {
                kind: pb::SourceKind::PresidentInstruction as i32,
                title: "关于加强执行工作的批示".into(),
                doc_number: "院批〔2026〕3号".into(),
                doc_date: date(2026, 3, 2),
                issuer: "周明远".into(),
                court_id: court.id.clone(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    Court {
        lat: app.unit_by_code("jczy-lat").await,
        xs: app.unit_by_code("jczy-xs").await,
        zxj: app.unit_by_code("jczy-zxj").await,
        jcq: app.unit_by_code("jc-jcq").await,
        leader: app.person_by_code("chen.lixin").await,
        admin,
        source,
        app,
    }
}

impl Court {
    fn draft(&self, title: &str, lead: &pb::Unit) -> pb::Item {
        pb::Item {
            title: title.into(),
            requirements: format!("{title},按要求办理并反馈"),
            source_id: self.source.id.clone(),
            urgency: pb::UrgencyClass::General as i32,
            urgency_reason: "常规工作部署".into(),
            lead_unit_id: lead.id.clone(),
            supervising_leader_id: self.leader.id.clone(),
            court_id: self.source.court_id.clone(),
            ..Default::default()
        }
    }

    async fn create(&mut self, item: pb::Item) -> pb::Item {
        self.admin
            .create_item(pb::CreateItemRequest {
                request_id: rid(),
                item: Some(item),
            })
            .await
            .unwrap()
            .into_inner()
    }

    async fn submit(&mut self, item: &pb::Item) -> pb::Item {
        self.admin
            .submit_item(pb::SubmitItemRequest {
                request_id: rid(),
                id: item.id.clone(),
                etag: item.etag.clone(),
            })
            .await
            .unwrap()
            .into_inner()
    }

    async fn approve(&mut self, item: &pb::Item) -> pb::Item {
        self.admin
            .approve_item(pb::ApproveItemRequest {
                request_id: rid(),
                id: item.id.clone(),
                etag: item.etag.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
    }

    async fn registered(&mut self, item: pb::Item) -> pb::Item {
        let created = self.create(item).await;
        let submitted = self.submit(&created).await;
        self.approve(&submitted).await
    }

    async fn list(&mut self, req: pb::ListItemsRequest) -> Vec<String> {
        let items = self
            .admin
            .list_items(pb::ListItemsRequest { page_size: 500, ..req })
            .await
            .unwrap()
            .into_inner()
            .items;
        items.into_iter().map(|i| i.title).collect()
    }
}

#[tokio::test]
async fn registration_moves_draft_pending_registered_and_back() {
    let mut c = court().await;
    let draft = c.create(c.draft("清理长期未结执行案件", &c.zxj.clone())).await;
    assert_eq!(draft.state, pb::RegistrationState::Draft as i32);
    assert!(draft.number.is_empty());
    assert_eq!(draft.lead_unit_name, "执行局");
    assert_eq!(draft.lead_unit_head_name, "胡振宇");
    assert_eq!(draft.supervising_leader_name, "陈立新");
    assert_eq!(draft.source_doc_number, "院批〔2026〕3号");

    // A draft cannot be approved; the error names the state.
    let err = c
        .admin
        .approve_item(pb::ApproveItemRequest {
            request_id: rid(),
            id: draft.id.clone(),
            etag: draft.etag.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(zh(&err).contains("草稿"), "{}", zh(&err));
    assert!(err.message().contains("draft"), "{}", err.message());

    let pending = c.submit(&draft).await;
    assert_eq!(pending.state, pb::RegistrationState::PendingApproval as i32);
    // Submitting twice, editing while pending: both refused.
    let err = c
        .admin
        .submit_item(pb::SubmitItemRequest {
            request_id: rid(),
            id: pending.id.clone(),
            etag: pending.etag.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let err = c
        .admin
        .update_item(pb::UpdateItemRequest {
            request_id: rid(),
            item: Some(pb::Item {
                title: "改".into(),
                ..pending.clone()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["title".into()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(zh(&err).contains("待审批"), "{}", zh(&err));

    // Sent back without a comment: refused; with one: back to draft.
    let err = c
        .admin
        .reject_item(pb::RejectItemRequest {
            request_id: rid(),
            id: pending.id.clone(),
            etag: pending.etag.clone(),
            comment: " ".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let back = c
        .admin
        .reject_item(pb::RejectItemRequest {
            request_id: rid(),
            id: pending.id.clone(),
            etag: pending.etag.clone(),
            comment: "定级理由不充分,请补充".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(back.state, pb::RegistrationState::Draft as i32);
    assert_eq!(back.review_comment, "定级理由不充分,请补充");

    // Edited, resubmitted, approved: numbered and in the ledger.
    let edited = c
        .admin
        .update_item(pb::UpdateItemRequest {
            request_id: rid(),
            item: Some(pb::Item {
                urgency_reason: "院长批示要求专项清理".into(),
                ..back.clone()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["urgency_reason".into()],
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let pending = c.submit(&edited).await;
    let registered = c.approve(&pending).await;
    assert_eq!(registered.state, pb::RegistrationState::Registered as i32);
    let year = chrono::Utc::now().format("%Y").to_string();
    assert_eq!(registered.number, format!("督〔{year}〕1号"));
    assert!(registered.registered_time.is_some());
    // A registered item is not edited, approved or sent back again.
    for err in [
        c.admin
            .approve_item(pb::ApproveItemRequest {
                request_id: rid(),
                id: registered.id.clone(),
                etag: registered.etag.clone(),
                ..Default::default()
            })
            .await
            .unwrap_err(),
        c.admin
            .reject_item(pb::RejectItemRequest {
                request_id: rid(),
                id: registered.id.clone(),
                etag: registered.etag.clone(),
                comment: "x".into(),
            })
            .await
            .unwrap_err(),
    ] {
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert!(zh(&err).contains("已立项"), "{}", zh(&err));
    }
    let second = c.registered(c.draft("第二项", &c.lat.clone())).await;
    assert_eq!(second.number, format!("督〔{year}〕2号"));
    c.app.stop().await;
}

#[tokio::test]
async fn only_directors_and_leaders_approve_and_they_may_reclassify() {
    let mut c = court().await;
    let court_id = uuid(&c.source.court_id);
    let item = c.create(c.draft("规范庭审直播工作", &c.xs.clone())).await;
    let pending = c.submit(&item).await;

    let supervisor = c.app.token(&[Role::OfficeSupervisor], &[court_id]).await;
    let err = c
        .app
        .registry(&supervisor)
        .await
        .approve_item(pb::ApproveItemRequest {
            request_id: rid(),
            id: pending.id.clone(),
            etag: pending.etag.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(zh(&err).contains("审批立项"), "{}", zh(&err));

    // A leader of another court may not approve here either.
    let jcq = uuid(&c.jcq.id);
    let other_leader = c.app.token(&[Role::Leader], &[jcq]).await;
    let err = c
        .app
        .registry(&other_leader)
        .await
        .approve_item(pb::ApproveItemRequest {
            request_id: rid(),
            id: pending.id.clone(),
            etag: pending.etag.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // The director changes the class to fixed-deadline: reason and deadline needed.
    let director = c.app.token(&[Role::OfficeDirector], &[court_id]).await;
    let mut client = c.app.registry(&director).await;
    let err = client
        .approve_item(pb::ApproveItemRequest {
            request_id: rid(),
            id: pending.id.clone(),
            etag: pending.etag.clone(),
            urgency: pb::UrgencyClass::FixedDeadline as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(fields(&err), ["urgency_reason", "deadline"]);
    let approved = client
        .approve_item(pb::ApproveItemRequest {
            request_id: rid(),
            id: pending.id.clone(),
            etag: pending.etag.clone(),
            urgency: pb::UrgencyClass::FixedDeadline as i32,
            urgency_reason: "院长批示明确月底前完成".into(),
            deadline: date(2026, 12, 31),
            comment: "同意立项".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(approved.urgency, pb::UrgencyClass::FixedDeadline as i32);
    assert_eq!(approved.deadline, date(2026, 12, 31));
    assert_eq!(approved.reviewed_by, "tester");
    assert_eq!(approved.review_comment, "同意立项");
    c.app.stop().await;
}

#[tokio::test]
async fn class_and_deadline_are_checked_together() {
    let mut c = court().await;
    let mut item = c.draft("限期事项", &c.lat.clone());
    item.urgency = pb::UrgencyClass::FixedDeadline as i32;
    let err = c
        .admin
        .create_item(pb::CreateItemRequest {
            request_id: rid(),
            item: Some(item.clone()),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(fields(&err), ["item.deadline"]);
    assert!(zh(&err).contains("限期办理事项须填写办理时限"), "{}", zh(&err));

    let mut general = c.draft("一般事项", &c.lat.clone());
    general.deadline = date(2026, 12, 1);
    general.urgency_reason = String::new();
    let err = c
        .admin
        .create_item(pb::CreateItemRequest {
            request_id: rid(),
            item: Some(general),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["item.urgency_reason", "item.deadline"]);

    let mut bad = c.draft("", &c.lat.clone());
    bad.co_unit_ids = vec![c.lat.id.clone()];
    bad.supervising_leader_id = c.app.person_by_code("li.xiaoting").await.id;
    bad.targets = vec![pb::Target {
        what: String::new(),
        target_value: -1.0,
        unit_of_measure: "件".into(),
    }];
    let err = c
        .admin
        .create_item(pb::CreateItemRequest {
            request_id: rid(),
            item: Some(bad),
        })
        .await
        .unwrap_err();
    assert_eq!(
        fields(&err),
        [
            "item.title",
            "item.co_unit_ids",
            "item.targets[0].what",
            "item.targets[0].target_value"
        ]
    );
    // The leader check needs the directory; it comes once the shape is right.
    let mut not_leader = c.draft("分管领导有误", &c.lat.clone());
    not_leader.supervising_leader_id = c.app.person_by_code("li.xiaoting").await.id;
    let err = c
        .admin
        .create_item(pb::CreateItemRequest {
            request_id: rid(),
            item: Some(not_leader),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["item.supervising_leader_id"]);
    assert!(zh(&err).contains("不是院领导"));
    c.app.stop().await;
}

#[tokio::test]
async fn decomposition_rolls_up_and_registers_with_its_parent() {
    let mut c = court().await;
    let mut parent = c.draft("年度执行结案任务", &c.zxj.clone());
    let sun = c.app.person_by_code("sun.lijun").await;
    parent.supervising_leader_id = sun.id.clone();
    parent.targets = vec![pb::Target {
        what: "执行结案".into(),
        target_value: 1000.0,
        unit_of_measure: "件".into(),
    }];
    let parent = c.create(parent).await;
    let target = |n: f64| {
        vec![pb::Target {
            what: "执行结案".into(),
            target_value: n,
            unit_of_measure: "件".into(),
        }]
    };
    let split = c
        .admin
        .decompose_item(pb::DecomposeItemRequest {
            request_id: rid(),
            id: parent.id.clone(),
            children: vec![
                pb::SubItem {
                    level: pb::DecompositionLevel::Unit as i32,
                    title: "江城法院执行结案".into(),
                    lead_unit_id: c.jcq.id.clone(),
                    targets: target(400.0),
                    ..Default::default()
                },
                pb::SubItem {
                    level: pb::DecompositionLevel::Unit as i32,
                    title: "中院执行局执行结案".into(),
                    lead_unit_id: c.zxj.id.clone(),
                    targets: target(600.0),
                    ..Default::default()
                },
            ],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(split.children.len(), 2);
    assert!(
        split
            .children
            .iter()
            .all(|ch| ch.state == pb::RegistrationState::Draft as i32 && ch.parent_id == parent.id)
    );
    // 江城法院's share is followed by its 分管 leader, 执行局's by the parent's.
    let leaders: Vec<(&str, &str)> = split
        .children
        .iter()
        .map(|ch| (ch.title.as_str(), ch.supervising_leader_name.as_str()))
        .collect();
    assert_eq!(
        leaders,
        [("江城法院执行结案", "陈立新"), ("中院执行局执行结案", "孙立军")]
    );
    let rollup = split.parent.unwrap().rollup.unwrap();
    assert_eq!((rollup.children, rollup.descendants), (2, 2));
    assert_eq!(rollup.targets[0].total, 1000.0);

    // One level further: the unit's share split to persons (量化到个人).
    let zxj_child = split.children.iter().find(|ch| ch.lead_unit_id == c.zxj.id).unwrap();
    let hu = c.app.person_by_code("hu.zhenyu").await;
    let peng = c.app.person_by_code("peng.yue").await;
    let deeper = c
        .admin
        .decompose_item(pb::DecomposeItemRequest {
            request_id: rid(),
            id: zxj_child.id.clone(),
            children: vec![
                pb::SubItem {
                    level: pb::DecompositionLevel::Person as i32,
                    title: "胡振宇承办".into(),
                    assignee_person_id: hu.id.clone(),
                    targets: target(350.0),
                    ..Default::default()
                },
                pb::SubItem {
                    level: pb::DecompositionLevel::Person as i32,
                    title: "彭悦承办".into(),
                    assignee_person_id: peng.id.clone(),
                    targets: target(200.0),
                    ..Default::default()
                },
            ],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(deeper.children[0].assignee_person_name, "胡振宇");
    assert_eq!(deeper.children[0].lead_unit_id, c.zxj.id);
    // Leaves: 400 (江城) + 350 + 200 = 950; the 600 of the split node is not counted twice.
    let parent_now = c
        .admin
        .get_item(pb::GetItemRequest { id: parent.id.clone() })
        .await
        .unwrap()
        .into_inner();
    let rollup = parent_now.rollup.clone().unwrap();
    assert_eq!((rollup.children, rollup.descendants), (2, 4));
    assert_eq!(rollup.targets.len(), 1);
    assert_eq!((rollup.targets[0].total, rollup.targets[0].items), (950.0, 3));

    // A person sub-item needs a person.
    let err = c
        .admin
        .decompose_item(pb::DecomposeItemRequest {
            request_id: rid(),
            id: parent.id.clone(),
            children: vec![pb::SubItem {
                level: pb::DecompositionLevel::Post as i32,
                title: "岗位".into(),
                ..Default::default()
            }],
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["children[0].assignee_person_id"]);

    // Approving the parent registers the whole tree, numbered under it.
    let pending = c.submit(&parent_now).await;
    let registered = c.approve(&pending).await;
    // Each answer carries the roll-up GetItem shows, not a bare count.
    for answered in [&pending, &registered] {
        assert_eq!(answered.rollup.as_ref().map(|r| r.descendants), Some(4));
        assert_eq!(answered.rollup.as_ref().unwrap().targets, rollup.targets);
    }
    let children = c
        .admin
        .list_items(pb::ListItemsRequest {
            parent_id: parent.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .items;
    assert!(
        children
            .iter()
            .all(|ch| ch.state == pb::RegistrationState::Registered as i32)
    );
    let numbers: HashSet<String> = children.iter().map(|ch| ch.number.clone()).collect();
    assert_eq!(
        numbers,
        HashSet::from([format!("{}-1", registered.number), format!("{}-2", registered.number)])
    );
    let grandchildren = c
        .admin
        .list_items(pb::ListItemsRequest {
            parent_id: zxj_child.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .items;
    let zxj_number = children.iter().find(|ch| ch.id == zxj_child.id).unwrap().number.clone();
    assert!(grandchildren.iter().all(
        |g| g.state == pb::RegistrationState::Registered as i32 && g.number.starts_with(&format!("{zxj_number}-"))
    ));

    // Decomposing a registered item: the new sub-item needs its own approval.
    let later = c
        .admin
        .decompose_item(pb::DecomposeItemRequest {
            request_id: rid(),
            id: parent.id.clone(),
            children: vec![pb::SubItem {
                level: pb::DecompositionLevel::Project as i32,
                title: "执行信息化项目".into(),
                ..Default::default()
            }],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(later.children[0].state, pb::RegistrationState::PendingApproval as i32);
    assert_eq!(later.children[0].lead_unit_id, c.zxj.id);
    c.app.stop().await;
}

#[tokio::test]
async fn items_register_from_the_decisions_of_minutes() {
    let mut c = court().await;
    let minutes = c
        .admin
        .create_source(pb::CreateSourceRequest {
            request_id: rid(),
            source: Some(pb::Source {
                kind: pb::SourceKind::PartyGroupDecision as i32,
                title: "分党组会议纪要(第5期)".into(),
                doc_number: "纪要〔2026〕5号".into(),
                doc_date: date(2026, 4, 8),
                court_id: c.source.court_id.clone(),
                decisions: [
                    "研究制定审判质效提升方案",
                    "开展执行积案清理专项行动",
                    "完善督查督办考评办法",
                ]
                .iter()
                .map(|t| pb::Decision {
                    text: (*t).into(),
                    ..Default::default()
                })
                .collect(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(minutes.decisions.len(), 3);
    let template = pb::Item {
        urgency: pb::UrgencyClass::General as i32,
        urgency_reason: "分党组决定事项".into(),
        lead_unit_id: c.zxj.id.clone(),
        co_unit_ids: vec![c.lat.id.clone()],
        ..Default::default()
    };
    let out = c
        .admin
        .register_items_from_decisions(pb::RegisterItemsFromDecisionsRequest {
            request_id: rid(),
            source_id: minutes.id.clone(),
            decision_ids: vec![minutes.decisions[1].id.clone(), minutes.decisions[2].id.clone()],
            template: Some(template.clone()),
        })
        .await
        .unwrap()
        .into_inner();
    let titles: Vec<&str> = out.items.iter().map(|i| i.title.as_str()).collect();
    assert_eq!(titles, ["开展执行积案清理专项行动", "完善督查督办考评办法"]);
    assert!(
        out.items
            .iter()
            .all(|i| i.state == pb::RegistrationState::Draft as i32 && i.source_id == minutes.id)
    );
    let again = c
        .admin
        .get_source(pb::GetSourceRequest { id: minutes.id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert!(again.decisions[0].item_ids.is_empty());
    assert_eq!(again.decisions[1].item_ids, vec![out.items[0].id.clone()]);

    // Decision 2 registered (督〔…〕N号), 3 still a draft: asking for 1, 2
    // and 3 again drafts nothing and names both.
    let registered = c.app.register(out.items[0].clone()).await;
    assert!(!registered.number.is_empty());
    let err = c
        .admin
        .register_items_from_decisions(pb::RegisterItemsFromDecisionsRequest {
            request_id: rid(),
            source_id: minutes.id.clone(),
            decision_ids: minutes.decisions.iter().map(|d| d.id.clone()).collect(),
            template: Some(template.clone()),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    let zh = err.get_error_details().localized_message().unwrap().message.clone();
    assert_eq!(
        zh,
        format!(
            "第2项决定已立项为{};第3项决定已起草督办事项(尚未立项);同一决定事项不重复立项,未起草任何事项",
            registered.number
        )
    );
    let after = c
        .admin
        .get_source(pb::GetSourceRequest { id: minutes.id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert!(after.decisions[0].item_ids.is_empty(), "decision 1 not drafted either");
    assert_eq!(after.decisions[2].item_ids.len(), 1);

    // Decisions belong to minutes only.
    let err = c
        .admin
        .create_source(pb::CreateSourceRequest {
            request_id: rid(),
            source: Some(pb::Source {
                kind: pb::SourceKind::PresidentInstruction as i32,
                title: "批示".into(),
                decisions: vec![pb::Decision {
                    text: "x".into(),
                    ..Default::default()
                }],
                court_id: c.source.court_id.clone(),
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["source.decisions"]);
    c.app.stop().await;
}

#[tokio::test]
async fn every_ledger_filter_and_chinese_text_search() {
    let mut c = court().await;
    let court_id = c.source.court_id.clone();
    let other_source = c
        .admin
        .create_source(pb::CreateSourceRequest {
            request_id: rid(),
            source: Some(pb::Source {
                kind: pb::SourceKind::WorkConference as i32,
                title: "2026年半年工作会议".into(),
                doc_date: date(2026, 7, 10),
                court_id: court_id.clone(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let hu = c.app.person_by_code("liu.huimin").await;
    let mut a = c.draft("推进立案登记制改革", &c.lat.clone());
    a.tags = vec!["改革".into()];
    let a = c.registered(a).await;
    let mut b = c.draft("刑事案件庭审实质化", &c.xs.clone());
    b.co_unit_ids = vec![c.lat.id.clone()];
    b.supervising_leader_id = hu.id.clone();
    b.urgency = pb::UrgencyClass::FixedDeadline as i32;
    b.deadline = date(2026, 9, 30);
    b.source_id = other_source.id.clone();
    let b = c.registered(b).await;
    let mut d = c.draft("执行款物管理专项检查", &c.zxj.clone());
    d.urgency = pb::UrgencyClass::Major as i32;
    d.requirements = "对执行款物进行全面清查,建立台账".into();
    c.create(d).await;

    let all = c.list(pb::ListItemsRequest::default()).await;
    assert_eq!(
        all,
        ["推进立案登记制改革", "刑事案件庭审实质化", "执行款物管理专项检查"]
    );
    let newest = c
        .list(pb::ListItemsRequest {
            order: pb::SortOrder::NewestFirst as i32,
            ..Default::default()
        })
        .await;
    assert_eq!(
        newest,
        ["执行款物管理专项检查", "刑事案件庭审实质化", "推进立案登记制改革"]
    );
    let cases: Vec<(pb::ListItemsRequest, Vec<&str>)> = vec![
        (
            pb::ListItemsRequest {
                source_kind: pb::SourceKind::WorkConference as i32,
                ..Default::default()
            },
            vec!["刑事案件庭审实质化"],
        ),
        (
            pb::ListItemsRequest {
                source_id: c.source.id.clone(),
                ..Default::default()
            },
            vec!["推进立案登记制改革", "执行款物管理专项检查"],
        ),
        // Lead or co-unit.
        (
            pb::ListItemsRequest {
                unit_id: c.lat.id.clone(),
                ..Default::default()
            },
            vec!["推进立案登记制改革", "刑事案件庭审实质化"],
        ),
        (
            pb::ListItemsRequest {
                supervising_leader_id: hu.id.clone(),
                ..Default::default()
            },
            vec!["刑事案件庭审实质化"],
        ),
        (
            pb::ListItemsRequest {
                urgency: pb::UrgencyClass::Major as i32,
                ..Default::default()
            },
            vec!["执行款物管理专项检查"],
        ),
        (
            pb::ListItemsRequest {
                state: pb::RegistrationState::Draft as i32,
                ..Default::default()
            },
            vec!["执行款物管理专项检查"],
        ),
        (
            pb::ListItemsRequest {
                state: pb::RegistrationState::Registered as i32,
                ..Default::default()
            },
            vec!["推进立案登记制改革", "刑事案件庭审实质化"],
        ),
        (
            pb::ListItemsRequest {
                deadline: Some(pb::DateRange {
                    from: date(2026, 9, 1),
                    to: date(2026, 9, 30),
                }),
                ..Default::default()
            },
            vec!["刑事案件庭审实质化"],
        ),
        (
            pb::ListItemsRequest {
                deadline: Some(pb::DateRange {
                    from: date(2026, 10, 1),
                    to: None,
                }),
                ..Default::default()
            },
            vec![],
        ),
        (
            pb::ListItemsRequest {
                source_date: Some(pb::DateRange {
                    from: date(2026, 7, 1),
                    to: date(2026, 7, 31),
                }),
                ..Default::default()
            },
            vec!["刑事案件庭审实质化"],
        ),
        (
            pb::ListItemsRequest {
                tag: "改革".into(),
                ..Default::default()
            },
            vec!["推进立案登记制改革"],
        ),
        // Chinese substrings of two, three and more characters, in title or requirements.
        (
            pb::ListItemsRequest {
                text: "庭审".into(),
                ..Default::default()
            },
            vec!["刑事案件庭审实质化"],
        ),
        (
            pb::ListItemsRequest {
                text: "立案登记".into(),
                ..Default::default()
            },
            vec!["推进立案登记制改革"],
        ),
        (
            pb::ListItemsRequest {
                text: "全面清查".into(),
                ..Default::default()
            },
            vec!["执行款物管理专项检查"],
        ),
        (
            pb::ListItemsRequest {
                text: "执".into(),
                ..Default::default()
            },
            vec!["执行款物管理专项检查"],
        ),
        (
            pb::ListItemsRequest {
                text: "案件庭审实".into(),
                ..Default::default()
            },
            vec!["刑事案件庭审实质化"],
        ),
        (
            pb::ListItemsRequest {
                text: "庭审立案".into(),
                ..Default::default()
            },
            vec![],
        ),
        // Two filters at once.
        (
            pb::ListItemsRequest {
                unit_id: c.lat.id.clone(),
                text: "改革".into(),
                ..Default::default()
            },
            vec!["推进立案登记制改革"],
        ),
    ];
    for (req, want) in cases {
        let label = format!("{req:?}");
        assert_eq!(c.list(req).await, want, "{label}");
    }
    // Registration dates: today, in court time.
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let d = |x: chrono::NaiveDate| {
        use chrono::Datelike;
        date(x.year(), x.month() as i32, x.day() as i32)
    };
    let registered_today = c
        .list(pb::ListItemsRequest {
            registered: Some(pb::DateRange {
                from: d(today),
                to: d(today),
            }),
            ..Default::default()
        })
        .await;
    assert_eq!(registered_today, ["推进立案登记制改革", "刑事案件庭审实质化"]);
    assert_eq!(a.registered_time.is_some(), b.registered_time.is_some());

    // A liaison sees the items of their unit only.
    let liaison = c.app.token(&[Role::UnitLiaison], &[uuid(&c.zxj.id)]).await;
    let seen = c
        .app
        .registry(&liaison)
        .await
        .list_items(pb::ListItemsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(
        seen.iter().map(|i| i.title.as_str()).collect::<Vec<_>>(),
        ["执行款物管理专项检查"]
    );
    let err = c
        .app
        .registry(&liaison)
        .await
        .get_item(pb::GetItemRequest { id: a.id.clone() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    c.app.stop().await;
}

#[tokio::test]
async fn paging_through_the_ledger_while_items_are_added() {
    let mut c = court().await;
    for i in 0..25 {
        c.create(c.draft(&format!("事项{i:02}"), &c.lat.clone())).await;
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = c
            .admin
            .list_items(pb::ListItemsRequest {
                page_size: 7,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.items.into_iter().map(|i| i.title));
        pages += 1;
        if pages == 1 {
            // Items added between pages come at the end of an oldest-first ledger.
            for i in 25..30 {
                c.create(c.draft(&format!("事项{i:02}"), &c.lat.clone())).await;
            }
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no item twice");
    let want: Vec<String> = (0..30).map(|i| format!("事项{i:02}")).collect();
    assert_eq!(seen, want, "no item skipped, in ledger order");
    c.app.stop().await;
}
