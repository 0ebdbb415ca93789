//! Audit an existing firewall against the plan: what it blocks that Lync needs, and what it opens
//! beyond the plan. One parser per format turns the configuration into [`model::Config`]; the
//! evaluator pushes address/port regions through it; nothing is enumerated port by port.

pub mod asa;
pub mod eval;
pub mod iptables;
pub mod model;
pub mod nat;
pub mod nft;
pub mod report;
pub mod space;

use crate::plan::Family;
use std::str::FromStr;

/// Configuration formats `portplan audit` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Iptables,
    Ip6tables,
    Nftables,
    NftablesJson,
    Asa,
}

impl Format {
    pub const ALL: &'static [Format] = &[
        Format::Iptables,
        Format::Ip6tables,
        Format::Nftables,
        Format::NftablesJson,
        Format::Asa,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Iptables => "iptables",
            Format::Ip6tables => "ip6tables",
            Format::Nftables => "nftables",
            Format::NftablesJson => "nftables-json",
            Format::Asa => "asa",
        }
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Format::ALL
            .iter()
            .copied()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| format!("unknown format `{s}`"))
    }
}

/// A configuration that cannot be read at all.
#[derive(Debug, thiserror::Error)]
#[error("{format} configuration is unreadable: {why}")]
pub struct Unreadable {
    pub format: &'static str,
    pub why: String,
}

/// What a text looks like, for messages when it is given as the wrong format.
pub fn looks_like(text: &str) -> &'static str {
    let trimmed = text.trim_start();
    let lines = || text.lines().map(str::trim_start);
    let control = text
        .chars()
        .filter(|c| c.is_control() && !c.is_whitespace())
        .count();
    if text.contains('\u{FFFD}') || control * 20 > text.len().max(1) {
        "binary data"
    } else if trimmed.starts_with('{')
        || trimmed.starts_with('[') && trimmed.contains("\"nftables\"")
    {
        "JSON (nftables-json?)"
    } else if lines().any(|l| {
        l.starts_with("*filter")
            || l.starts_with("*nat")
            || l.starts_with("-A ")
            || l.starts_with(":FORWARD")
    }) {
        "an iptables-save file (iptables / ip6tables)"
    } else if lines().any(|l| l.starts_with("table ") || l.starts_with("add table ")) {
        "an nftables ruleset (nftables)"
    } else if lines().any(|l| {
        l.starts_with("access-list ") || l.starts_with("access-group ") || l.starts_with("nameif ")
    }) {
        "a Cisco ASA configuration (asa)"
    } else if lines().any(|l| l.starts_with("[[") || l.starts_with('[') && l.ends_with(']')) {
        "a TOML file (a portplan topology?)"
    } else {
        "nothing portplan recognises"
    }
}

/// Parses a configuration. Lines that cannot be interpreted do not fail the parse: they are listed
/// in [`model::Config::unparsed`] and make the verdicts they could change uncertain. A text with
/// nothing recognisable for the format is refused, so a wrong or empty file never reads as a
/// firewall that forwards everything.
pub fn parse(format: Format, text: &str) -> Result<model::Config, Unreadable> {
    let refuse = |why: String| Unreadable {
        format: format.as_str(),
        why,
    };
    if text.trim().is_empty() {
        return Err(refuse("the file is empty".into()));
    }
    let nothing = || {
        refuse(format!(
            "nothing in it reads as {}; it looks like {}",
            format.as_str(),
            looks_like(text)
        ))
    };
    let config = match format {
        Format::Iptables => iptables::parse(text, Family::V4),
        Format::Ip6tables => iptables::parse(text, Family::V6),
        Format::Nftables => {
            // nft needs a table for anything to filter; without one the file is not a ruleset
            let has_table = text.lines().map(str::trim_start).any(|l| {
                l.starts_with("table ")
                    || l.starts_with("add table ")
                    || l.starts_with("flush ruleset")
            });
            if !has_table {
                return Err(nothing());
            }
            nft::parse_text(text)
        }
        Format::NftablesJson => nft::parse_json(text)
            .map_err(|why| refuse(format!("{why}; it looks like {}", looks_like(text))))?,
        Format::Asa => asa::parse(text),
    };
    if config.chains.is_empty() && config.entries.is_empty() {
        return Err(nothing());
    }
    Ok(config)
}
