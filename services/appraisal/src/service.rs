//! Rule sets, scorecards, rankings, publishing and adjustments: checked
//! against the caller's role and unit, mutations through `mutate`.

use crate::consumer;
use crate::store::{self, AdjustmentRow, StoredRuleSet, UnitRow};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use duban_core::Violations;
use duban_core::access::Action;
use duban_core::calendar::MissingYear;
use duban_core::scoring::{self, Line, Period, Points, RuleFile, RuleSet, Whom, points_value};
use duban_platform::auth::{Principal, tree_roots};
use duban_platform::clock::Clock;
use duban_platform::mutation::{Change, MutationContext, mutate};
use duban_platform::{Error, Result, page};
use duban_proto::appraisal::v1 as pb;
use prost::Message;
use sqlx::{PgConnection, PgPool};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// The shipped rule set, documented in Chinese in the file itself.
pub const DEFAULT_RULES: &str = include_str!("../rules/default.toml");

/// The shipped rule set applies from the first year with a shipped calendar.
fn default_effective_from() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).expect("a date")
}

#[derive(Clone)]
pub struct AppraisalService {
    pool: PgPool,
    clock: Clock,
    tz: Tz,
}

pub(crate) fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// Parses and checks a rule set's text; problems as field violations.
pub fn parse_rules(content: &str) -> Result<RuleFile> {
    let file: RuleFile = toml::from_str(content).map_err(|e| {
        let msg = e.message().to_owned();
        Error::invalid(
            "content",
            &format!("is not a rule set: {msg}"),
            &format!("规则文件格式有误:{msg}"),
        )
    })?;
    let problems = file.check();
    if !problems.is_empty() {
        let mut v = Violations::new();
        for p in problems.0 {
            v.add(format!("content.{}", p.field), p.reason, p.reason_zh);
        }
        return Err(Error::InvalidArgument(v));
    }
    Ok(file)
}

fn period_from(field: &str, key: &str) -> Result<Period> {
    Period::parse(key).ok_or_else(|| Error::invalid(field, PERIOD_FORMAT.0, PERIOD_FORMAT.1))
}

/// What a mutation of this service records: one event and audit record.
fn change(
    action: &'static str,
    target_kind: &'static str,
    target_id: String,
    after: serde_json::Value,
    unit_ids: Vec<Uuid>,
) -> Change {
    Change {
        action,
        target_kind,
        target_id,
        before: None,
        after: Some(after),
        unit_ids,
    }
}

const PERIOD_FORMAT: (&str, &str) = (
    "must be a month (2026-10), a quarter (2026-Q4) or a year (2026)",
    "考评期格式应为月度(2026-10)、季度(2026-Q4)或年度(2026)",
);

fn missing(e: MissingYear) -> Error {
    Error::precondition(e.to_string(), e.reason_zh())
}

fn group_kind(group: i32) -> Result<Option<&'static str>> {
    match pb::UnitGroup::try_from(group) {
        Ok(pb::UnitGroup::Unspecified) => Ok(None),
        Ok(pb::UnitGroup::GrassrootsCourts) => Ok(Some("grassroots_court")),
        Ok(pb::UnitGroup::Departments) => Ok(Some("department")),
        Err(_) => Err(Error::invalid("group", "is not a unit group", "单位类别无效")),
    }
}

/// Someone a scorecard is for, resolved from the directory.
#[derive(Debug, Clone)]
struct Target {
    whom: Whom,
    subject: pb::Subject,
    /// The unit whose scope decides who may see it.
    ancestry: Vec<Uuid>,
}

impl Target {
    fn kind_code(&self) -> &'static str {
        match self.whom {
            Whom::Unit(_) => "unit",
            Whom::Person(_) => "person",
        }
    }

    fn id(&self) -> Uuid {
        match self.whom {
            Whom::Unit(u) | Whom::Person(u) => u,
        }
    }
}

fn unit_target(u: &UnitRow) -> Target {
    Target {
        whom: Whom::Unit(u.id),
        subject: pb::Subject {
            kind: pb::SubjectKind::Unit as i32,
            id: u.id.to_string(),
            code: u.code.clone(),
            name: u.name.clone(),
            unit_kind: u.kind.clone(),
            unit_name: u.name.clone(),
        },
        ancestry: u.ancestry.clone(),
    }
}

fn person_target(p: &store::PersonRow, unit: Option<&UnitRow>) -> Target {
    Target {
        whom: Whom::Person(p.id),
        subject: pb::Subject {
            kind: pb::SubjectKind::Person as i32,
            id: p.id.to_string(),
            code: p.code.clone(),
            name: p.name.clone(),
            unit_kind: unit.map(|u| u.kind.clone()).unwrap_or_default(),
            unit_name: unit.map(|u| u.name.clone()).unwrap_or_default(),
        },
        ancestry: unit.map(|u| u.ancestry.clone()).unwrap_or_default(),
    }
}

/// What a draft scorecard is computed with.
struct Pricing {
    period: Period,
    stored: StoredRuleSet,
    rules: RuleSet,
    as_of: NaiveDate,
    calendar: duban_core::calendar::Calendar,
    units: BTreeMap<Uuid, UnitRow>,
}

fn in_scope(p: &Principal, ancestry: &[Uuid]) -> bool {
    p.is_admin() || ancestry.iter().any(|u| p.unit_scope.contains(u))
}

impl AppraisalService {
    pub fn new(pool: PgPool, clock: Clock, tz: Tz) -> Self {
        Self { pool, clock, tz }
    }

    /// Installs the shipped rule set when none is loaded.
    pub async fn seed(&self) -> Result<()> {
        let file = parse_rules(DEFAULT_RULES)?;
        if store::seed_rule_set(&self.pool, &file.name, default_effective_from(), DEFAULT_RULES).await? {
            tracing::info!("default appraisal rule set installed");
        }
        Ok(())
    }

    /// Folds the events not folded yet.
    pub async fn catch_up(&self) -> Result<usize> {
        consumer::catch_up(&self.pool, &self.tz).await
    }

    async fn context(&self, p: &Principal, request_id: &str) -> Result<MutationContext> {
        Ok(MutationContext {
            principal: p.clone(),
            request_id: request_id.to_owned(),
            now: self.clock.now().await?,
            service: "appraisal",
        })
    }

    async fn today(&self) -> Result<NaiveDate> {
        Ok(self.clock.now().await?.with_timezone(&self.tz).date_naive())
    }

    // ------------------------------------------------------------ rule sets

    fn rule_set_message(&self, s: &StoredRuleSet, locked: &[i32]) -> Result<pb::RuleSet> {
        let file = parse_rules(&s.content)?;
        let rules = file.rules();
        Ok(pb::RuleSet {
            version: s.version,
            name: s.name.clone(),
            effective_from: s.effective_from.to_string(),
            base: points_value(rules.base),
            rules: rules
                .describe()
                .into_iter()
                .map(|(code, points, description)| pb::Rule {
                    code: code.code().into(),
                    label: code.label_zh().into(),
                    points: points_value(points),
                    description,
                })
                .collect(),
            content: s.content.clone(),
            locked: locked.contains(&s.version),
            load_time: Some(timestamp(s.loaded_at)),
            loaded_by: s.loaded_by.clone(),
        })
    }

    pub async fn get_rule_set(&self, p: &Principal, version: i32) -> Result<pb::RuleSet> {
        p.authorize_role(Action::ReadAppraisal)?;
        let stored = if version == 0 {
            store::rule_set_on(&self.pool, self.today().await?).await?
        } else {
            store::rule_set(&self.pool, version).await?
        };
        let stored = stored.ok_or_else(|| Error::not_found("rule set", "考评规则", version))?;
        let locked = store::locked_versions(&self.pool).await?;
        self.rule_set_message(&stored, &locked)
    }

    pub async fn list_rule_sets(&self, p: &Principal) -> Result<pb::ListRuleSetsResponse> {
        p.authorize_role(Action::ReadAppraisal)?;
        let locked = store::locked_versions(&self.pool).await?;
        let rule_sets = store::rule_sets(&self.pool)
            .await?
            .iter()
            .map(|s| self.rule_set_message(s, &locked))
            .collect::<Result<_>>()?;
        Ok(pb::ListRuleSetsResponse { rule_sets })
    }

    pub async fn load_rule_set(&self, p: &Principal, req: &pb::LoadRuleSetRequest) -> Result<pb::RuleSet> {
        p.authorize_deployment(Action::ManageAppraisalRules, &tree_roots(&self.pool).await?)?;
        let from: NaiveDate = req.effective_from.trim().parse().map_err(|_| {
            Error::invalid(
                "effective_from",
                "is required: the first day the rules apply (YYYY-MM-DD)",
                "须填写新规则的生效日期(YYYY-MM-DD)",
            )
        })?;
        let file = parse_rules(&req.content)?;
        let ctx = self.context(p, &req.request_id).await?;
        mutate(&self.pool, &ctx, "LoadRuleSet", req, async |conn: &mut PgConnection| {
            let version = store::insert_rule_set(conn, file.name.trim(), from, &req.content, ctx.now, &p.name).await?;
            if let Some(key) = store::published_from(conn, from).await? {
                return Err(Error::precondition(
                    format!("period {key} is published with the rules in force: a new version must apply after it"),
                    format!("考评期{key}已发布,其所用规则不能再改;新规则只能自已发布考评期之后生效"),
                ));
            }
            let stored = store::rule_set(&mut *conn, version)
                .await?
                .ok_or_else(|| anyhow::anyhow!("rule set {version} vanished"))?;
            let message = self.rule_set_message(&stored, &[])?;
            let change = change(
                "appraisal.rule_set_loaded",
                "rule_set",
                version.to_string(),
                serde_json::json!({"version": version, "name": stored.name, "effective_from": from}),
                Vec::new(),
            );
            Ok((message, vec![change]))
        })
        .await
    }

    // ------------------------------------------------------------ subjects

    async fn target(&self, kind: i32, subject: &str) -> Result<Target> {
        let subject = subject.trim();
        if subject.is_empty() {
            return Err(Error::invalid(
                "subject",
                "is required: an id or a code",
                "须指定考评对象(编号或编码)",
            ));
        }
        let id = Uuid::parse_str(subject).ok();
        match pb::SubjectKind::try_from(kind) {
            Ok(pb::SubjectKind::Unit) => {
                let unit = store::unit(&self.pool, id, subject)
                    .await?
                    .ok_or_else(|| Error::not_found("unit", "单位", subject))?;
                Ok(unit_target(&unit))
            }
            Ok(pb::SubjectKind::Person) => {
                let person = store::person(&self.pool, id, subject)
                    .await?
                    .ok_or_else(|| Error::not_found("person", "人员", subject))?;
                let unit = store::unit(&self.pool, Some(person.unit_id), "").await?;
                Ok(person_target(&person, unit.as_ref()))
            }
            _ => Err(Error::invalid(
                "subject_kind",
                "must be unit or person",
                "考评对象类别须为单位或个人",
            )),
        }
    }

    /// May `p` see this subject's scorecard? Its own unit, a unit in its
    /// scope, or (for people) itself.
    fn authorize_read(&self, p: &Principal, t: &Target) -> Result<()> {
        if let Whom::Person(id) = t.whom
            && p.person_id == Some(id)
        {
            return p.authorize_role(Action::ReadAppraisal);
        }
        p.authorize_on(Action::ReadAppraisal, &t.ancestry)
    }

    // ------------------------------------------------------------ scoring

    async fn pricing(&self, period: Period) -> Result<Pricing> {
        let stored = store::rule_set_on(&self.pool, period.start).await?.ok_or_else(|| {
            Error::precondition(
                format!("no rule set is in force on {}", period.start),
                format!("{}没有适用的考评规则,请先载入规则", period.start),
            )
        })?;
        let rules = parse_rules(&stored.content)?.rules();
        let as_of = period.end.min(self.today().await?);
        Ok(Pricing {
            period,
            stored,
            rules,
            as_of,
            calendar: store::calendar(&self.pool).await?,
            units: store::units(&self.pool).await?.into_iter().map(|u| (u.id, u)).collect(),
        })
    }

    fn line_message(&self, line: &Line, units: &BTreeMap<Uuid, UnitRow>) -> pb::ScoreLine {
        let s = &line.fact.subject;
        pb::ScoreLine {
            rule: line.rule.code().into(),
            rule_label: line.rule.label_zh().into(),
            points: points_value(line.points),
            quantity: line.quantity,
            description: line.description.clone(),
            event_id: line.fact.event_id,
            event_type: line.fact.event_type.clone(),
            day: line.fact.on.to_string(),
            assignment_id: s.assignment_id.to_string(),
            item_id: s.item_id.to_string(),
            item_number: s.item_number.clone().unwrap_or_default(),
            unit_id: s.unit_id.to_string(),
            unit_name: units.get(&s.unit_id).map(|u| u.name.clone()).unwrap_or_default(),
            provisional: line.provisional,
            ..Default::default()
        }
    }

    /// Draft scorecards of `targets`, from the facts folded so far.
    async fn draft_cards(&self, pricing: &Pricing, targets: &[Target]) -> Result<Vec<pb::Scorecard>> {
        let one = match targets {
            [t] => Some(t.whom),
            _ => None,
        };
        let period = &pricing.period;
        let facts = store::facts(&self.pool, one, period.start, period.end).await?;
        let tracks: scoring::Tracks = store::counting_tracks(&self.pool, one)
            .await?
            .into_iter()
            .map(|t| (t.subject.assignment_id, t))
            .collect();
        let open = scoring::open_spans(&tracks, pricing.as_of);
        let lines =
            scoring::score(&facts, &open, &pricing.rules, period, pricing.as_of, &pricing.calendar).map_err(missing)?;
        Ok(targets
            .iter()
            .map(|t| {
                let mine: Vec<pb::ScoreLine> = lines
                    .iter()
                    .filter(|l| t.whom.concerns(&l.fact.subject))
                    .map(|l| self.line_message(l, &pricing.units))
                    .collect();
                let total: Points = pricing.rules.base
                    + lines
                        .iter()
                        .filter(|l| t.whom.concerns(&l.fact.subject))
                        .map(|l| l.points)
                        .sum::<Points>();
                pb::Scorecard {
                    subject: Some(t.subject.clone()),
                    period: period.key(),
                    period_label: period.label_zh(),
                    period_state: pb::PeriodState::Draft as i32,
                    rule_set_version: pricing.stored.version,
                    rule_set_name: pricing.stored.name.clone(),
                    base: points_value(pricing.rules.base),
                    total: points_value(total),
                    lines: mine,
                    as_of: pricing.as_of.to_string(),
                }
            })
            .collect())
    }

    /// Scorecards of `targets` for `period`: frozen ones when it is
    /// published, else computed now; adjustments added either way.
    async fn cards(&self, period: Period, targets: &[Target]) -> Result<Vec<pb::Scorecard>> {
        let key = period.key();
        let published = store::period(&self.pool, &key).await?;
        let mut cards = match &published {
            None => {
                self.catch_up().await?;
                let pricing = self.pricing(period).await?;
                self.draft_cards(&pricing, targets).await?
            }
            Some(row) => {
                let mut frozen: BTreeMap<(String, Uuid), pb::Scorecard> = BTreeMap::new();
                for kind in ["unit", "person"] {
                    let one = match targets {
                        [t] => Some(t.id()),
                        _ => None,
                    };
                    for (id, bytes) in store::snapshots(&self.pool, &key, kind, one).await? {
                        let card = pb::Scorecard::decode(bytes.as_slice()).map_err(anyhow::Error::from)?;
                        frozen.insert((kind.to_owned(), id), card);
                    }
                }
                let stored = store::rule_set(&self.pool, row.rule_set_version)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("rule set {} missing", row.rule_set_version))?;
                let base = parse_rules(&stored.content)?.rules().base;
                targets
                    .iter()
                    .map(|t| {
                        frozen
                            .remove(&(t.kind_code().to_owned(), t.id()))
                            .unwrap_or_else(|| pb::Scorecard {
                                // Nothing to score at publication: the base alone, frozen too.
                                subject: Some(t.subject.clone()),
                                period: key.clone(),
                                period_label: period.label_zh(),
                                period_state: pb::PeriodState::Published as i32,
                                rule_set_version: stored.version,
                                rule_set_name: stored.name.clone(),
                                base: points_value(base),
                                total: points_value(base),
                                lines: Vec::new(),
                                as_of: period.end.to_string(),
                            })
                    })
                    .collect()
            }
        };
        for kind in ["unit", "person"] {
            let mine: Vec<usize> = (0..targets.len()).filter(|i| targets[*i].kind_code() == kind).collect();
            if mine.is_empty() {
                continue;
            }
            let one = match mine.as_slice() {
                [i] => Some(targets[*i].id()),
                _ => None,
            };
            for a in store::adjustments(&self.pool, &key, kind, one).await? {
                for i in mine.iter().filter(|i| targets[**i].id() == a.subject_id) {
                    let card = &mut cards[*i];
                    card.total = points_value(scoring::points_from(card.total) + a.points);
                    card.lines.push(adjustment_line(&a, &self.tz));
                }
            }
        }
        Ok(cards)
    }

    pub async fn scorecard(&self, p: &Principal, req: &pb::GetScorecardRequest) -> Result<pb::Scorecard> {
        let period = period_from("period", &req.period)?;
        let target = self.target(req.subject_kind, &req.subject).await?;
        self.authorize_read(p, &target)?;
        let mut cards = self.cards(period, std::slice::from_ref(&target)).await?;
        Ok(cards.remove(0))
    }

    /// The units of a group the caller may see, in the office's order.
    async fn unit_targets(&self, p: &Principal, group: i32) -> Result<Vec<(UnitRow, Target)>> {
        let kind = group_kind(group)?;
        Ok(store::units(&self.pool)
            .await?
            .into_iter()
            .filter(|u| u.active && kind.is_none_or(|k| u.kind == k) && in_scope(p, &u.ancestry))
            .map(|u| {
                let t = unit_target(&u);
                (u, t)
            })
            .collect())
    }

    pub async fn scorecards(
        &self,
        p: &Principal,
        req: &pb::ListScorecardsRequest,
    ) -> Result<pb::ListScorecardsResponse> {
        p.authorize_role(Action::ReadAppraisal)?;
        let period = period_from("period", &req.period)?;
        let limit = page::page_size(req.page_size)?;
        let after = page::decode(&req.page_token, 2)?;
        let mut units = self.unit_targets(p, req.group).await?;
        if let Some(key) = after {
            let order: i32 = key[0]
                .parse()
                .map_err(|_| Error::invalid("page_token", "is not a token returned by this list", "分页标记无效"))?;
            units.retain(|(u, _)| (u.sort_order, u.code.as_str()) > (order, key[1].as_str()));
        }
        let next = page::cut(&mut units, limit, |(u, _)| {
            page::encode(&[&u.sort_order.to_string(), &u.code])
        });
        let targets: Vec<Target> = units.into_iter().map(|(_, t)| t).collect();
        Ok(pb::ListScorecardsResponse {
            scorecards: if targets.is_empty() {
                Vec::new()
            } else {
                self.cards(period, &targets).await?
            },
            next_page_token: next,
        })
    }

    pub async fn rankings(&self, p: &Principal, req: &pb::ListRankingsRequest) -> Result<pb::ListRankingsResponse> {
        p.authorize_role(Action::ReadRankings)?;
        let period = period_from("period", &req.period)?;
        if group_kind(req.group)?.is_none() {
            return Err(Error::invalid(
                "group",
                "is required: grassroots courts and departments are ranked separately",
                "须指定排名的单位类别(基层法院与部门分别排名)",
            ));
        }
        let limit = page::page_size(req.page_size)?;
        let after = page::decode(&req.page_token, 1)?;
        let units = self.unit_targets(p, req.group).await?;
        let targets: Vec<Target> = units.iter().map(|(_, t)| t.clone()).collect();
        let cards = if targets.is_empty() {
            Vec::new()
        } else {
            self.cards(period, &targets).await?
        };
        let mut scored: Vec<(Points, i32, String, pb::Scorecard)> = cards
            .into_iter()
            .zip(&units)
            .map(|(c, (u, _))| (scoring::points_from(c.total), u.sort_order, u.code.clone(), c))
            .collect();
        // Best first; equal totals in the office's order, sharing the place.
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let totals: Vec<Points> = scored.iter().map(|s| s.0).collect();
        let mut rankings: Vec<pb::Ranking> = scored
            .iter()
            .zip(scoring::rank(&totals))
            .map(|((total, _, _, card), (place, tied))| {
                let sum = |f: fn(&f64) -> bool| card.lines.iter().map(|l| l.points).filter(f).sum::<f64>();
                pb::Ranking {
                    rank: place as i32,
                    tied,
                    subject: card.subject.clone(),
                    total: points_value(*total),
                    deductions: sum(|x| *x < 0.0),
                    credits: sum(|x| *x > 0.0),
                }
            })
            .collect();
        let state = match store::period(&self.pool, &period.key()).await? {
            Some(_) => pb::PeriodState::Published,
            None => pb::PeriodState::Draft,
        };
        let skip: usize = match after {
            Some(key) => key[0]
                .parse()
                .map_err(|_| Error::invalid("page_token", "is not a token returned by this list", "分页标记无效"))?,
            None => 0,
        };
        rankings.drain(..skip.min(rankings.len()));
        let next = page::cut(&mut rankings, limit, |_| {
            page::encode(&[&(skip + limit as usize).to_string()])
        });
        Ok(pb::ListRankingsResponse {
            period: period.key(),
            period_state: state as i32,
            rankings,
            next_page_token: next,
        })
    }

    // ------------------------------------------------------------ periods

    fn period_message(&self, period: &Period, row: Option<&store::PeriodRow>, version: i32) -> pb::Period {
        pb::Period {
            key: period.key(),
            label: period.label_zh(),
            state: if row.is_some() {
                pb::PeriodState::Published
            } else {
                pb::PeriodState::Draft
            } as i32,
            starts_on: period.start.to_string(),
            ends_on: period.end.to_string(),
            rule_set_version: row.map(|r| r.rule_set_version).unwrap_or(version),
            publish_time: row.map(|r| timestamp(r.published_at)),
            published_by: row.map(|r| r.published_by.clone()).unwrap_or_default(),
        }
    }

    pub async fn period(&self, p: &Principal, key: &str) -> Result<pb::Period> {
        p.authorize_role(Action::ReadAppraisal)?;
        let period = period_from("key", key)?;
        let row = store::period(&self.pool, &period.key()).await?;
        let version = store::rule_set_on(&self.pool, period.start)
            .await?
            .map(|s| s.version)
            .unwrap_or(0);
        Ok(self.period_message(&period, row.as_ref(), version))
    }

    pub async fn publish(&self, p: &Principal, req: &pb::PublishPeriodRequest) -> Result<pb::Period> {
        p.authorize_deployment(Action::ManageAppraisalRules, &tree_roots(&self.pool).await?)?;
        let period = period_from("key", &req.key)?;
        let ctx = self.context(p, &req.request_id).await?;
        if ctx.now.with_timezone(&self.tz).date_naive() <= period.end {
            return Err(Error::precondition(
                format!("period {} has not ended", period.key()),
                format!("{}尚未结束,不能发布", period.label_zh()),
            ));
        }
        // Everyone who can have a scorecard: every unit, its head and liaison,
        // and anyone named on an assignment with a line this period.
        self.catch_up().await?;
        let pricing = self.pricing(period).await?;
        let units: Vec<&UnitRow> = pricing.units.values().collect();
        let mut people: BTreeSet<Uuid> = units.iter().flat_map(|u| [u.head_id, u.liaison_id]).flatten().collect();
        for f in store::facts(&self.pool, None, period.start, period.end).await? {
            people.insert(f.subject.head_id);
            people.insert(f.subject.liaison_id);
        }
        let people = store::people(&self.pool, &people.into_iter().collect::<Vec<_>>()).await?;
        let mut targets: Vec<Target> = units.iter().map(|u| unit_target(u)).collect();
        targets.extend(people.iter().map(|x| person_target(x, pricing.units.get(&x.unit_id))));
        let mut cards = self.draft_cards(&pricing, &targets).await?;
        for c in &mut cards {
            c.period_state = pb::PeriodState::Published as i32;
        }
        mutate(
            &self.pool,
            &ctx,
            "PublishPeriod",
            req,
            async |conn: &mut PgConnection| {
                let key = period.key();
                let row = store::NewPeriod {
                    key: &key,
                    kind: period.kind.code(),
                    starts_on: period.start,
                    ends_on: period.end,
                    rule_set_version: pricing.stored.version,
                    at: ctx.now,
                    by: &p.name,
                };
                if !store::insert_period(conn, &row).await? {
                    return Err(Error::precondition(
                        format!("period {key} is already published"),
                        format!("{}已发布", period.label_zh()),
                    ));
                }
                // The rules may not have changed since the figures were computed.
                let now_in_force = store::rule_set_on(&mut *conn, period.start).await?.map(|s| s.version);
                if now_in_force != Some(pricing.stored.version) {
                    return Err(Error::Conflict);
                }
                for (t, card) in targets.iter().zip(&cards) {
                    let total = scoring::points_from(card.total);
                    store::insert_snapshot(conn, &key, t.kind_code(), t.id(), total, &card.encode_to_vec()).await?;
                }
                let published = store::period(&mut *conn, &key).await?;
                let message = self.period_message(&period, published.as_ref(), pricing.stored.version);
                let change = change(
                    "appraisal.period_published",
                    "period",
                    key.clone(),
                    serde_json::json!({"rule_set_version": pricing.stored.version, "scorecards": cards.len()}),
                    Vec::new(),
                );
                Ok((message, vec![change]))
            },
        )
        .await
    }

    pub async fn adjust(&self, p: &Principal, req: &pb::AdjustScoreRequest) -> Result<pb::Adjustment> {
        let mut v = Violations::new();
        let period = Period::parse(&req.period);
        if period.is_none() {
            v.add("period", PERIOD_FORMAT.0, PERIOD_FORMAT.1);
        }
        let hundredths = req.points * 100.0;
        if !req.points.is_finite() || req.points == 0.0 || req.points.abs() > 100.0 {
            v.add(
                "points",
                "must be non-zero and at most 100 either way",
                "调整分值须非零且绝对值不超过100",
            );
        } else if (hundredths - hundredths.round()).abs() > 1e-6 {
            v.add("points", "has at most two decimals", "调整分值最多保留两位小数");
        }
        let reason = req.reason.trim().to_owned();
        if reason.is_empty() {
            v.add("reason", "is required: why is the score corrected?", "须写明调整理由");
        }
        v.into_result().map_err(Error::InvalidArgument)?;
        let period = period.expect("checked");
        let target = self.target(req.subject_kind, &req.subject).await?;
        p.authorize_on(Action::ManageAppraisal, &target.ancestry)?;
        let ctx = self.context(p, &req.request_id).await?;
        mutate(&self.pool, &ctx, "AdjustScore", req, async |conn: &mut PgConnection| {
            let row = AdjustmentRow {
                id: Uuid::now_v7(),
                period_key: period.key(),
                subject_kind: target.kind_code().into(),
                subject_id: target.id(),
                points: scoring::points_from(req.points),
                reason: reason.clone(),
                author: p.name.clone(),
                created_at: ctx.now,
            };
            store::insert_adjustment(conn, &row).await?;
            let message = pb::Adjustment {
                id: row.id.to_string(),
                period: row.period_key.clone(),
                subject: Some(target.subject.clone()),
                points: points_value(row.points),
                reason: row.reason.clone(),
                author: row.author.clone(),
                create_time: Some(timestamp(row.created_at)),
            };
            let change = change(
                "appraisal.score_adjusted",
                "scorecard",
                format!("{}/{}/{}", row.period_key, row.subject_kind, row.subject_id),
                serde_json::json!({
                    "adjustment": row.id, "points": points_value(row.points), "reason": row.reason, "author": row.author,
                }),
                target.ancestry.clone(),
            );
            Ok((message, vec![change]))
        })
        .await
    }
}

fn adjustment_line(a: &AdjustmentRow, tz: &Tz) -> pb::ScoreLine {
    pb::ScoreLine {
        rule: scoring::RuleCode::Adjustment.code().into(),
        rule_label: scoring::RuleCode::Adjustment.label_zh().into(),
        points: points_value(a.points),
        quantity: 1,
        description: format!("更正调整:{}(调整人:{})", a.reason, a.author),
        day: a.created_at.with_timezone(tz).date_naive().to_string(),
        adjustment_id: a.id.to_string(),
        author: a.author.clone(),
        adjust_time: Some(timestamp(a.created_at)),
        ..Default::default()
    }
}
