//! Each finding, shown by data made to show it and absent when the data
//! does not.

use super::*;
use crate::testing::{Court, LAT, ZXJ, calendar_2026, d, shanghai, t};

fn rules() -> Rules {
    Rules::shipped()
}

/// Progress reports in October: (day, text, figures).
type Reports<'a> = &'a [(u32, &'a str, &'a [(&'a str, f64)])];

/// An open item of `unit` with progress reports on the October days given.
fn reporting(court: &mut Court, number: &str, unit: &str, reports: Reports) {
    let item = court.item(number, "孙立军", t(9, 1, 9));
    let a = court.assign(item, unit, t(9, 1, 10), d(2026, 12, 30));
    for (day, text, figures) in reports {
        a.report("progress", t(10, *day, 9), text, figures);
    }
}

fn codes(court: &Court) -> Vec<String> {
    analyse(&court.october(), &rules(), usize::MAX)
        .into_iter()
        .map(|f| f.code)
        .collect()
}

#[test]
fn overdue_concentrated_in_one_unit() {
    let mut court = Court::new();
    for n in 1..=3 {
        let item = court.item(&format!("督〔2026〕{n}号"), "孙立军", t(9, 1, 9));
        court.assign(item, ZXJ, t(9, 1, 10), d(2026, 9, 10));
    }
    let item = court.item("督〔2026〕4号", "陈立新", t(9, 1, 9));
    court.assign(item, LAT, t(9, 1, 10), d(2026, 9, 10));
    let found = overdue_concentration(&court.october(), &rules(), usize::MAX).expect("a finding");
    assert_eq!(found.title, "逾期事项相对集中");
    assert!(found.summary.contains("在办逾期事项共4件"), "{}", found.summary);
    assert!(
        found
            .details
            .contains(&"按承办单位:执行局逾期3件,占全部逾期事项的75.0%".to_string()),
        "{:?}",
        found.details
    );
    assert!(
        found
            .details
            .contains(&"按分管院领导:孙立军逾期3件,占全部逾期事项的75.0%".to_string())
    );
    // 立案庭's one is not a concentration of units or leaders, but all four
    // come from one source and are of one class, so the list has all four.
    assert!(!found.details.iter().any(|d| d.contains("立案庭")));
    assert!(
        found
            .details
            .contains(&"按事项类别:一般事项逾期4件,占全部逾期事项的100.0%".to_string())
    );
    assert_eq!(found.items.len(), 4);
    assert_eq!(
        found.items[0].note,
        // 9-11 … 10-31: 14 working days in September (9-20 a make-up day),
        // 18 in October (10-10 one, National Day none).
        "“办结”逾期32个工作日(计入:执行局、孙立军、院长批示、一般事项)"
    );
    assert!(found.countermeasure.contains("约谈"));
}

/// Five more units, so that no unit need hold two of the overdue.
fn spread_court() -> Court {
    let mut court = Court::new();
    for (n, name) in ["刑一庭", "民一庭", "行政庭"].into_iter().enumerate() {
        let mut unit = court.data.units[0].clone();
        unit.id = Uuid::new_v4();
        unit.name = name.into();
        unit.sort_order = 30 + n as i32;
        court.data.units.push(unit);
    }
    court
}

/// An overdue item of `unit`, `class`, under `leader`, from a kind of source
/// of its own.
fn overdue_item(court: &mut Court, n: u32, unit: &str, class: &str, leader: &str) {
    let item = court.item(&format!("督〔2026〕{n}号"), leader, t(9, 1, 9));
    let last = court.data.items.last_mut().unwrap();
    last.urgency = class.into();
    last.source_kind = duban_core::item::SourceKind::ALL[n as usize].code().into();
    court.assign(item, unit, t(9, 1, 10), d(2026, 9, 10));
}

fn numbers(lines: &[Line]) -> Vec<&str> {
    lines.iter().map(|l| l.number.as_str()).collect()
}

#[test]
fn a_concentration_lists_the_items_its_bullets_count() {
    // Five overdue, one per unit, leader and source; two 限期办理: the one
    // bullet counts those two, and the list has those two, not all five.
    let mut court = spread_court();
    let rows = [
        (1, ZXJ, "fixed_deadline", "孙立军"),
        (2, LAT, "general", "陈立新"),
        (3, "刑一庭", "fixed_deadline", "王海"),
        (4, "民一庭", "urgent", "刘芳"),
        (5, "行政庭", "major", "赵强"),
    ];
    for (n, unit, class, leader) in rows {
        overdue_item(&mut court, n, unit, class, leader);
    }
    let found = overdue_concentration(&court.october(), &rules(), usize::MAX).expect("a finding");
    assert_eq!(found.details, ["按事项类别:限期办理逾期2件,占全部逾期事项的40.0%"]);
    assert!(
        found.summary.ends_with("在办逾期事项共5件,其中2件相对集中于以下方面:"),
        "{}",
        found.summary
    );
    assert_eq!(numbers(&found.items), ["督〔2026〕1号", "督〔2026〕3号"]);
    assert_eq!(found.assignments.len(), 2);
}

#[test]
fn every_bullets_items_are_listed_not_only_the_units() {
    // 执行局 holds 1号 and 2号 (孙立军, 一般事项); 4号 and 6号 are elsewhere
    // but both 陈立新's and 限期办理: four bullets, four items.
    let mut court = spread_court();
    let rows = [
        (1, ZXJ, "general", "孙立军"),
        (2, ZXJ, "general", "孙立军"),
        (3, LAT, "urgent", "王海"),
        (4, "刑一庭", "fixed_deadline", "陈立新"),
        (5, "民一庭", "major", "刘芳"),
        (6, "行政庭", "fixed_deadline", "陈立新"),
    ];
    for (n, unit, class, leader) in rows {
        overdue_item(&mut court, n, unit, class, leader);
    }
    let found = overdue_concentration(&court.october(), &rules(), usize::MAX).expect("a finding");
    assert_eq!(
        found.details,
        [
            "按承办单位:执行局逾期2件,占全部逾期事项的33.3%",
            "按分管院领导:孙立军逾期2件,占全部逾期事项的33.3%",
            "按分管院领导:陈立新逾期2件,占全部逾期事项的33.3%",
            "按事项类别:一般事项逾期2件,占全部逾期事项的33.3%",
            "按事项类别:限期办理逾期2件,占全部逾期事项的33.3%",
        ]
    );
    assert_eq!(
        numbers(&found.items),
        ["督〔2026〕1号", "督〔2026〕2号", "督〔2026〕4号", "督〔2026〕6号"]
    );
    assert!(
        found.items[2].note.ends_with("(计入:陈立新、限期办理)"),
        "{}",
        found.items[2].note
    );
}

#[test]
fn a_single_overdue_assignment_is_no_concentration() {
    let mut court = Court::new();
    let item = court.item("督〔2026〕1号", "孙立军", t(9, 1, 9));
    court.assign(item, ZXJ, t(9, 1, 10), d(2026, 9, 10));
    // Finished in time: not overdue.
    let item = court.item("督〔2026〕2号", "孙立军", t(9, 1, 9));
    court
        .assign(item, ZXJ, t(9, 1, 10), d(2026, 10, 30))
        .finish(t(10, 20, 9), t(10, 21, 9));
    assert_eq!(overdue_concentration(&court.october(), &rules(), usize::MAX), None);
}

#[test]
fn delay_reasons_with_their_trend() {
    let mut court = Court::new();
    let item = court.item("督〔2026〕1号", "孙立军", t(8, 3, 9));
    court
        .assign(item, ZXJ, t(8, 3, 10), d(2026, 8, 30))
        .delay(t(9, 10, 9), "coordination")
        .delay(t(10, 9, 9), "coordination");
    let item = court.item("督〔2026〕2号", "孙立军", t(8, 3, 9));
    court
        .assign(item, LAT, t(8, 3, 10), d(2026, 8, 30))
        .delay(t(9, 11, 9), "complexity")
        .delay(t(10, 12, 9), "coordination");
    let found = delay_reasons(&court.october(), &rules(), usize::MAX).expect("a finding");
    assert_eq!(
        found.details,
        vec![
            "需协调其他单位:本期2件,上期1件,上升".to_string(),
            "情况复杂、难度较大:本期0件,上期1件,下降".to_string(),
        ]
    );
    assert!(
        found.summary.contains("本期报送逾期说明2件(上期2件)"),
        "{}",
        found.summary
    );
    assert!(found.summary.contains("主要原因为“需协调其他单位”(2件)"));
    assert!(found.summary.contains("较上期上升的原因:需协调其他单位"));
    assert_eq!(found.items.len(), 2);
    assert_eq!(found.items[0].note, "逾期原因:需协调其他单位");
}

#[test]
fn no_delay_explanation_in_the_period_no_finding() {
    let mut court = Court::new();
    let item = court.item("督〔2026〕1号", "孙立军", t(8, 3, 9));
    court
        .assign(item, ZXJ, t(8, 3, 10), d(2026, 8, 30))
        .delay(t(9, 10, 9), "coordination");
    assert_eq!(delay_reasons(&court.october(), &rules(), usize::MAX), None);
}

#[test]
fn a_progress_report_copying_the_last_one_is_hollow() {
    let mut court = Court::new();
    reporting(
        &mut court,
        "督〔2026〕1号",
        ZXJ,
        &[
            (
                9,
                "已完成案件梳理工作,正在逐案制定执行方案,下一步将集中开展执行行动。",
                &[],
            ),
            (
                23,
                "已完成案件梳理工作,正在逐案制定执行方案。下一步将集中开展执行行动!",
                &[],
            ),
        ],
    );
    let found = hollow_progress(&court.october(), &rules(), usize::MAX).expect("a finding");
    assert_eq!(found.items.len(), 1);
    let note = &found.items[0].note;
    assert!(
        note.starts_with("10月23日反馈与10月9日反馈内容基本相同(相似度"),
        "{note}"
    );
    assert_eq!(found.details, vec!["反馈内容照抄上次的1件".to_string()]);
}

#[test]
fn figures_unchanged_for_weeks_are_hollow_and_moving_ones_are_not() {
    let mut court = Court::new();
    let still: &[(&str, f64)] = &[("执行结案", 126.0)];
    reporting(
        &mut court,
        "督〔2026〕1号",
        ZXJ,
        &[
            (5, "清理长期未结案件,本周结案若干。", still),
            (12, "继续开展集中执行,督促承办法官加快进度。", still),
            (26, "召开推进会,研究疑难案件处理办法。", still),
        ],
    );
    reporting(
        &mut court,
        "督〔2026〕2号",
        LAT,
        &[
            (5, "清理长期未结案件,本周结案若干。", &[("执行结案", 100.0)]),
            (26, "召开推进会,研究疑难案件处理办法。", &[("执行结案", 150.0)]),
        ],
    );
    // Same figures, but only a week apart: not yet "for weeks".
    reporting(
        &mut court,
        "督〔2026〕3号",
        LAT,
        &[
            (19, "完成第一批案件移送。", &[("移送", 5.0)]),
            (26, "与公安机关对接联合执行事宜。", &[("移送", 5.0)]),
        ],
    );
    let found = hollow_progress(&court.october(), &rules(), usize::MAX).expect("a finding");
    assert_eq!(found.items.len(), 1, "{:?}", found.items);
    assert_eq!(found.items[0].number, "督〔2026〕1号");
    assert_eq!(found.items[0].note, "进度指标自10月5日以来未变化(执行结案126件)");
    assert_eq!(found.details, vec!["进度指标连续14天以上无变化的1件".to_string()]);
}

#[test]
fn genuine_progress_is_not_hollow() {
    let mut court = Court::new();
    reporting(
        &mut court,
        "督〔2026〕1号",
        ZXJ,
        &[
            (9, "已完成案件梳理,共126件。", &[("梳理案件", 126.0)]),
            (
                23,
                "集中执行行动结案58件,执行到位金额1200万元。",
                &[("梳理案件", 126.0), ("执行结案", 58.0)],
            ),
        ],
    );
    assert_eq!(hollow_progress(&court.october(), &rules(), usize::MAX), None);
}

#[test]
fn similarity_of_texts() {
    assert_eq!(similarity("本周完成结案10件", "本周完成结案10件。"), 1.0);
    assert!(similarity("召开推进会研究疑难案件", "完成第一批案件移送工作") < 0.3);
    assert_eq!(similarity("", ""), 0.0);
}

#[test]
fn closed_without_verification() {
    let mut court = Court::new();
    let item = court.item("督〔2026〕1号", "孙立军", t(9, 1, 9));
    let a = court.assign(item, ZXJ, t(9, 1, 10), d(2026, 9, 10));
    a.closed_out_at = Some(t(10, 12, 9));
    a.state = "closed_out".into();
    let item = court.item("督〔2026〕2号", "孙立军", t(9, 1, 9));
    court
        .assign(item, LAT, t(9, 1, 10), d(2026, 10, 30))
        .finish(t(10, 20, 9), t(10, 21, 9));
    let found = closed_unverified(&court.october(), &rules(), usize::MAX).expect("a finding");
    assert_eq!(found.items.len(), 1);
    assert_eq!(
        (found.items[0].number.as_str(), found.items[0].note.as_str()),
        ("督〔2026〕1号", "已销号,无核查记录")
    );
}

#[test]
fn verified_with_what_was_checked_is_no_finding() {
    let mut court = Court::new();
    let item = court.item("督〔2026〕1号", "孙立军", t(9, 1, 9));
    court
        .assign(item, LAT, t(9, 1, 10), d(2026, 10, 30))
        .finish(t(10, 20, 9), t(10, 21, 9));
    assert_eq!(closed_unverified(&court.october(), &rules(), usize::MAX), None);
}

#[test]
fn repeated_urges_in_the_period() {
    let mut court = Court::new();
    let item = court.item("督〔2026〕1号", "孙立军", t(9, 1, 9));
    court
        .assign(item, ZXJ, t(9, 1, 10), d(2026, 9, 10))
        .urge(t(9, 11, 9), Some(false))
        .urge(t(10, 9, 9), None);
    // Urged twice, but both before the period: not this bulletin's.
    let item = court.item("督〔2026〕2号", "孙立军", t(9, 1, 9));
    court
        .assign(item, LAT, t(9, 1, 10), d(2026, 9, 10))
        .urge(t(9, 11, 9), None)
        .urge(t(9, 14, 9), None);
    // Once only.
    let item = court.item("督〔2026〕3号", "孙立军", t(9, 1, 9));
    court
        .assign(item, LAT, t(9, 1, 10), d(2026, 9, 10))
        .urge(t(10, 9, 9), None);
    let found = repeated_urges(&court.october(), &rules(), usize::MAX).expect("a finding");
    assert_eq!(found.items.len(), 1);
    assert_eq!(found.items[0].number, "督〔2026〕1号");
    assert_eq!(found.items[0].note, "累计催办2次(本期1次),其中1次回复被认定无正当理由");
}

#[test]
fn sources_with_items_never_assigned() {
    let mut court = Court::new();
    let idle = court.item("督〔2026〕1号", "孙立军", t(9, 1, 9));
    let done = court.item("督〔2026〕2号", "孙立军", t(9, 1, 9));
    court.assign(done, ZXJ, t(9, 2, 10), d(2026, 9, 10));
    // Registered two days before the period's end: within the grace.
    court.item("督〔2026〕3号", "孙立军", t(10, 29, 9));
    // A decomposed parent is carried by its sub-items.
    let parent = court.item("督〔2026〕4号", "孙立军", t(9, 1, 9));
    let child = court.item("督〔2026〕4号-1", "孙立军", t(9, 1, 9));
    court.data.items.last_mut().unwrap().parent_id = Some(parent);
    court.assign(child, ZXJ, t(9, 2, 10), d(2026, 9, 10));
    let found = unassigned_sources(&court.october(), &rules(), usize::MAX).expect("a finding");
    assert_eq!(found.items.len(), 1);
    assert_eq!(found.items[0].number, "督〔2026〕1号");
    assert_eq!(found.items[0].note, "9月1日立项,至今未交办");
    assert_eq!(
        found.details,
        vec!["院长批示《关于加强执行工作的批示》(院批〔2026〕3号):立项5件,未交办1件".to_string()]
    );
    let _ = idle;
    // Once assigned, the finding is gone.
    court.assign(idle, LAT, t(10, 30, 10), d(2026, 11, 10));
    assert_eq!(unassigned_sources(&court.october(), &rules(), usize::MAX), None);
}

#[test]
fn a_clean_month_has_no_findings() {
    let mut court = Court::new();
    let item = court.item("督〔2026〕1号", "孙立军", t(9, 1, 9));
    court
        .assign(item, LAT, t(9, 1, 10), d(2026, 10, 30))
        .report(
            "progress",
            t(10, 9, 9),
            "已完成案件梳理,共126件。",
            &[("梳理案件", 126.0)],
        )
        .finish(t(10, 20, 9), t(10, 21, 9));
    assert!(codes(&court).is_empty(), "{:?}", codes(&court));
}

#[test]
fn figures_of_a_month_by_unit() {
    let mut court = Court::new();
    // 执行局: one new in October finished on time, one overdue since September.
    let a = court.item("督〔2026〕1号", "孙立军", t(10, 8, 9));
    court
        .assign(a, ZXJ, t(10, 8, 10), d(2026, 10, 16))
        .finish(t(10, 15, 9), t(10, 16, 9));
    let b = court.item("督〔2026〕2号", "孙立军", t(9, 1, 9));
    court.assign(b, ZXJ, t(9, 1, 10), d(2026, 9, 10));
    // 立案庭: finished late in October; one finished in September (not counted).
    let c = court.item("督〔2026〕3号", "陈立新", t(9, 1, 9));
    court
        .assign(c, LAT, t(9, 1, 10), d(2026, 9, 10))
        .finish(t(10, 12, 9), t(10, 13, 9));
    let e = court.item("督〔2026〕4号", "陈立新", t(9, 1, 9));
    court
        .assign(e, LAT, t(9, 1, 10), d(2026, 9, 30))
        .finish(t(9, 20, 9), t(9, 21, 9));
    let frame = court.october();
    let rows = frame.by_unit(&frame.window);
    let row = |name: &str| rows.iter().find(|r| r.name == name).cloned().unwrap();
    let zxj = row(ZXJ);
    assert_eq!(
        (
            zxj.new,
            zxj.completed,
            zxj.on_time,
            zxj.overdue,
            zxj.open,
            zxj.rate.as_str()
        ),
        (1, 1, 1, 1, 1, "100.0%")
    );
    let lat = row(LAT);
    assert_eq!(
        (
            lat.new,
            lat.completed,
            lat.on_time,
            lat.overdue,
            lat.open,
            lat.rate.as_str()
        ),
        (0, 1, 0, 0, 0, "0.0%")
    );
    // Units in their order; bars scaled to the largest figure (1).
    assert_eq!(rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), [LAT, ZXJ]);
    assert_eq!((zxj.completed_pct, zxj.overdue_pct), (100, 100));
    let (red, more) = frame.red_list(50);
    assert_eq!((red.len(), more), (1, 0));
    assert_eq!(red[0].number, "督〔2026〕2号");
    // 9-10 to 10-31: the working days after the deadline, holidays left out.
    assert_eq!(red[0].note, "“办结”应于9月10日完成,已逾期32个工作日");
}

/// A small xorshift generator: the same histories every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A court whose assignments have random feedback from August to
/// mid-November: few texts and figures, so repeats and unchanged runs are
/// common; delay explanations, completion reports and urge answers mixed in.
fn random_court(seed: u64) -> Court {
    let mut rng = Rng(seed);
    let mut court = Court::new();
    let texts = [
        "已完成案件梳理,正在推进。",
        "已完成案件梳理,正在推进!",
        "本周结案十件,下一步继续推进。",
        "协调相关单位,召开推进会。",
    ];
    let kinds = [
        "progress",
        "progress",
        "initial",
        "delay_explanation",
        "completion_report",
        "urge_response",
    ];
    for n in 0..80 {
        let item = court.item(&format!("督〔2026〕{}号", n % 50), "孙立军", t(8, 1, 9));
        let unit = if n % 3 == 0 { LAT } else { ZXJ };
        let a = court.assign(item, unit, t(8, 1, 10), d(2026, 9, 1 + (n % 60) as u32 / 2));
        let mut at = t(8, 2, 9);
        for _ in 0..rng.below(14) {
            at += chrono::Duration::hours(12 + rng.below(24 * 12) as i64);
            let kind = kinds[rng.below(kinds.len() as u64) as usize];
            let figures: &[(&str, f64)] = match rng.below(4) {
                0 => &[],
                1 => &[("结案", 10.0)],
                _ => &[("结案", 20.0)],
            };
            a.report(kind, at, texts[rng.below(texts.len() as u64) as usize], figures);
            if kind == "delay_explanation" {
                a.feedback.last_mut().unwrap().reason = Some(["coordination", "complexity"][n % 2].into());
            }
        }
    }
    court
}

#[test]
fn keeping_only_the_feedback_a_report_reads_changes_nothing() {
    let windows = [
        // October as at its end; September as at its end; October as at 10-20.
        (t(10, 1, 0), t(11, 1, 0), t(9, 1, 0), t(11, 1, 0)),
        (t(9, 1, 0), t(10, 1, 0), t(8, 1, 0), t(10, 1, 0)),
        (t(10, 1, 0), t(11, 1, 0), t(9, 1, 0), t(10, 20, 9)),
    ];
    for seed in 1..=20 {
        for (start, end, before, as_of) in windows {
            let (window, previous) = (
                Window { start, end },
                Window {
                    start: before,
                    end: start,
                },
            );
            let full = random_court(seed);
            let mut kept = Court {
                data: full.data.clone(),
            };
            for a in &mut kept.data.assignments {
                keep_needed_feedback(&mut a.feedback, &window, &previous, as_of);
            }
            let cal = calendar_2026();
            let a = Frame::new(&full.data, &cal, shanghai(), window, previous, as_of);
            let b = Frame::new(&kept.data, &cal, shanghai(), window, previous, as_of);
            assert_eq!(
                analyse(&a, &rules(), usize::MAX),
                analyse(&b, &rules(), usize::MAX),
                "seed {seed}"
            );
            let lines = |f: &Frame| f.data.assignments.iter().map(|x| f.line(x)).collect::<Vec<_>>();
            assert_eq!(lines(&a), lines(&b), "seed {seed}");
            let total: usize = full.data.assignments.iter().map(|x| x.feedback.len()).sum();
            let left: usize = kept.data.assignments.iter().map(|x| x.feedback.len()).sum();
            assert!(left < total, "seed {seed}: {left} of {total} kept");
        }
    }
    // The histories do show what is looked for.
    let court = random_court(7);
    let found: Vec<String> = analyse(&court.october(), &rules(), usize::MAX)
        .into_iter()
        .map(|f| f.code)
        .collect();
    for code in ["overdue_concentration", "delay_reasons", "hollow_progress"] {
        assert!(found.iter().any(|c| c == code), "{found:?}");
    }
}

#[test]
fn long_lists_show_their_first_lines_and_count_the_rest() {
    let mut court = Court::new();
    for n in 1..=5 {
        let item = court.item(&format!("督〔2026〕{n}号"), "孙立军", t(9, 1, 9));
        court.assign(item, ZXJ, t(9, 1, 10), d(2026, 9, 10 + n));
    }
    let frame = court.october();
    let (red, more) = frame.red_list(2);
    assert_eq!(more, 3);
    // The longest overdue first: the earliest deadlines.
    assert_eq!(
        red.iter().map(|l| l.number.as_str()).collect::<Vec<_>>(),
        ["督〔2026〕1号", "督〔2026〕2号"]
    );
    let found = overdue_concentration(&frame, &rules(), 2).expect("a finding");
    assert!(found.summary.contains("在办逾期事项共5件"), "{}", found.summary);
    assert_eq!((found.items.len(), found.more, found.assignments.len()), (2, 3, 5));
    let all = overdue_concentration(&frame, &rules(), usize::MAX).unwrap();
    assert_eq!((all.items.len(), all.more), (5, 0));
    assert_eq!(all.items[..2], found.items[..]);
    assert_eq!((all.summary, all.details), (found.summary, found.details));
}

/// The store reads an assignment's feedback since a date as one list and
/// its latest before as another: cutting the first, putting the second in
/// front and cutting again keeps what cutting the whole would.
#[test]
fn feedback_cut_in_two_steps_is_cut_the_same() {
    let window = Window {
        start: t(10, 1, 0),
        end: t(11, 1, 0),
    };
    let previous = Window {
        start: t(9, 1, 0),
        end: window.start,
    };
    for seed in 1..=20 {
        let court = random_court(seed);
        for since in [t(8, 10, 0), t(8, 20, 0), t(9, 1, 0)] {
            for as_of in [t(10, 20, 9), window.end] {
                for a in &court.data.assignments {
                    let (before, after): (Vec<_>, Vec<_>) =
                        a.feedback.iter().cloned().partition(|f| f.submitted_at < since);
                    let mut whole: Vec<Feedback> = before.last().cloned().into_iter().chain(after.clone()).collect();
                    keep_needed_feedback(&mut whole, &window, &previous, as_of);
                    let mut steps = after;
                    keep_needed_feedback(&mut steps, &window, &previous, as_of);
                    if let Some(latest) = before.last() {
                        steps.insert(0, latest.clone());
                        keep_needed_feedback(&mut steps, &window, &previous, as_of);
                    }
                    assert_eq!(
                        serde_json::to_string(&whole).unwrap(),
                        serde_json::to_string(&steps).unwrap(),
                        "seed {seed}"
                    );
                }
            }
        }
    }
}
