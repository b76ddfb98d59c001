//! The ledger as an Excel workbook (督办台账): written with rust_xlsxwriter in
//! the office's own layout, read back with calamine from any workbook whose
//! header row carries the ledger's column names.

use anyhow::{Context, bail};
use calamine::{Data, Reader, open_workbook_auto};
use chrono::{Datelike, NaiveDate};
use duban_core::item::{RegistrationState, SourceKind, UrgencyClass, format_date};
use duban_core::ledger::Column;
use duban_proto::registry::v1 as pb;
use duban_registry::items::convert as conv;
use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook};
use std::collections::BTreeMap;
use std::path::Path;

/// One ledger line as the office reads it.
fn cells(index: usize, item: &pb::Item, tz: chrono_tz::Tz) -> Vec<(Column, Cell)> {
    let local_date = |t: &prost_types::Timestamp| {
        chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32).map(|t| t.with_timezone(&tz).date_naive())
    };
    let source = conv::source_kind_from(item.source_kind)
        .map(SourceKind::label_zh)
        .unwrap_or_default();
    let urgency = conv::urgency_from(item.urgency)
        .map(UrgencyClass::label_zh)
        .unwrap_or_default();
    let state = match &item.status {
        Some(s) if !s.state_label.is_empty() => s.state_label.clone(),
        _ => conv::state_from(item.state)
            .map(RegistrationState::label_zh)
            .unwrap_or_default()
            .to_owned(),
    };
    // 办理时限 is the final resolution deadline (办结时限) once assigned (an
    // extension or a plan moves it), marked 暂定 while it rests on a year not
    // loaded; before that, the deadline the item states (never provisional).
    let ymd = |d: &pb::Date| NaiveDate::from_ymd_opt(d.year, d.month as u32, d.day as u32);
    let assigned = item
        .status
        .as_ref()
        .and_then(|s| Some((ymd(s.final_deadline.as_ref()?)?, s.final_deadline_provisional)));
    let deadline = match assigned {
        Some((d, true)) => Cell::ProvisionalDate(d),
        Some((d, false)) => Cell::Date(Some(d)),
        None => Cell::Date(item.deadline.as_ref().and_then(ymd)),
    };
    let progress = match &item.status {
        Some(s) if !s.latest_feedback.is_empty() => s.latest_feedback.clone(),
        _ => item.progress_note.clone(),
    };
    let head = if item.assignee_person_name.is_empty() {
        item.lead_unit_head_name.clone()
    } else {
        item.assignee_person_name.clone()
    };
    vec![
        (Column::Seq, Cell::Number(index as f64)),
        (Column::Number, Cell::Text(item.number.clone())),
        (Column::Title, Cell::Text(item.title.clone())),
        (Column::Requirements, Cell::Text(item.requirements.clone())),
        (Column::Source, Cell::Text(source.to_owned())),
        (Column::DocNumber, Cell::Text(item.source_doc_number.clone())),
        (
            Column::RegisteredOn,
            Cell::Date(item.registered_time.as_ref().and_then(local_date)),
        ),
        (
            Column::AssignedOn,
            Cell::Date(
                item.status
                    .as_ref()
                    .and_then(|s| s.assigned_time.as_ref())
                    .and_then(local_date),
            ),
        ),
        (Column::Urgency, Cell::Text(urgency.to_owned())),
        (Column::UrgencyReason, Cell::Text(item.urgency_reason.clone())),
        (Column::LeadUnit, Cell::Text(item.lead_unit_name.clone())),
        (Column::CoUnits, Cell::Text(item.co_unit_names.join("、"))),
        (Column::Head, Cell::Text(head)),
        (Column::Liaison, Cell::Text(item.lead_unit_liaison_name.clone())),
        (Column::Leader, Cell::Text(item.supervising_leader_name.clone())),
        (Column::Deadline, deadline),
        (Column::Progress, Cell::Text(progress)),
        (Column::State, Cell::Text(state)),
        (
            Column::Light,
            Cell::Text(
                item.status
                    .as_ref()
                    .and_then(|s| duban_core::assignment::Light::from_code(&s.light))
                    .map(|l| l.label_zh().to_owned())
                    .unwrap_or_default(),
            ),
        ),
        (Column::Tags, Cell::Text(item.tags.join("、"))),
        (Column::SystemId, Cell::Text(item.id.clone())),
    ]
}

enum Cell {
    Text(String),
    Number(f64),
    Date(Option<NaiveDate>),
    /// A date that is still a date to Excel (and to `ledger import`), shown
    /// with 暂定 beside it.
    ProvisionalDate(NaiveDate),
}

/// Writes a ledger workbook: a title line, the header row (frozen, with
/// filters), one row per item, dates as real dates. The sheet is in
/// constant-memory mode: each row goes to a temporary file as it is pushed.
pub struct LedgerWriter {
    workbook: Workbook,
    row: u32,
    tz: chrono_tz::Tz,
    text: Format,
    wrap: Format,
    date: Format,
    provisional_date: Format,
}

impl LedgerWriter {
    pub fn new(title: &str, subtitle: &str, tz: chrono_tz::Tz) -> anyhow::Result<Self> {
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name("督办台账")?;
        let last = (Column::ALL.len() - 1) as u16;
        let title_format = Format::new()
            .set_bold()
            .set_font_size(16)
            .set_align(FormatAlign::Center);
        sheet.merge_range(0, 0, 0, last, title, &title_format)?;
        sheet.merge_range(1, 0, 1, last, subtitle, &Format::new().set_align(FormatAlign::Right))?;
        let header = Format::new()
            .set_bold()
            .set_background_color("#D9E1F2")
            .set_border(FormatBorder::Thin)
            .set_align(FormatAlign::Center)
            .set_align(FormatAlign::VerticalCenter);
        for (i, c) in Column::ALL.iter().enumerate() {
            sheet.write_string_with_format(2, i as u16, c.header(), &header)?;
            sheet.set_column_width(i as u16, c.width())?;
        }
        sheet.set_freeze_panes(3, 0)?;
        let border = Format::new()
            .set_border(FormatBorder::Thin)
            .set_align(FormatAlign::VerticalCenter);
        Ok(Self {
            workbook,
            row: 3,
            tz,
            text: border.clone(),
            wrap: border.clone().set_text_wrap(),
            date: border.clone().set_num_format("yyyy-mm-dd"),
            provisional_date: border
                .set_num_format(format!("yyyy-mm-dd\"{}\"", duban_core::calendar::PROVISIONAL_MARK_ZH)),
        })
    }

    pub fn push(&mut self, item: &pb::Item) -> anyhow::Result<()> {
        let index = (self.row - 2) as usize;
        let row = self.row;
        let sheet = self.workbook.worksheet_from_index(0)?;
        for (col, (column, cell)) in cells(index, item, self.tz).into_iter().enumerate() {
            let col = col as u16;
            match cell {
                Cell::Text(t) => {
                    let format = if matches!(column, Column::Title | Column::Requirements | Column::Progress) {
                        &self.wrap
                    } else {
                        &self.text
                    };
                    sheet.write_string_with_format(row, col, &t, format)?;
                }
                Cell::Number(n) => {
                    sheet.write_number_with_format(row, col, n, &self.text)?;
                }
                Cell::Date(Some(d)) => {
                    let dt = ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)?;
                    sheet.write_datetime_with_format(row, col, &dt, &self.date)?;
                }
                Cell::ProvisionalDate(d) => {
                    let dt = ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)?;
                    sheet.write_datetime_with_format(row, col, &dt, &self.provisional_date)?;
                }
                Cell::Date(None) => {
                    sheet.write_blank(row, col, &self.date)?;
                }
            }
        }
        self.row += 1;
        Ok(())
    }

    pub fn save(mut self, path: &Path) -> anyhow::Result<usize> {
        let rows = (self.row - 3) as usize;
        let last = (Column::ALL.len() - 1) as u16;
        let sheet = self.workbook.worksheet_from_index(0)?;
        sheet.autofilter(2, 0, self.row.max(3) - 1, last)?;
        self.workbook
            .save(path)
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(rows)
    }
}

/// How far a ledger's used range may reach: the rows an import takes with
/// their header rows, and far more columns than any office's layout. A
/// crafted workbook can claim a cell at XFD1048576 in a few bytes; reading it
/// into one grid would take hundreds of GiB.
const MAX_SHEET_ROWS: u32 = duban_core::limits::LEDGER_ROWS as u32 + 10;
const MAX_SHEET_COLUMNS: u32 = 256;

/// The last day Excel can show (9999-12-31) as a serial day number.
const MAX_SERIAL_DAY: f64 = 2_958_465.0;

/// A cell's name as Excel shows it: C5, XFD1048576 (both from 0 here).
fn cell_name(row: u32, col: u32) -> String {
    let mut letters = Vec::new();
    let mut n = col + 1;
    while n > 0 {
        letters.push(b'A' + ((n - 1) % 26) as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    format!("{}{}", String::from_utf8(letters).expect("ASCII"), row + 1)
}

fn outside(row: u32, col: u32) -> anyhow::Error {
    let name = cell_name(row, col);
    anyhow::anyhow!(
        "单元格{name}超出台账的范围(最多{MAX_SHEET_ROWS}行、{MAX_SHEET_COLUMNS}列),请删除多余的单元格后重新导入 / \
         cell {name} lies outside a ledger (at most {MAX_SHEET_ROWS} rows and {MAX_SHEET_COLUMNS} columns): \
         clear the cells beyond the table and import again"
    )
}

/// The first sheet's used cells, by row, never more than a ledger can hold.
/// An .xlsx is read cell by cell, so its claimed size costs nothing; other
/// formats come from calamine's grid and are bounded once read.
fn used_cells(path: &Path) -> anyhow::Result<BTreeMap<u32, Vec<(u32, Data)>>> {
    let in_bounds = |(row, col): (u32, u32)| -> anyhow::Result<()> {
        if row >= MAX_SHEET_ROWS || col >= MAX_SHEET_COLUMNS {
            return Err(outside(row, col));
        }
        Ok(())
    };
    let mut rows: BTreeMap<u32, Vec<(u32, Data)>> = BTreeMap::new();
    let mut workbook = open_workbook_auto(path).with_context(|| format!("opening {}", path.display()))?;
    let first = workbook
        .sheet_names()
        .first()
        .cloned()
        .context("the workbook has no sheet")?;
    if let calamine::Sheets::Xlsx(xlsx) = &mut workbook {
        let mut cells = xlsx
            .worksheet_cells_reader(&first)
            .with_context(|| format!("reading the first sheet of {}", path.display()))?;
        let claimed = cells.dimensions();
        in_bounds(claimed.end)?;
        while let Some(cell) = cells
            .next_cell()
            .with_context(|| format!("reading the first sheet of {}", path.display()))?
        {
            in_bounds(cell.get_position())?;
            let value = Data::from(cell.get_value().clone());
            if value != Data::Empty {
                let (row, col) = cell.get_position();
                rows.entry(row).or_default().push((col, value));
            }
        }
        return Ok(rows);
    }
    let range = workbook
        .worksheet_range(&first)
        .with_context(|| format!("reading the first sheet of {}", path.display()))?;
    if let Some(end) = range.end() {
        in_bounds(end)?;
    }
    for (r, c, value) in range.used_cells() {
        let (row0, col0) = range.start().unwrap_or((0, 0));
        rows.entry(row0 + r as u32)
            .or_default()
            .push((col0 + c as u32, value.clone()));
    }
    Ok(rows)
}

/// Reads the first sheet of a ledger workbook into rows keyed by column
/// header. The header row is found among the first ten rows; columns this
/// ledger does not know are ignored; the required ones must be there.
pub fn read(path: &Path) -> anyhow::Result<Vec<pb::LedgerRow>> {
    let rows = used_cells(path)?;
    let first_row = rows.keys().next().copied().unwrap_or(0);
    let texts = |cells: &[(u32, Data)]| -> Vec<String> { cells.iter().map(|(_, c)| c.to_string()).collect() };
    let header_at = rows
        .range(first_row..first_row + 10)
        .find(|(_, cells)| {
            let names = texts(cells);
            names.iter().any(|n| Column::from_header(n) == Some(Column::Title))
                && names.iter().any(|n| Column::from_header(n) == Some(Column::LeadUnit))
        })
        .map(|(row, _)| *row)
        .with_context(|| {
            format!(
                "no header row with 事项名称 and 主办单位 in the first ten rows of {}",
                path.display()
            )
        })?;
    let columns: BTreeMap<u32, Column> = rows[&header_at]
        .iter()
        .filter_map(|(col, c)| Column::from_header(&c.to_string()).map(|column| (*col, column)))
        .collect();
    let missing: Vec<&str> = Column::ALL
        .iter()
        .filter(|c| c.required() && !columns.values().any(|known| known == *c))
        .map(|c| c.header())
        .collect();
    if !missing.is_empty() {
        bail!("缺少必需的列 / missing required columns: {}", missing.join("、"));
    }
    let mut out = Vec::new();
    for (row, r) in rows.range(header_at + 1..) {
        let mut cells = BTreeMap::new();
        for (col, value) in r {
            let Some(column) = columns.get(col) else { continue };
            let text = cell_text(value, *column).map_err(|why| {
                let name = cell_name(*row, *col);
                anyhow::anyhow!(
                    "第{}行第{}列(单元格{name},{}):{} / cell {name} ({}): {}",
                    row + 1,
                    name.trim_end_matches(|c: char| c.is_ascii_digit()),
                    column.header(),
                    why.zh,
                    column.header(),
                    why.en
                )
            })?;
            if !text.is_empty() {
                cells.insert(column.header().to_owned(), text);
            }
        }
        if cells.is_empty() {
            continue;
        }
        out.push(pb::LedgerRow {
            // Spreadsheet rows count from 1.
            row: (row + 1) as i32,
            cells,
        });
    }
    Ok(out)
}

/// Why a cell cannot be read, in both languages.
#[derive(Debug, PartialEq)]
struct Unreadable {
    en: String,
    zh: String,
}

/// A cell as text; date cells (or bare serial numbers in date columns) as
/// YYYY-MM-DD.
fn cell_text(value: &Data, column: Column) -> Result<String, Unreadable> {
    Ok(match value {
        Data::Empty => String::new(),
        // calamine's own conversion panics on serials far out of range.
        Data::DateTime(dt) => {
            serial_date(dt.as_f64())?;
            dt.as_datetime()
                .map(|d| format_date(d.date()))
                .ok_or_else(|| out_of_range(dt.as_f64()))?
        }
        Data::Float(f) if column.is_date() => format_date(serial_date(*f)?),
        Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
        other => other.to_string().trim().to_owned(),
    })
}

fn out_of_range(serial: f64) -> Unreadable {
    Unreadable {
        en: format!("the date serial number {serial} is not a date Excel can show (1900-01-01 to 9999-12-31)"),
        zh: format!("日期序号{serial}超出Excel日期范围(1900-01-01至9999-12-31)"),
    }
}

/// An Excel serial day number (1900 date system) as a date.
fn serial_date(serial: f64) -> Result<NaiveDate, Unreadable> {
    if !(serial.is_finite() && (0.0..=MAX_SERIAL_DAY).contains(&serial)) {
        return Err(out_of_range(serial));
    }
    let base = NaiveDate::from_ymd_opt(1899, 12, 30).expect("a date");
    chrono::TimeDelta::try_days(serial.trunc() as i64)
        .and_then(|days| base.checked_add_signed(days))
        .ok_or_else(|| out_of_range(serial))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provisional_resolution_deadline_stays_a_date_marked_provisional() {
        let tz = chrono_tz::Asia::Shanghai;
        let mut item = pb::Item {
            title: "执行难综合治理机制建设".into(),
            lead_unit_name: "执行局".into(),
            status: Some(pb::LedgerStatus {
                final_deadline: Some(pb::Date {
                    year: 2027,
                    month: 1,
                    day: 25,
                }),
                final_deadline_provisional: true,
                ..Default::default()
            }),
            ..Default::default()
        };
        let deadline = |item: &pb::Item| {
            cells(1, item, tz)
                .into_iter()
                .find(|(c, _)| *c == Column::Deadline)
                .map(|(_, cell)| cell)
                .unwrap()
        };
        let d = NaiveDate::from_ymd_opt(2027, 1, 25).unwrap();
        assert!(matches!(deadline(&item), Cell::ProvisionalDate(x) if x == d));
        // Written and read back (as `ledger import` reads it): still the date.
        let path = std::env::temp_dir().join(format!("duban-ledger-{}.xlsx", uuid::Uuid::new_v4().simple()));
        let mut w = LedgerWriter::new("督办台账", "", tz).unwrap();
        w.push(&item).unwrap();
        w.save(&path).unwrap();
        let rows = read(&path).unwrap();
        std::fs::remove_file(&path).ok();
        assert_eq!(
            rows[0].cells.get(Column::Deadline.header()).map(String::as_str),
            Some("2027-01-25")
        );
        // Before assignment, the stated deadline: never provisional.
        item.status = None;
        item.deadline = Some(pb::Date {
            year: 2027,
            month: 3,
            day: 1,
        });
        assert!(matches!(deadline(&item), Cell::Date(Some(x)) if x == NaiveDate::from_ymd_opt(2027, 3, 1).unwrap()));
    }

    #[test]
    fn serial_dates() {
        assert_eq!(serial_date(46086.0).ok(), NaiveDate::from_ymd_opt(2026, 3, 5));
        assert_eq!(serial_date(1.0).ok(), NaiveDate::from_ymd_opt(1899, 12, 31));
        assert_eq!(serial_date(MAX_SERIAL_DAY).ok(), NaiveDate::from_ymd_opt(9999, 12, 31));
        for bad in [1e15, -1e15, MAX_SERIAL_DAY + 1.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(serial_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cell_names() {
        assert_eq!(cell_name(0, 0), "A1");
        assert_eq!(cell_name(4, 2), "C5");
        assert_eq!(cell_name(0, 25), "Z1");
        assert_eq!(cell_name(0, 26), "AA1");
        assert_eq!(cell_name(1_048_575, 16_383), "XFD1048576");
    }
}
