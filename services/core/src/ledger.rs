//! The columns of the office's Excel ledger (督办台账): what the export
//! writes and the import reads, in one place.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    Seq,
    Number,
    Title,
    Requirements,
    Source,
    DocNumber,
    RegisteredOn,
    AssignedOn,
    Urgency,
    UrgencyReason,
    LeadUnit,
    CoUnits,
    Head,
    Liaison,
    Leader,
    Deadline,
    Progress,
    State,
    Light,
    Tags,
    SystemId,
}

impl Column {
    /// In the order the export writes them.
    pub const ALL: [Column; 21] = [
        Column::Seq,
        Column::Number,
        Column::Title,
        Column::Requirements,
        Column::Source,
        Column::DocNumber,
        Column::RegisteredOn,
        Column::AssignedOn,
        Column::Urgency,
        Column::UrgencyReason,
        Column::LeadUnit,
        Column::CoUnits,
        Column::Head,
        Column::Liaison,
        Column::Leader,
        Column::Deadline,
        Column::Progress,
        Column::State,
        Column::Light,
        Column::Tags,
        Column::SystemId,
    ];

    pub fn header(self) -> &'static str {
        match self {
            Column::Seq => "序号",
            Column::Number => "督办编号",
            Column::Title => "事项名称",
            Column::Requirements => "办理要求",
            Column::Source => "来源",
            Column::DocNumber => "文号",
            Column::RegisteredOn => "立项日期",
            // When it was assigned (交办); an old ledger's assignments keep it.
            Column::AssignedOn => "交办日期",
            Column::Urgency => "紧急程度",
            Column::UrgencyReason => "定级理由",
            Column::LeadUnit => "主办单位",
            Column::CoUnits => "协办单位",
            Column::Head => "责任人",
            Column::Liaison => "联络员",
            Column::Leader => "分管领导",
            Column::Deadline => "办理时限",
            Column::Progress => "进展情况",
            Column::State => "状态",
            // Shown on export, judged from the clock; ignored on import.
            Column::Light => "亮灯",
            Column::Tags => "标签",
            // The item's id: re-importing an exported ledger finds its items by it.
            Column::SystemId => "系统编号",
        }
    }

    pub fn from_header(text: &str) -> Option<Column> {
        let text = text.trim();
        Column::ALL.into_iter().find(|c| c.header() == text)
    }

    /// Column width in the exported sheet, in characters.
    pub fn width(self) -> f64 {
        match self {
            Column::Seq => 6.0,
            Column::Number => 16.0,
            Column::Title => 36.0,
            Column::Requirements => 48.0,
            Column::Source => 16.0,
            Column::DocNumber => 20.0,
            Column::RegisteredOn | Column::AssignedOn | Column::Deadline => 12.0,
            Column::Urgency => 12.0,
            Column::UrgencyReason => 20.0,
            Column::LeadUnit => 18.0,
            Column::CoUnits => 24.0,
            Column::Head | Column::Liaison | Column::Leader => 10.0,
            Column::Progress => 40.0,
            Column::State => 10.0,
            Column::Light => 8.0,
            Column::Tags => 16.0,
            Column::SystemId => 38.0,
        }
    }

    pub fn is_date(self) -> bool {
        matches!(self, Column::RegisteredOn | Column::AssignedOn | Column::Deadline)
    }

    /// Columns a ledger must have to be imported.
    pub fn required(self) -> bool {
        matches!(
            self,
            Column::Title | Column::Source | Column::Urgency | Column::LeadUnit
        )
    }
}

/// Splits a cell listing several names (协办单位, 标签): 、 , ， ; ； and
/// line breaks all separate.
pub fn split_list(cell: &str) -> Vec<String> {
    cell.split(['、', ',', '，', ';', '；', '\n'])
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip() {
        for c in Column::ALL {
            assert_eq!(Column::from_header(c.header()), Some(c));
        }
        assert_eq!(Column::from_header(" 主办单位 "), Some(Column::LeadUnit));
        assert_eq!(Column::from_header("备注"), None);
    }

    #[test]
    fn lists() {
        assert_eq!(
            split_list("立案庭、刑事审判庭,执行局；政治部"),
            ["立案庭", "刑事审判庭", "执行局", "政治部"]
        );
        assert_eq!(split_list("  "), Vec::<String>::new());
    }
}
