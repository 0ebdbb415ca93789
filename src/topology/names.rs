//! The names a topology gives to things, checked against every place they are written to.
//!
//! A name ends up as a file name (`-o DIR`), inside nft and iptables comments, ASA object names
//! and `nameif`s, PowerShell strings run elevated, YAML keys, nginx and haproxy configuration and
//! Linux interface names. Rather than trusting each target to escape perfectly, `check` accepts
//! only names that are inert in all of them; the targets still quote what they write.

use super::file::RawTopology;
use serde_spanned::Spanned;
use std::ops::Range;

/// The longest object name (zones, firewalls, pools, servers, client networks, partners).
pub const MAX_NAME: usize = 63;
/// Linux limits interface names to 15 bytes (IFNAMSIZ - 1).
pub const MAX_INTERFACE: usize = 15;
/// A DNS name is at most 253 characters.
const MAX_HOSTNAME: usize = 253;

/// A name that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadName {
    pub span: Range<usize>,
    pub code: super::Code,
    pub message: String,
    pub help: String,
}

fn safe_chars(name: &str) -> Option<char> {
    name.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
}

/// Why `name` is unusable as an object name, if it is.
pub fn object_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("is empty".into());
    }
    if name.len() > MAX_NAME {
        return Some(format!(
            "is {} bytes long; the limit is {MAX_NAME}",
            name.len()
        ));
    }
    if let Some(c) = safe_chars(name) {
        return Some(format!(
            "contains {}, which is not a letter, digit, `-`, `_` or `.`",
            describe(c)
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Some("must start with a letter or digit".into());
    }
    None
}

/// Why `name` is unusable as a firewall or server interface name, if it is.
pub fn interface_name_problem(name: &str) -> Option<String> {
    if let Some(why) = object_name_problem(name) {
        return Some(why);
    }
    if name.len() > MAX_INTERFACE {
        return Some(format!(
            "is {} bytes long; Linux interface names are at most {MAX_INTERFACE}",
            name.len()
        ));
    }
    // the kernel keeps `all` and `default` for its per-interface settings and refuses them as
    // names; `lo` is the loopback, which forwards nothing
    if matches!(name, "all" | "default" | "lo") {
        return Some(format!(
            "is a name Linux reserves (`{name}`); firewall rules on it would never see forwarded traffic"
        ));
    }
    None
}

/// Why `name` is unusable as a published DNS name (nginx `server_name`, haproxy SNI), if it is.
pub fn hostname_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("is empty".into());
    }
    if name.len() > MAX_HOSTNAME {
        return Some(format!(
            "is {} characters long; DNS names are at most {MAX_HOSTNAME}",
            name.len()
        ));
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Some("has an empty label or one longer than 63 characters".into());
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Some(format!(
                "contains {}; DNS names use letters, digits, `-` and `.`",
                describe(c)
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some("has a label that starts or ends with `-`".into());
        }
    }
    None
}

fn describe(c: char) -> String {
    if c.is_whitespace() {
        "white space".into()
    } else if c.is_control() {
        format!("the control character U+{:04X}", c as u32)
    } else {
        format!("`{c}`")
    }
}

/// Every unusable name in the topology, at its span.
pub fn check(raw: &RawTopology) -> Vec<BadName> {
    let mut out = Vec::new();
    let object_help = "names go into file names, firewall objects and scripts: use letters, digits, `-`, `_` and `.`, starting with a letter or digit, at most 63 bytes";
    let object = |kind: &str, name: &Spanned<String>, out: &mut Vec<BadName>| {
        if let Some(why) = object_name_problem(name.get_ref()) {
            out.push(BadName {
                span: name.span(),
                code: super::Code::BadName,
                message: format!("{kind} name `{}` {why}", shown(name.get_ref())),
                help: object_help.into(),
            });
        }
    };
    if let Some(n) = &raw.name {
        object("topology", n, &mut out);
    }
    for z in &raw.zones {
        object("zone", &z.get_ref().name, &mut out);
    }
    let interface = |owner: &str, name: &Spanned<String>, out: &mut Vec<BadName>| {
        if let Some(why) = interface_name_problem(name.get_ref()) {
            out.push(BadName {
                span: name.span(),
                code: super::Code::BadInterfaceName,
                message: format!(
                    "interface name `{}` of `{owner}` {why}",
                    shown(name.get_ref())
                ),
                help: "interface names become Linux interface names (iptables -i/-o, nft iifname, at most 15 bytes) and ASA nameifs: letters, digits, `-`, `_`, `.`".into(),
            });
        }
    };
    for f in &raw.firewalls {
        let f = f.get_ref();
        object("firewall", &f.name, &mut out);
        for i in &f.interfaces {
            interface(f.name.get_ref(), &i.get_ref().name, &mut out);
        }
        for n in &f.nat {
            if let Some(i) = &n.get_ref().interface {
                interface(f.name.get_ref(), i, &mut out);
            }
        }
    }
    for p in &raw.pools {
        let p = p.get_ref();
        object("pool", &p.name, &mut out);
        for s in &p.servers {
            let s = s.get_ref();
            object("server", &s.name, &mut out);
            for i in &s.interfaces {
                interface(s.name.get_ref(), &i.get_ref().name, &mut out);
            }
        }
        if let Some(published) = &p.published {
            for name in published.get_ref().0.iter() {
                if let Some(why) = hostname_problem(name) {
                    out.push(BadName {
                        span: published.span(),
                        code: super::Code::BadPublishedName,
                        message: format!("published name `{}` {why}", shown(name)),
                        help: "published names are DNS names the reverse proxy serves (nginx server_name, haproxy SNI)".into(),
                    });
                }
            }
        }
    }
    for c in &raw.clients {
        object("client network", &c.get_ref().name, &mut out);
    }
    for p in &raw.partners {
        object("partner", &p.get_ref().name, &mut out);
    }
    out
}

/// The name as it may be shown in a message: control characters made visible, long names cut.
fn shown(name: &str) -> String {
    let mut s: String = name
        .chars()
        .take(80)
        .flat_map(char::escape_default)
        .collect();
    if name.chars().count() > 80 {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_examples_use_are_accepted() {
        for n in [
            "fw-external",
            "edge01",
            "dmz",
            "corp.lan",
            "fe_pool1",
            "1st",
        ] {
            assert_eq!(object_name_problem(n), None, "{n}");
        }
        for n in ["external", "eth0", "outside", "vlan.100"] {
            assert_eq!(interface_name_problem(n), None, "{n}");
        }
        assert_eq!(hostname_problem("webext.contoso.com"), None);
    }

    #[test]
    fn names_that_break_a_target_are_refused() {
        for n in [
            "edge01$(Stop-Computer)\" x",
            "../../escaped-owa",
            ".hidden",
            "a b",
            "x'y",
            "x;y",
            "x\ny",
            "",
            &"a".repeat(64),
        ] {
            assert!(object_name_problem(n).is_some(), "{n:?}");
        }
        for n in [
            "outside interface to ISP",
            "a-very-long-interface",
            "x/y",
            "..",
        ] {
            assert!(interface_name_problem(n).is_some(), "{n:?}");
        }
        for n in ["a..b", "-a.com", "a b.com", "x;y.com", "a.com}"] {
            assert!(hostname_problem(n).is_some(), "{n:?}");
        }
    }
}
