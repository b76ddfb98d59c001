//! The issue analysis' rule table (问题分析规则表): per finding, its title,
//! thresholds and suggested countermeasure. Shipped as
//! `rules/countermeasures.toml`, seeded into `reporting.countermeasures`,
//! and read from there, so the office edits what its bulletins suggest.

use serde::Deserialize;
use std::collections::BTreeMap;

/// The shipped rule table.
pub const SHIPPED: &str = include_str!("../rules/countermeasures.toml");

/// The findings the analysis knows, in the order bulletins print them.
pub const FINDINGS: [&str; 6] = [
    "overdue_concentration",
    "delay_reasons",
    "hollow_progress",
    "closed_unverified",
    "repeated_urges",
    "unassigned_sources",
];

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RuleRow {
    pub finding: String,
    pub title: String,
    pub countermeasure: String,
    #[serde(default = "empty_params")]
    pub params: serde_json::Value,
}

fn empty_params() -> serde_json::Value {
    serde_json::json!({})
}

#[derive(Debug, Clone, Default)]
pub struct Rules {
    rows: BTreeMap<String, RuleRow>,
}

#[derive(Deserialize)]
struct File {
    rule: Vec<RuleRow>,
}

impl Rules {
    pub fn new(rows: impl IntoIterator<Item = RuleRow>) -> Self {
        Self {
            rows: rows.into_iter().map(|r| (r.finding.clone(), r)).collect(),
        }
    }

    /// Parses a rule table in the shipped TOML form.
    pub fn parse(content: &str) -> anyhow::Result<Rules> {
        let file: File = toml::from_str(content)?;
        for r in &file.rule {
            anyhow::ensure!(
                FINDINGS.contains(&r.finding.as_str()),
                "unknown finding `{}` (known: {})",
                r.finding,
                FINDINGS.join(", ")
            );
        }
        Ok(Rules::new(file.rule))
    }

    pub fn shipped() -> Rules {
        Rules::parse(SHIPPED).expect("the shipped rule table parses")
    }

    pub fn rows(&self) -> impl Iterator<Item = &RuleRow> {
        self.rows.values()
    }

    pub fn title(&self, finding: &str) -> String {
        self.rows.get(finding).map(|r| r.title.clone()).unwrap_or_default()
    }

    pub fn countermeasure(&self, finding: &str) -> String {
        self.rows
            .get(finding)
            .map(|r| r.countermeasure.clone())
            .unwrap_or_default()
    }

    /// A numeric threshold, or `default` when the table has none.
    pub fn param(&self, finding: &str, name: &str, default: f64) -> f64 {
        self.rows
            .get(finding)
            .and_then(|r| r.params.get(name))
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_table_covers_every_finding() {
        let rules = Rules::shipped();
        for f in FINDINGS {
            assert!(!rules.title(f).is_empty(), "{f}");
            assert!(!rules.countermeasure(f).is_empty(), "{f}");
        }
        assert_eq!(rules.param("overdue_concentration", "min_share", 0.0), 0.3);
        assert_eq!(rules.param("repeated_urges", "nothing", 7.0), 7.0);
        assert!(Rules::parse("[[rule]]\nfinding = \"x\"\ntitle = \"t\"\ncountermeasure = \"c\"\n").is_err());
    }
}
