//! Rendering: tera templates (HTML for mail clients: tables, inline styles,
//! bars as coloured table cells, no scripts or images; and plain text),
//! and the period's ledger as an Excel attachment.

use crate::compose::LedgerRow;
use crate::model::Doc;
use crate::period::{Period, ReportKind};
use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook};

/// The templates, compiled into the binary: a deployment renders exactly
/// what was tested.
const TEMPLATES: &[(&str, &str)] = &[
    ("_head.html", include_str!("../templates/_head.html")),
    ("_foot.html", include_str!("../templates/_foot.html")),
    ("_section.html", include_str!("../templates/_section.html")),
    ("_counts.html", include_str!("../templates/_counts.html")),
    ("_bars.html", include_str!("../templates/_bars.html")),
    ("_lines.html", include_str!("../templates/_lines.html")),
    ("_counts.txt", include_str!("../templates/_counts.txt")),
    ("_lines.txt", include_str!("../templates/_lines.txt")),
    ("bulletin.html", include_str!("../templates/bulletin.html")),
    ("bulletin.txt", include_str!("../templates/bulletin.txt")),
    ("weekly.html", include_str!("../templates/weekly.html")),
    ("weekly.txt", include_str!("../templates/weekly.txt")),
    ("friday.html", include_str!("../templates/friday.html")),
    ("friday.txt", include_str!("../templates/friday.txt")),
];

pub struct Renderer {
    tera: tera::Tera,
}

/// Mail HTML that never breaks a 督办编号 or 文号 (督〔2026〕13号-2,
/// 院批〔2026〕3号) or a date or time (2026年10月31日, 10月10日24时,
/// 2026-10-15 10:00) across lines: CJK text may break between any two
/// characters, and a narrow column put them one character a line. `text`
/// is escaped; each such token is wrapped in a nowrap span.
/// What follows a provisional date wherever one shows.
const PROVISIONAL_MARK: &str = "(暂定)";

pub fn nowrap_tokens(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 16);
    let mut plain = String::new();
    let mut i = 0;
    while i < chars.len() {
        // A date's 暂定 mark stays with it: "1月5日(暂定)" is one token.
        let len = doc_number_at(&chars, i).or_else(|| {
            date_at(&chars, i).map(|n| {
                let mark: Vec<char> = PROVISIONAL_MARK.chars().collect();
                n + if chars[i + n..].starts_with(&mark) {
                    mark.len()
                } else {
                    0
                }
            })
        });
        match len {
            Some(n) => {
                out.push_str(&escaped(&plain));
                plain.clear();
                let token: String = chars[i..i + n].iter().collect();
                out.push_str("<span style=\"white-space:nowrap;\">");
                out.push_str(&escaped(&token));
                out.push_str("</span>");
                i += n;
            }
            None => {
                plain.push(chars[i]);
                i += 1;
            }
        }
    }
    out.push_str(&escaped(&plain));
    out
}

fn escaped(text: &str) -> String {
    let mut buf = Vec::with_capacity(text.len());
    tera::escape_html(text, &mut buf).expect("writing to memory");
    String::from_utf8(buf).expect("escaping keeps UTF-8")
}

fn is_cjk(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

/// One or two CJK characters (督, 院批, 督通; in running text a longer
/// prefix cannot be told from the words before it), 〔year〕, digits, 号,
/// then any -N: the length of such a number starting at `i`.
fn doc_number_at(chars: &[char], i: usize) -> Option<usize> {
    let prefix = chars[i..].iter().take(2).take_while(|c| is_cjk(**c)).count();
    let open = (1..=prefix).find(|k| chars.get(i + k) == Some(&'〔'))?;
    let digits = |from: usize| {
        chars[from.min(chars.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let mut j = i + open + 1;
    let year = digits(j);
    j += year;
    if year == 0 || chars.get(j) != Some(&'〕') {
        return None;
    }
    j += 1;
    let n = digits(j);
    j += n;
    if n == 0 || chars.get(j) != Some(&'号') {
        return None;
    }
    j += 1;
    while chars.get(j) == Some(&'-') && digits(j + 1) > 0 {
        j += 1 + digits(j + 1);
    }
    Some(j - i)
}

/// A date or time: digits joined by 年 月 日 时 - : (at least one of them),
/// starting at `i` and not inside a longer number.
fn date_at(chars: &[char], i: usize) -> Option<usize> {
    if !chars[i].is_ascii_digit() || (i > 0 && chars[i - 1].is_ascii_digit()) {
        return None;
    }
    let mut j = i;
    let mut joined = false;
    while j < chars.len() {
        let c = chars[j];
        if c.is_ascii_digit() {
            j += 1;
        } else if matches!(c, '年' | '月' | '日' | '时') {
            joined = true;
            j += 1;
        } else if matches!(c, '-' | ':') && chars.get(j + 1).is_some_and(|d| d.is_ascii_digit()) {
            joined = true;
            j += 1;
        } else if c == ' ' && chars.get(j + 1).is_some_and(|d| d.is_ascii_digit()) && chars[i..j].contains(&'-') {
            // 2026-10-15 10:00
            j += 1;
        } else {
            break;
        }
    }
    joined.then_some(j - i)
}

/// Registers the `nowrap` filter (see [`nowrap_tokens`]) on a template set.
pub fn register_filters(tera: &mut tera::Tera) {
    tera.register_filter(
        "nowrap",
        |text: std::borrow::Cow<'_, str>, _: tera::Kwargs, _: &tera::State| {
            tera::Value::safe_string(&nowrap_tokens(&text))
        },
    );
}

/// A report as rendered.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub html: String,
    pub text: String,
}

impl Renderer {
    pub fn new() -> anyhow::Result<Self> {
        let mut tera = tera::Tera::new();
        register_filters(&mut tera);
        tera.add_raw_templates(TEMPLATES.iter().copied())
            .map_err(|e| anyhow::anyhow!("compiling the report templates: {e}"))?;
        Ok(Self { tera })
    }

    pub fn render(&self, doc: &Doc) -> anyhow::Result<Rendered> {
        let kind = ReportKind::from_code(&doc.kind).unwrap_or(ReportKind::Monthly);
        let base = match kind {
            ReportKind::Weekly => "weekly",
            ReportKind::Friday => "friday",
            _ => "bulletin",
        };
        let mut context = tera::Context::new();
        context.insert("doc", doc);
        let render = |name: String| {
            self.tera
                .render(&name, &context)
                .map_err(|e| anyhow::anyhow!("rendering {name}: {e}"))
        };
        Ok(Rendered {
            html: render(format!("{base}.html"))?,
            text: render(format!("{base}.txt"))?,
        })
    }
}

/// The ledger attachment's file name.
pub fn ledger_file_name(doc: &Doc) -> String {
    format!("督办台账({}).xlsx", doc.period_label)
}

/// The title line of a court's ledger of a period.
pub fn ledger_title(court: &str, period: Period) -> String {
    format!("{court}督办台账({})", period.label_zh())
}

/// The period's ledger as an .xlsx workbook: a title, a frozen header with
/// filters, one row per assignment, dates as dates. The sheet is written in
/// constant-memory mode: each row goes to a temporary file as it comes.
pub fn ledger_xlsx(title: &str, rows: impl IntoIterator<Item = LedgerRow>) -> anyhow::Result<Vec<u8>> {
    type Get = for<'r> fn(&'r LedgerRow) -> Value<'r>;
    enum Value<'r> {
        Text(&'r str),
        Date(Option<NaiveDate>),
        Count(u32),
    }
    let columns: [(&str, f64, Get); 16] = [
        ("督办编号", 16.0, |r| Value::Text(&r.number)),
        ("督办事项", 36.0, |r| Value::Text(&r.title)),
        ("督办来源", 14.0, |r| Value::Text(&r.source)),
        ("事项类别", 12.0, |r| Value::Text(&r.class)),
        ("承办单位", 16.0, |r| Value::Text(&r.unit)),
        ("责任人", 10.0, |r| Value::Text(&r.head)),
        ("分管院领导", 12.0, |r| Value::Text(&r.leader)),
        ("交办日期", 12.0, |r| Value::Date(r.assigned_on)),
        ("办理时限", 12.0, |r| Value::Date(r.due_on)),
        ("办理状态", 12.0, |r| Value::Text(&r.state)),
        ("亮灯", 8.0, |r| Value::Text(&r.light)),
        ("办结日期", 12.0, |r| Value::Date(r.completed_on)),
        ("是否按期", 14.0, |r| Value::Text(&r.on_time)),
        ("催办次数", 10.0, |r| Value::Count(r.urges)),
        ("最新反馈", 40.0, |r| Value::Text(&r.latest_feedback)),
        ("问题分析", 20.0, |r| Value::Text(&r.findings)),
    ];
    let mut workbook = Workbook::new();
    // Level 3 of 9: about 6% larger than the default 6, saved in 70% of the time.
    workbook.set_zip_compression_level(3);
    let sheet = workbook.add_worksheet_with_constant_memory()?;
    sheet.set_name("督办台账")?;
    let last = (columns.len() - 1) as u16;
    let title_format = Format::new()
        .set_bold()
        .set_font_size(14)
        .set_align(FormatAlign::Center);
    sheet.merge_range(0, 0, 0, last, title, &title_format)?;
    let header = Format::new()
        .set_bold()
        .set_background_color("#E2EFDA")
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Center);
    let cell = Format::new().set_border(FormatBorder::Thin).set_text_wrap();
    let date = Format::new()
        .set_border(FormatBorder::Thin)
        .set_num_format("yyyy-mm-dd");
    for (c, (name, width, _)) in columns.iter().enumerate() {
        sheet.write_string_with_format(1, c as u16, *name, &header)?;
        sheet.set_column_width(c as u16, *width)?;
    }
    let mut row = 1;
    for r in rows {
        row += 1;
        for (c, (_, _, get)) in columns.iter().enumerate() {
            let c = c as u16;
            match get(&r) {
                Value::Text(t) => sheet.write_string_with_format(row, c, t, &cell)?,
                Value::Count(n) => sheet.write_number_with_format(row, c, f64::from(n), &cell)?,
                Value::Date(Some(d)) => sheet.write_datetime_with_format(
                    row,
                    c,
                    ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)?,
                    &date,
                )?,
                Value::Date(None) => sheet.write_blank(row, c, &date)?,
            };
        }
    }
    sheet.set_freeze_panes(2, 0)?;
    sheet.autofilter(1, 0, row, last)?;
    Ok(workbook.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::{Issue, compose, ledger};
    use crate::period::Period;
    use crate::rules::Rules;
    use crate::testing::{Court, LAT, ZXJ, d, t};

    fn court() -> Court {
        let mut court = Court::new();
        let a = court.item("督〔2026〕1号", "孙立军", t(9, 1, 9));
        court
            .assign(a, ZXJ, t(9, 1, 10), d(2026, 9, 10))
            .urge(t(10, 9, 9), Some(false))
            .urge(t(10, 12, 9), None);
        court.data.assignments[0].flagged_at = Some(t(10, 14, 9));
        court.data.assignments[0].flag_reason = "经催办2次无正当理由未按要求办理".into();
        let b = court.item("督〔2026〕2号", "陈立新", t(10, 8, 9));
        court
            .assign(b, LAT, t(10, 8, 10), d(2026, 10, 16))
            .finish(t(10, 15, 9), t(10, 16, 9));
        court
    }

    /// October's bulletin of the court, issued 11-02.
    fn october(court: &Court, ranking: Option<Vec<crate::model::RankGroup>>) -> Doc {
        compose(
            Issue {
                kind: ReportKind::Monthly,
                period: Period::Month { year: 2026, month: 10 },
                issued_on: d(2026, 11, 2),
                unit: None,
                ranking,
                limits: Default::default(),
                findings: None,
            },
            &court.october(),
            &Rules::shipped(),
        )
    }

    #[test]
    fn a_monthly_bulletin_reads_like_one() {
        let court = court();
        let frame = court.october();
        let doc = october(&court, None);
        assert_eq!(doc.title, "江川市中级人民法院督查督办工作通报(2026年第10期)");
        assert_eq!(doc.number, "督通〔2026〕10号");
        assert_eq!(doc.issuer, "江川市中级人民法院办公室");
        assert_eq!(doc.date_label, "2026年11月2日");
        assert_eq!((doc.totals.new, doc.totals.completed, doc.totals.overdue), (1, 1, 1));
        let out = Renderer::new().unwrap().render(&doc).unwrap();
        for s in [
            "督查督办通报",
            "督通〔2026〕10号",
            "江川市中级人民法院办公室",
            "2026年11月2日",
            "全院新交办督办事项1件次,办结1件次,其中按期办结1件次,按期办结率100.0%",
            "截至<span style=\"white-space:nowrap;\">2026年10月31日</span>",
            "bgcolor=\"#c00000\"",
            "经催办2次无正当理由未按要求办理",
            "多次催办",
            "对策建议",
        ] {
            assert!(out.html.contains(s), "html lacks {s}");
        }
        assert!(!out.html.contains("<script"));
        assert!(
            !out.html.contains("考评排名"),
            "no ranking without the appraisal service"
        );
        assert!(out.text.contains("一、总体情况"));
        assert!(
            out.text
                .contains("  执行局:新交办0,办结0(按期0),逾期1,在办1,按期办结率—"),
            "{}",
            out.text
        );
        let title = ledger_title(&doc.court_name, Period::Month { year: 2026, month: 10 });
        assert_eq!(title, "江川市中级人民法院督办台账(2026年10月)");
        let xlsx = ledger_xlsx(&title, ledger(&frame, &doc.findings)).unwrap();
        assert_eq!(&xlsx[..2], b"PK");
    }

    #[test]
    fn numbers_and_dates_are_kept_on_one_line() {
        let span = |t: &str| format!("<span style=\"white-space:nowrap;\">{t}</span>");
        assert_eq!(
            nowrap_tokens("督〔2026〕13号-2于10月10日24时到期"),
            format!("{}于{}到期", span("督〔2026〕13号-2"), span("10月10日24时"))
        );
        assert_eq!(
            nowrap_tokens("依据院批〔2026〕3号,截至2026年10月31日"),
            format!("依据{},截至{}", span("院批〔2026〕3号"), span("2026年10月31日"))
        );
        assert_eq!(
            nowrap_tokens("2026-10-15 10:00 <b>"),
            format!("{} &lt;b&gt;", span("2026-10-15 10:00"))
        );
        // A provisional date keeps its mark.
        assert_eq!(
            nowrap_tokens("办结 1月5日(暂定)"),
            format!("办结 {}", span("1月5日(暂定)"))
        );
        // Counts and text without dates stay as they are.
        assert_eq!(
            nowrap_tokens("逾期32个工作日(计入:执行局)"),
            "逾期32个工作日(计入:执行局)"
        );
        assert_eq!(nowrap_tokens("督办〔通知〕"), "督办〔通知〕");
    }

    #[test]
    fn the_weekly_lists_nine_columns_without_breaking_numbers_or_names() {
        let court = court();
        // The week of 10-12, as at Monday 08:30: 1号 open and overdue.
        let frame = court.frame(crate::figures::Window {
            start: t(10, 5, 0),
            end: t(10, 12, 8) + chrono::Duration::minutes(30),
        });
        let doc = compose(
            Issue {
                kind: ReportKind::Weekly,
                period: Period::Week { year: 2026, week: 42 },
                issued_on: d(2026, 10, 12),
                unit: None,
                ranking: None,
                limits: Default::default(),
                findings: None,
            },
            &frame,
            &Rules::shipped(),
        );
        let html = Renderer::new().unwrap().render(&doc).unwrap().html;
        assert!(
            html.contains("<td style=\"white-space:nowrap;\">督〔2026〕1号</td>"),
            "{html}"
        );
        assert!(html.contains("<td style=\"white-space:nowrap;\">执行局</td>"));
        // 责任人, the ninth column: the name on one line.
        assert!(html.contains("<td align=\"left\" style=\"white-space:nowrap;\">执行局负责人</td>"));
        assert!(
            html.contains("<span style=\"white-space:nowrap;\">9月10日</span>"),
            "the next milestone's date"
        );
    }

    #[test]
    fn each_count_table_ends_with_its_total() {
        let court = court();
        let doc = october(&court, None);
        // Each table's rows add up to the court's figures: one assignment
        // each of 执行局 (overdue) and 立案庭 (new, done on time).
        for table in [&doc.by_unit, &doc.by_leader, &doc.by_source, &doc.by_class] {
            let sum = |f: fn(&crate::model::CountRow) -> u32| table.iter().map(f).sum::<u32>();
            assert_eq!(
                (
                    sum(|r| r.new),
                    sum(|r| r.completed),
                    sum(|r| r.overdue),
                    sum(|r| r.open)
                ),
                (1, 1, 1, 1)
            );
        }
        let out = Renderer::new().unwrap().render(&doc).unwrap();
        let total_line = "  合计:新交办1,办结1(按期1),逾期1,在办1,按期办结率100.0%";
        assert_eq!(out.text.matches(total_line).count(), 4, "{}", out.text);
        let total_row = "<td align=\"left\">合计</td><td align=\"center\">1</td><td align=\"center\">1</td>";
        assert_eq!(out.html.matches(total_row).count(), 4);
    }

    #[test]
    fn long_lists_say_how_many_more_and_where() {
        let mut court = court();
        for n in 3..=6 {
            let item = court.item(&format!("督〔2026〕{n}号"), "孙立军", t(9, 1, 9));
            court.assign(item, ZXJ, t(9, 1, 10), d(2026, 9, 10 + n));
        }
        let frame = court.october();
        let doc = compose(
            Issue {
                kind: ReportKind::Monthly,
                period: Period::Month { year: 2026, month: 10 },
                issued_on: d(2026, 11, 2),
                unit: None,
                ranking: None,
                limits: crate::compose::ListLimits {
                    red_list: 2,
                    finding: 1,
                },
                findings: None,
            },
            &frame,
            &Rules::shipped(),
        );
        assert_eq!((doc.totals.overdue, doc.red_list.len(), doc.red_more), (5, 2, 3));
        let out = Renderer::new().unwrap().render(&doc).unwrap();
        for text in [&out.html, &out.text] {
            assert!(text.contains("列出逾期时间最长的2件次"), "{text}");
            assert!(text.contains("另有3件次逾期事项未列出,详见附件督办台账"), "{text}");
            assert!(
                text.contains("以上列出前1件,另有4件详见附件督办台账“问题分析”列"),
                "{text}"
            );
        }
        // The ledger lists every one, each with the findings naming it.
        let rows: Vec<_> = ledger(&frame, &doc.findings).collect();
        assert_eq!(rows.len(), 6);
        assert_eq!(
            rows.iter().filter(|r| r.findings.contains("逾期事项相对集中")).count(),
            5
        );
        let xlsx = ledger_xlsx("台账", ledger(&frame, &doc.findings)).unwrap();
        assert_eq!(&xlsx[..2], b"PK");
    }

    #[test]
    fn ranking_renders_when_present() {
        let doc = october(
            &court(),
            Some(vec![crate::model::RankGroup {
                title: "中院各部门".into(),
                rows: vec![
                    crate::model::RankRow {
                        rank: "1".into(),
                        name: "立案庭".into(),
                        score: "98.50".into(),
                        deductions: "-1.50".into(),
                        credits: "0.00".into(),
                    },
                    crate::model::RankRow {
                        rank: "2(并列)".into(),
                        name: "执行局".into(),
                        score: "97.00".into(),
                        deductions: "-3.00".into(),
                        credits: "0.00".into(),
                    },
                ],
            }]),
        );
        let out = Renderer::new().unwrap().render(&doc).unwrap();
        for s in ["七、考评排名", "中院各部门", "98.50", "2(并列)"] {
            assert!(out.html.contains(s), "html lacks {s}");
            assert!(out.text.contains(s), "text lacks {s}");
        }
    }
}
