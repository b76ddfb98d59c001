//! The bulletin's appraisal ranking, asked of the appraisal service in
//! process: its ranking is computed by its own code from its facts and rule
//! sets, so the reporting worker reads it through that code, never from the
//! appraisal schema, and needs no token or network hop.

use duban_appraisal::service::AppraisalService;
use duban_core::Role;
use duban_platform::auth::Principal;
use duban_proto::appraisal::v1 as apb;
use duban_reporting::model::{RankGroup, RankRow};
use futures::future::BoxFuture;
use uuid::Uuid;

pub struct AppraisalRankings(pub AppraisalService);

/// The worker reads rankings as the system, over the court's subtree.
fn reader(court: Uuid) -> Principal {
    Principal {
        token_id: Uuid::nil(),
        name: "reporting".into(),
        person_id: None,
        roles: vec![Role::System],
        unit_scope: vec![court],
    }
}

fn points(value: f64) -> String {
    duban_core::scoring::points_plain(duban_core::scoring::points_from(value))
}

impl duban_reporting::rankings::Rankings for AppraisalRankings {
    fn ranking<'a>(&'a self, period: &'a str, court: Uuid) -> BoxFuture<'a, anyhow::Result<Vec<RankGroup>>> {
        Box::pin(async move {
            let p = reader(court);
            let mut groups = Vec::new();
            for (group, title) in [
                (apb::UnitGroup::GrassrootsCourts, "基层法院"),
                (apb::UnitGroup::Departments, "中院各部门"),
            ] {
                let mut rows = Vec::new();
                let mut req = apb::ListRankingsRequest {
                    period: period.to_owned(),
                    group: group as i32,
                    page_size: 500,
                    ..Default::default()
                };
                loop {
                    let page = self.0.rankings(&p, &req).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                    rows.extend(page.rankings.iter().map(|r| RankRow {
                        rank: if r.tied {
                            format!("{}(并列)", r.rank)
                        } else {
                            r.rank.to_string()
                        },
                        name: r.subject.as_ref().map(|s| s.name.clone()).unwrap_or_default(),
                        score: points(r.total),
                        deductions: points(r.deductions),
                        credits: points(r.credits),
                    }));
                    if page.next_page_token.is_empty() {
                        break;
                    }
                    req.page_token = page.next_page_token;
                }
                groups.push(RankGroup {
                    title: title.into(),
                    rows,
                });
            }
            Ok(groups)
        })
    }
}
