//! Audit an existing firewall against the plan: what it blocks that Lync needs, and what it opens
//! beyond the plan. One parser per format turns the configuration into [`model::Config`]; the
//! evaluator pushes address/port regions through it; nothing is enumerated port by port.

pub mod asa;
pub mod document;
pub mod eval;
pub mod iptables;
pub mod judge;
pub mod model;
pub mod nat;
pub mod nft;
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

/// `text` with every control character shown as an escape (`\n`, `\t`, `\x1b`, `\u{202e}`), so
/// that configuration text echoed to a terminal can neither move the cursor, recolour, hide
/// output nor forge lines of the report. Bidirectional-text overrides are escaped too.
pub fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    let bad =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(bad) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && bad(c) => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if bad(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A copy of `audit` whose every text (configuration lines, names, reasons, notes) is passed
/// through [`visible`]: what the text output shows. The JSON output escapes by itself.
pub fn for_terminal(audit: &judge::Audit) -> judge::Audit {
    let v = |s: &str| visible(s).into_owned();
    let loc = |l: &model::Location| model::Location {
        line: l.line,
        text: v(&l.text),
    };
    let mut a = audit.clone();
    a.firewall = v(&a.firewall);
    for r in &mut a.rules {
        r.rows = v(&r.rows);
        r.service = v(&r.service);
        r.ingress = v(&r.ingress);
        r.egress = v(&r.egress);
        for p in &mut r.parts {
            p.what = p.what.iter().map(|w| v(w)).collect();
            p.by = p.by.iter().map(loc).collect();
        }
    }
    for e in &mut a.overexposure {
        e.ingress = v(&e.ingress);
        e.egress = v(&e.egress);
        e.by = loc(&e.by);
        e.what = e.what.iter().map(|w| v(w)).collect();
    }
    for u in &mut a.unparsed {
        u.text = v(&u.text);
        u.why = v(&u.why);
    }
    for p in &mut a.partly_read {
        p.at = loc(&p.at);
        p.why = v(&p.why);
    }
    a.notes = a.notes.iter().map(|n| v(n)).collect();
    for f in &mut a.nat {
        f.at = f.at.iter().map(loc).collect();
        f.detail = v(&f.detail);
        f.plan = f.plan.as_deref().map(v);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::visible;

    #[test]
    fn control_characters_are_shown_not_sent() {
        assert_eq!(visible("plain text"), "plain text");
        assert_eq!(visible("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(visible("x\ny\x07"), "x\\ny\\x07");
        assert_eq!(visible("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(visible("abc\u{202e}def"), "abc\\u{202e}def");
    }
}
