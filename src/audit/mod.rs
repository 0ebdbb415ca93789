//! Audit an existing firewall against the plan: what it blocks that Lync needs, and what it opens
//! beyond the plan. One parser per format turns the configuration into [`model::Config`]; the
//! evaluator pushes address/port regions through it; nothing is enumerated port by port.

pub mod asa;
pub mod eval;
pub mod iptables;
pub mod model;
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

/// Parses a configuration. Lines that cannot be interpreted do not fail the parse: they are listed
/// in [`model::Config::unparsed`] and make the verdicts they could change uncertain.
pub fn parse(format: Format, text: &str) -> Result<model::Config, Unreadable> {
    let config = match format {
        Format::Iptables => iptables::parse(text, Family::V4),
        Format::Ip6tables => iptables::parse(text, Family::V6),
        Format::Nftables => nft::parse_text(text),
        Format::NftablesJson => nft::parse_json(text).map_err(|why| Unreadable {
            format: "nftables-json",
            why,
        })?,
        Format::Asa => asa::parse(text),
    };
    if config.chains.is_empty() && config.entries.is_empty() {
        return Err(Unreadable {
            format: config.format,
            why: "no filter table, chains or rules found".into(),
        });
    }
    Ok(config)
}
