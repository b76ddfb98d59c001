//! Rules of an assignment's life (docs/domain.md §4–§6): its states, what each
//! role may do in each, and the traffic light.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use crate::calendar::{Calendar, MissingYear};

labelled!(
    /// Where an assignment stands.
    AssignmentState {
        Assigned => ("assigned", "已交办"),
        Acknowledged => ("acknowledged", "已签收"),
        InProgress => ("in_progress", "办理中"),
        CompletionReported => ("completion_reported", "已报办结"),
        Returned => ("returned", "驳回重办"),
        PlanPending => ("plan_pending", "计划待审批"),
        PlanApproved => ("plan_approved", "按计划推进"),
        Verified => ("verified", "核查通过"),
        ClosedOut => ("closed_out", "已销号"),
    }
);

labelled!(
    /// Kinds of feedback (反馈).
    FeedbackKind {
        Deployment => ("deployment", "研究部署情况"),
        Initial => ("initial", "初步落实情况"),
        Progress => ("progress", "进展情况"),
        Completion => ("completion", "办结报告"),
        DelayExplanation => ("delay_explanation", "逾期说明"),
        UrgeResponse => ("urge_response", "催办回复"),
        StageReport => ("stage_report", "阶段性报告"),
    }
);

labelled!(
    /// The verifier's grade on acceptance.
    Grade {
        Excellent => ("excellent", "优秀"),
        Good => ("good", "良好"),
        Pass => ("pass", "合格"),
    }
);

labelled!(
    /// Why an assignment is late, as the unit explains it.
    DelayReason {
        Complexity => ("complexity", "情况复杂、难度较大"),
        Coordination => ("coordination", "需协调其他单位"),
        Resources => ("resources", "人力物力不足"),
        External => ("external", "外部因素制约"),
        Policy => ("policy", "政策依据待明确"),
        Other => ("other", "其他原因"),
    }
);

/// What is done to an assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignmentAction {
    Acknowledge,
    Feedback(FeedbackKind),
    Verify,
    Return,
    CloseOut,
    /// A major item's plan with dated steps (重大事项推进计划).
    SubmitPlan,
    ApprovePlan,
    RejectPlan,
}

impl AssignmentAction {
    fn label_zh(self) -> &'static str {
        match self {
            AssignmentAction::Acknowledge => "签收",
            AssignmentAction::Feedback(FeedbackKind::Completion) => "报送办结报告",
            AssignmentAction::Feedback(_) => "反馈",
            AssignmentAction::Verify => "核查通过",
            AssignmentAction::Return => "驳回重办",
            AssignmentAction::CloseOut => "销号",
            AssignmentAction::SubmitPlan => "报送推进计划",
            AssignmentAction::ApprovePlan => "批准推进计划",
            AssignmentAction::RejectPlan => "退回推进计划",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IllegalStep {
    pub state: AssignmentState,
    pub action: AssignmentAction,
}

impl IllegalStep {
    pub fn reason(&self) -> String {
        format!("cannot {:?} an assignment that is {}", self.action, self.state.code())
    }
    pub fn reason_zh(&self) -> String {
        format!(
            "交办事项当前为“{}”状态,不能{}",
            self.state.label_zh(),
            self.action.label_zh()
        )
    }
}

/// The state after `action`, or why not. A unit acknowledges first; any
/// feedback after that keeps it in progress, a completion report asks for
/// verification; the office verifies (or returns it for rework) and writes
/// verified assignments off in the weekly close-out. A major item may instead
/// go by a plan: submitted, then approved (or sent back) by the supervising
/// leader, after which progress is reported against it until completion.
/// Stage reports belong to continuing attention after verification.
pub fn step(state: AssignmentState, action: AssignmentAction) -> Result<AssignmentState, IllegalStep> {
    use AssignmentAction as A;
    use AssignmentState as S;
    use FeedbackKind as F;
    let next = match (state, action) {
        (S::Assigned, A::Acknowledge) => S::Acknowledged,
        (S::Assigned | S::Acknowledged, A::Feedback(F::Deployment)) => S::Acknowledged,
        (_, A::Feedback(F::Deployment)) => return Err(IllegalStep { state, action }),
        (S::Verified | S::ClosedOut, A::Feedback(F::StageReport)) => state,
        (_, A::Feedback(F::StageReport)) => return Err(IllegalStep { state, action }),
        (
            S::Acknowledged | S::InProgress | S::Returned | S::PlanPending | S::PlanApproved,
            A::Feedback(F::Completion),
        ) => S::CompletionReported,
        (S::Acknowledged | S::InProgress | S::Returned, A::Feedback(_)) => S::InProgress,
        // Progress against a plan keeps the plan's state.
        (S::PlanPending | S::PlanApproved, A::Feedback(_)) => state,
        // Answering an urge is always possible before verification.
        (S::Assigned | S::CompletionReported, A::Feedback(F::UrgeResponse)) => state,
        (S::Acknowledged | S::InProgress | S::Returned, A::SubmitPlan) => S::PlanPending,
        (S::PlanPending, A::ApprovePlan) => S::PlanApproved,
        (S::PlanPending, A::RejectPlan) => S::InProgress,
        (S::CompletionReported, A::Verify) => S::Verified,
        (S::CompletionReported, A::Return) => S::Returned,
        (S::Verified, A::CloseOut) => S::ClosedOut,
        _ => return Err(IllegalStep { state, action }),
    };
    Ok(next)
}

/// The follow-up state an old ledger's 状态 column records, as offices write
/// it: our own labels and codes, and the usual variants. `None` for texts
/// that say nothing about follow-up (立项 states, blanks).
pub fn from_ledger_text(text: &str) -> Option<AssignmentState> {
    use AssignmentState as S;
    let text = text.trim();
    if let Some(s) = S::from_label(text) {
        return Some(s);
    }
    Some(match text {
        "交办" | "已交办" | "待签收" | "未签收" => S::Assigned,
        "签收" | "已签收" | "已部署" => S::Acknowledged,
        "在办" | "正在办理" | "推进中" | "办理中" | "逾期" | "逾期未办结" | "已反馈" => {
            S::InProgress
        }
        "报办结" | "已报办结" | "待核查" => S::CompletionReported,
        "办结" | "已办结" | "已完成" | "核查通过" => S::Verified,
        "销号" | "已销号" => S::ClosedOut,
        "驳回" | "驳回重办" | "退回重办" => S::Returned,
        _ => return None,
    })
}

/// The policy milestones an assignment in `state` must have met: what a
/// historical import marks met (the old ledger does not say when).
pub fn milestones_met_by(state: AssignmentState) -> &'static [crate::policy::MilestoneKind] {
    use crate::policy::MilestoneKind::*;
    use AssignmentState as S;
    match state {
        S::Assigned => &[],
        S::Acknowledged => &[Deploy],
        S::InProgress | S::Returned | S::PlanPending | S::PlanApproved => &[Deploy, Initial],
        S::CompletionReported | S::Verified | S::ClosedOut => &[Deploy, Initial, Resolve],
    }
}

/// Whether the assignment is still being worked on (deadlines, lights, urges apply).
pub fn is_open(state: AssignmentState) -> bool {
    !matches!(state, AssignmentState::Verified | AssignmentState::ClosedOut)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Light {
    Green,
    Yellow,
    Red,
}

impl Light {
    pub fn code(self) -> &'static str {
        match self {
            Light::Green => "green",
            Light::Yellow => "yellow",
            Light::Red => "red",
        }
    }
    pub fn from_code(code: &str) -> Option<Light> {
        [Light::Green, Light::Yellow, Light::Red]
            .into_iter()
            .find(|l| l.code() == code)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Light::Green => "绿灯",
            Light::Yellow => "黄灯",
            Light::Red => "红灯",
        }
    }
}

/// When an open milestone's light turns yellow: at the start (court time) of
/// the last working day before its due day — from then it is due within one
/// working day — or once 75% of its window is used, whichever comes first.
/// Stored with the milestone, so anything that can compare with "now" (the
/// service, the ledger's SQL view) shows the same light without any job
/// having run. A missing calendar year leaves only the 75% rule.
pub fn yellow_at<Tz: TimeZone>(
    assigned_at: DateTime<Utc>,
    due_date: NaiveDate,
    due_at: DateTime<Utc>,
    calendar: &Calendar,
    tz: &Tz,
) -> DateTime<Utc> {
    let three_quarters = assigned_at + (due_at - assigned_at) * 3 / 4;
    match calendar.last_working_day_before(due_date) {
        Ok(eve) => three_quarters.min(crate::policy::start_of_day(eve, tz)),
        Err(_) => three_quarters,
    }
}

/// An open milestone's light thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub yellow_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
}

/// The traffic light (红黄绿灯) at `now` over the open milestones: red when
/// one is overdue, yellow when one has passed its yellow time, else green.
pub fn light(open: &[Thresholds], now: DateTime<Utc>) -> Light {
    open.iter()
        .map(|m| {
            if now >= m.due_at {
                Light::Red
            } else if now >= m.yellow_at {
                Light::Yellow
            } else {
                Light::Green
            }
        })
        .max()
        .unwrap_or(Light::Green)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::tests::{d, shipped};
    use AssignmentAction as A;
    use AssignmentState as S;
    use FeedbackKind as F;
    use chrono::TimeZone;

    #[test]
    fn every_step() {
        let legal = [
            (S::Assigned, A::Acknowledge, S::Acknowledged),
            (S::Assigned, A::Feedback(F::Deployment), S::Acknowledged),
            (S::Assigned, A::Feedback(F::UrgeResponse), S::Assigned),
            (S::Acknowledged, A::Feedback(F::Deployment), S::Acknowledged),
            (S::Acknowledged, A::Feedback(F::Progress), S::InProgress),
            (S::Acknowledged, A::Feedback(F::DelayExplanation), S::InProgress),
            (S::Acknowledged, A::Feedback(F::UrgeResponse), S::InProgress),
            (S::InProgress, A::Feedback(F::Initial), S::InProgress),
            (S::Returned, A::Feedback(F::Initial), S::InProgress),
            (S::Returned, A::Feedback(F::DelayExplanation), S::InProgress),
            (S::Returned, A::Feedback(F::UrgeResponse), S::InProgress),
            (S::Acknowledged, A::Feedback(F::Initial), S::InProgress),
            (S::Acknowledged, A::Feedback(F::Completion), S::CompletionReported),
            (S::InProgress, A::Feedback(F::Progress), S::InProgress),
            (S::InProgress, A::Feedback(F::DelayExplanation), S::InProgress),
            (S::InProgress, A::Feedback(F::UrgeResponse), S::InProgress),
            (S::InProgress, A::Feedback(F::Completion), S::CompletionReported),
            (S::CompletionReported, A::Verify, S::Verified),
            (S::CompletionReported, A::Return, S::Returned),
            (
                S::CompletionReported,
                A::Feedback(F::UrgeResponse),
                S::CompletionReported,
            ),
            (S::Returned, A::Feedback(F::Progress), S::InProgress),
            (S::Returned, A::Feedback(F::Completion), S::CompletionReported),
            (S::Verified, A::CloseOut, S::ClosedOut),
            // Major items by plan.
            (S::Acknowledged, A::SubmitPlan, S::PlanPending),
            (S::InProgress, A::SubmitPlan, S::PlanPending),
            (S::Returned, A::SubmitPlan, S::PlanPending),
            (S::PlanPending, A::ApprovePlan, S::PlanApproved),
            (S::PlanPending, A::RejectPlan, S::InProgress),
            (S::PlanPending, A::Feedback(F::Initial), S::PlanPending),
            (S::PlanPending, A::Feedback(F::Progress), S::PlanPending),
            (S::PlanPending, A::Feedback(F::DelayExplanation), S::PlanPending),
            (S::PlanPending, A::Feedback(F::UrgeResponse), S::PlanPending),
            (S::PlanPending, A::Feedback(F::Completion), S::CompletionReported),
            (S::PlanApproved, A::Feedback(F::Initial), S::PlanApproved),
            (S::PlanApproved, A::Feedback(F::Progress), S::PlanApproved),
            (S::PlanApproved, A::Feedback(F::DelayExplanation), S::PlanApproved),
            (S::PlanApproved, A::Feedback(F::UrgeResponse), S::PlanApproved),
            (S::PlanApproved, A::Feedback(F::Completion), S::CompletionReported),
            // Continuing attention after verification.
            (S::Verified, A::Feedback(F::StageReport), S::Verified),
            (S::ClosedOut, A::Feedback(F::StageReport), S::ClosedOut),
        ];
        for (from, action, to) in legal {
            assert_eq!(step(from, action), Ok(to), "{from:?} {action:?}");
        }
        // Everything else is illegal.
        let actions = [
            A::Acknowledge,
            A::Verify,
            A::Return,
            A::CloseOut,
            A::Feedback(F::Deployment),
            A::Feedback(F::Initial),
            A::Feedback(F::Progress),
            A::Feedback(F::Completion),
            A::Feedback(F::DelayExplanation),
            A::Feedback(F::UrgeResponse),
            A::Feedback(F::StageReport),
            A::SubmitPlan,
            A::ApprovePlan,
            A::RejectPlan,
        ];
        for state in AssignmentState::ALL {
            for action in actions {
                let allowed = legal.iter().any(|(f, a, _)| f == state && *a == action);
                assert_eq!(step(*state, action).is_ok(), allowed, "{state:?} {action:?}");
            }
        }
        let err = step(S::Assigned, A::Verify).unwrap_err();
        assert_eq!(err.reason_zh(), "交办事项当前为“已交办”状态,不能核查通过");
    }

    #[test]
    fn traffic_light_table() {
        let c = shipped();
        let bj = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
        let t = |m: u32, day: u32, h: u32, min: u32| {
            bj.with_ymd_and_hms(2026, m, day, h, min, 0)
                .unwrap()
                .with_timezone(&Utc)
        };
        // Assigned 9-30 10:00, 7 working days: due 10-15 24:00. The window is
        // 374 h; 75% of it ends 280.5 h in, 10-12 02:30, before the eve (the
        // last working day before 10-15 is 10-14).
        let yellow = yellow_at(t(9, 30, 10, 0), d(2026, 10, 15), t(10, 16, 0, 0), &c, &bj);
        assert_eq!(yellow, t(10, 12, 2, 30));
        let m = Thresholds {
            yellow_at: yellow,
            due_at: t(10, 16, 0, 0),
        };
        let table = [
            (t(10, 8, 9, 0), Light::Green),
            (t(10, 12, 2, 29), Light::Green),
            (t(10, 12, 2, 30), Light::Yellow), // 75% used
            (t(10, 14, 9, 0), Light::Yellow),  // due the next working day
            (t(10, 15, 23, 59), Light::Yellow),
            (t(10, 16, 0, 0), Light::Red), // 24:00 passed
        ];
        for (now, expected) in table {
            assert_eq!(light(&[m], now), expected, "{now}");
        }
        // Due the day after the National Day holiday (10-8): the last working
        // day before it is 9-30, so yellow from 9-30 00:00 though only a fifth
        // of the window is used then (75% would be 10-6 08:15).
        let after_holiday = yellow_at(t(9, 28, 9, 0), d(2026, 10, 8), t(10, 9, 0, 0), &c, &bj);
        assert_eq!(after_holiday, t(9, 30, 0, 0));
        // Due Monday 10-12 after a make-up Saturday (10-10 works): its eve is
        // 10-10, before the 75% point (10-11 20:15 for a window from 10-8 09:00).
        assert_eq!(
            yellow_at(t(10, 8, 9, 0), d(2026, 10, 12), t(10, 13, 0, 0), &c, &bj),
            t(10, 10, 0, 0)
        );
        // Beyond the calendar only the 75% rule is left (2028 is not shipped):
        // 264 h from 1-1 00:00 to 1-11 24:00, yellow 198 h in.
        let far = chrono::Utc.with_ymd_and_hms(2028, 1, 11, 16, 0, 0).unwrap();
        let start = chrono::Utc.with_ymd_and_hms(2027, 12, 31, 16, 0, 0).unwrap();
        assert_eq!(
            yellow_at(start, d(2028, 1, 11), far, &c, &bj),
            start + chrono::Duration::hours(198)
        );
        // The worst milestone wins; none open is green.
        let red = Thresholds {
            yellow_at: t(9, 1, 0, 0),
            due_at: t(9, 2, 0, 0),
        };
        assert_eq!(light(&[m, red], t(10, 8, 9, 0)), Light::Red);
        assert_eq!(light(&[], t(9, 10, 9, 0)), Light::Green);
    }
}

/// Why an extension request (延期申请) is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionRefused {
    /// Requests are made before the deadline, not after it.
    AfterDeadline,
    /// The new date must be later than the current one.
    NotLater,
}

impl ExtensionRefused {
    pub fn reason(self) -> &'static str {
        match self {
            ExtensionRefused::AfterDeadline => "an extension must be requested before the deadline",
            ExtensionRefused::NotLater => "the new deadline must be later than the current one",
        }
    }
    pub fn reason_zh(self) -> &'static str {
        match self {
            ExtensionRefused::AfterDeadline => "办理时限已过,不能再申请延期,请报送逾期说明",
            ExtensionRefused::NotLater => "延期后的时限须晚于现时限",
        }
    }
}

/// Whether an extension to `new_date` may be requested at `now` for a
/// resolution due at `due_at` (its last day `due_date`).
pub fn check_extension(
    now: DateTime<Utc>,
    due_date: NaiveDate,
    due_at: DateTime<Utc>,
    new_date: NaiveDate,
) -> Result<(), ExtensionRefused> {
    if now >= due_at {
        return Err(ExtensionRefused::AfterDeadline);
    }
    if new_date <= due_date {
        return Err(ExtensionRefused::NotLater);
    }
    Ok(())
}

/// An open milestone's last day after a suspension (中止) from `paused` to
/// `resumed` (court-local dates): moved on by the working days the clock
/// stood still.
pub fn shift_after_pause(
    calendar: &Calendar,
    due: NaiveDate,
    paused: NaiveDate,
    resumed: NaiveDate,
) -> Result<NaiveDate, MissingYear> {
    calendar.nth_working_day_after(due, paused_working_days(calendar, paused, resumed)?)
}

/// Working days a suspension from `paused` has stood still by `today`
/// (court-local dates): what resuming then moves every open deadline by.
pub fn paused_working_days(calendar: &Calendar, paused: NaiveDate, today: NaiveDate) -> Result<u32, MissingYear> {
    calendar.working_days_between(paused, today)
}

/// The state as people are told it while suspended. A suspension (中止) is
/// not a state of the machine — the clock stands still over the state it
/// paused — but it is what the office and the unit must see, with the
/// working days it has stood still (None: the calendar cannot count them).
pub fn suspended_label_zh(paused_working_days: Option<u32>) -> String {
    match paused_working_days {
        Some(n) => format!("已中止(已暂停{n}个工作日)"),
        None => "已中止".into(),
    }
}

#[cfg(test)]
mod pause_tests {
    use super::*;
    use crate::calendar::tests::{d, shipped};
    use chrono::TimeZone;

    #[test]
    fn extensions_before_the_deadline_only() {
        let due_at = Utc.with_ymd_and_hms(2026, 10, 15, 16, 0, 0).unwrap();
        let before = Utc.with_ymd_and_hms(2026, 10, 15, 8, 0, 0).unwrap();
        assert_eq!(
            check_extension(before, d(2026, 10, 15), due_at, d(2026, 10, 30)),
            Ok(())
        );
        assert_eq!(
            check_extension(due_at, d(2026, 10, 15), due_at, d(2026, 10, 30)),
            Err(ExtensionRefused::AfterDeadline)
        );
        assert_eq!(
            check_extension(before, d(2026, 10, 15), due_at, d(2026, 10, 15)),
            Err(ExtensionRefused::NotLater)
        );
    }

    #[test]
    fn suspension_shifts_by_the_working_days_paused() {
        let c = shipped();
        // Paused 9-28 (Mon), resumed 10-09 (Fri): 9-29, 9-30, 10-08, 10-09 = 4 working days.
        assert_eq!(
            shift_after_pause(&c, d(2026, 10, 15), d(2026, 9, 28), d(2026, 10, 9)),
            Ok(d(2026, 10, 21))
        );
        // Paused and resumed the same day: nothing moves.
        assert_eq!(
            shift_after_pause(&c, d(2026, 10, 15), d(2026, 10, 9), d(2026, 10, 9)),
            Ok(d(2026, 10, 15))
        );
        // What the assignment shows meanwhile: on 10-09, 4 working days paused.
        let paused = paused_working_days(&c, d(2026, 9, 28), d(2026, 10, 9)).ok();
        assert_eq!(suspended_label_zh(paused), "已中止(已暂停4个工作日)");
        assert_eq!(suspended_label_zh(None), "已中止");
        // Paused over a weekend only: nothing moves either.
        assert_eq!(
            shift_after_pause(&c, d(2026, 11, 20), d(2026, 11, 13), d(2026, 11, 15)),
            Ok(d(2026, 11, 20))
        );
    }
}

/// An urge as far as escalation cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrgeStanding {
    pub answer_due_at: DateTime<Utc>,
    pub answered: bool,
    /// The office's judgement of the answer, once made.
    pub justified: Option<bool>,
}

/// Urges without a justified answer: judged unjustified, or not answered by
/// their deadline. Two of them flag the assignment for 通报批评 (暂行规定 art. 18).
pub fn urges_against(urges: &[UrgeStanding], now: DateTime<Utc>) -> usize {
    urges
        .iter()
        .filter(|u| u.justified == Some(false) || (!u.answered && now >= u.answer_due_at))
        .count()
}

pub const URGES_BEFORE_CRITICISM: usize = 2;

#[cfg(test)]
mod urge_tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn what_counts_against_a_unit() {
        let due = Utc.with_ymd_and_hms(2026, 10, 10, 16, 0, 0).unwrap();
        let before = due - chrono::Duration::hours(1);
        let u = |answered, justified| UrgeStanding {
            answer_due_at: due,
            answered,
            justified,
        };
        let table = [
            (vec![u(false, None)], before, 0),
            (vec![u(false, None)], due, 1),
            (vec![u(true, None)], due, 0),
            (vec![u(true, Some(true))], due, 0),
            (vec![u(true, Some(false))], before, 1),
            (vec![u(true, Some(false)), u(false, None)], due, 2),
            (vec![u(true, Some(true)), u(true, Some(false))], due, 1),
        ];
        for (urges, now, expected) in table {
            assert_eq!(urges_against(&urges, now), expected, "{urges:?} at {now}");
        }
    }
}

/// The months an overdue assignment owed a progress report for (reason and
/// next step, 暂行规定 art. 12), as (year, month), from the month its
/// resolution deadline passed up to the month before `today`: a month's
/// report is missing once that month is over.
pub fn months_owed(resolve_due: NaiveDate, today: NaiveDate) -> Vec<(i32, u32)> {
    use chrono::Datelike;
    let mut out = Vec::new();
    let (mut y, mut m) = (resolve_due.year(), resolve_due.month());
    while (y, m) < (today.year(), today.month()) {
        out.push((y, m));
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    out
}

#[cfg(test)]
mod monthly_tests {
    use super::*;
    use crate::calendar::tests::d;

    #[test]
    fn ledger_state_texts() {
        use crate::policy::MilestoneKind::*;
        use AssignmentState as S;
        let table = [
            ("已交办", Some(S::Assigned), &[][..]),
            ("已签收", Some(S::Acknowledged), &[Deploy][..]),
            ("办理中", Some(S::InProgress), &[Deploy, Initial][..]),
            (" 逾期 ", Some(S::InProgress), &[Deploy, Initial][..]),
            ("in_progress", Some(S::InProgress), &[Deploy, Initial][..]),
            ("已报办结", Some(S::CompletionReported), &[Deploy, Initial, Resolve][..]),
            ("已办结", Some(S::Verified), &[Deploy, Initial, Resolve][..]),
            ("核查通过", Some(S::Verified), &[Deploy, Initial, Resolve][..]),
            ("已销号", Some(S::ClosedOut), &[Deploy, Initial, Resolve][..]),
            ("驳回重办", Some(S::Returned), &[Deploy, Initial][..]),
        ];
        for (text, state, met) in table {
            assert_eq!(from_ledger_text(text), state, "{text}");
            assert_eq!(milestones_met_by(state.unwrap()), met, "{text}");
        }
        for text in ["", "已立项", "草稿", "备注"] {
            assert_eq!(from_ledger_text(text), None, "{text}");
        }
    }

    #[test]
    fn months_owed_table() {
        assert_eq!(months_owed(d(2026, 10, 15), d(2026, 10, 31)), vec![]);
        assert_eq!(months_owed(d(2026, 10, 15), d(2026, 11, 1)), vec![(2026, 10)]);
        assert_eq!(
            months_owed(d(2026, 10, 15), d(2027, 1, 3)),
            vec![(2026, 10), (2026, 11), (2026, 12)]
        );
        assert_eq!(months_owed(d(2026, 12, 31), d(2027, 2, 1)), vec![(2026, 12), (2027, 1)]);
    }
}
