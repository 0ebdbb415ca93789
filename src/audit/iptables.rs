//! `iptables-save` / `ip6tables-save` output (with `ipset save` lines before it), read the way
//! `ipset restore` and `iptables-restore` apply it: commands in file order, each `*table` block
//! replacing the table. The raw, mangle, filter and security chains a forwarded packet passes are
//! the entries; `*nat` gives the translations. Matches portplan cannot interpret (`-m limit`,
//! `-m string`, `--sport`, a set not in the file) make their rule uncertain; a file
//! iptables-restore refuses, or a line not interpreted, makes every verdict uncertain.

use super::model::*;
use super::space::{PROTO_ALL, PROTO_OTHER, PROTO_TCP, PROTO_UDP};
use crate::plan::Family;
use std::collections::HashMap;

/// Splits a line into words, keeping double-quoted text (with `\"` escapes) as one word.
pub fn words(line: &str) -> Result<Vec<String>, String> {
    if !line.contains(['"', '\\']) {
        return Ok(line.split_whitespace().map(String::from).collect());
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    let mut have = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_quote => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '"' => {
                in_quote = !in_quote;
                have = true;
            }
            c if c.is_whitespace() && !in_quote => {
                if have || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    have = false;
                }
            }
            c => cur.push(c),
        }
    }
    if in_quote {
        return Err("unterminated quote".into());
    }
    if have || !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

fn parse_addrs(text: &str, set: &mut AddrSet) -> Result<(), String> {
    for part in text.split(',') {
        let net: ipnet::IpNet = match part.parse::<ipnet::IpNet>() {
            Ok(n) => n.trunc(),
            Err(_) => match part.parse::<std::net::IpAddr>() {
                Ok(ip) => ip.into(),
                Err(_) => return Err(format!("`{part}` is not an address or network")),
            },
        };
        set.push_net(&net);
    }
    Ok(())
}

fn parse_range(text: &str, set: &mut AddrSet) -> Result<(), String> {
    let (a, b) = text
        .split_once('-')
        .ok_or_else(|| format!("`{text}` is not an address range"))?;
    let a: std::net::IpAddr = a.parse().map_err(|_| format!("`{a}` is not an address"))?;
    let b: std::net::IpAddr = b.parse().map_err(|_| format!("`{b}` is not an address"))?;
    if a.is_ipv4() != b.is_ipv4() || a > b {
        return Err(format!("`{text}` is not a usable range"));
    }
    set.push_range(a, b);
    Ok(())
}

pub fn parse_port(text: &str) -> Result<(u16, u16), String> {
    let num = |t: &str, default: u16| -> Result<u16, String> {
        if t.is_empty() {
            return Ok(default);
        }
        t.parse::<u16>().map_err(|_| format!("`{t}` is not a port"))
    };
    let (a, b) = match text.split_once(':') {
        Some((a, b)) => (num(a, 0)?, num(b, u16::MAX)?),
        None => {
            let p = num(text, 0)?;
            (p, p)
        }
    };
    if a > b {
        return Err(format!("port range `{text}` runs backwards"));
    }
    Ok((a, b))
}

pub fn proto_bits(name: &str) -> u8 {
    match name.to_ascii_lowercase().as_str() {
        "tcp" | "6" => PROTO_TCP,
        "udp" | "17" => PROTO_UDP,
        "all" | "0" | "ip" => PROTO_ALL,
        _ => PROTO_OTHER,
    }
}

/// Whether a comma-separated state list admits a new connection.
fn admits_new(list: &str) -> bool {
    list.split(',').any(|s| s.eq_ignore_ascii_case("NEW"))
}

/// Whether a comma-separated state list admits a packet of an established connection.
fn admits_established(list: &str) -> bool {
    list.split(',')
        .any(|s| s.eq_ignore_ascii_case("ESTABLISHED"))
}

/// Whether a comma-separated state list names this state.
fn admits_state(list: &str, state: &str) -> bool {
    list.split(',').any(|s| s.eq_ignore_ascii_case(state))
}

/// `SYN,ACK`, `ALL`, `NONE` as flag bits.
fn tcp_flag_bits(list: &str) -> Result<u8, String> {
    use super::model::tcp::*;
    let mut bits = 0u8;
    for f in list.split(',') {
        bits |= match f.to_ascii_uppercase().as_str() {
            "FIN" => FIN,
            "SYN" => SYN,
            "RST" => RST,
            "PSH" => PSH,
            "ACK" => ACK,
            "URG" => URG,
            "ECE" => ECE,
            "CWR" => CWR,
            "ALL" => 0xff,
            "NONE" => 0,
            other => return Err(format!("TCP flag `{other}`")),
        };
    }
    Ok(bits)
}

const CONTINUE_TARGETS: &[&str] = &[
    "LOG",
    "NFLOG",
    "ULOG",
    "MARK",
    "CONNMARK",
    "CLASSIFY",
    "TRACE",
    "AUDIT",
    "DSCP",
    "TOS",
    "TTL",
    "HL",
    "SECMARK",
    "CONNSECMARK",
    "NFQUEUE_BYPASS",
];

/// What a refusal of iptables-restore is said with. It stops at such a line: tables committed
/// before it are loaded, the rest is not, and the kernel keeps whatever it had for those; so no
/// verdict about the file can be definite.
const REFUSES: &str = "iptables-restore refuses the line and stops loading";

/// Targets iptables has extensions for, besides the verdicts and [`CONTINUE_TARGETS`]; a `-j` of
/// any other name that is not a chain of the table makes iptables-restore refuse the file.
const KNOWN_TARGETS: &[&str] = &[
    "CHECKSUM",
    "CLUSTERIP",
    "CT",
    "DNAT",
    "DNPT",
    "ECN",
    "HMARK",
    "IDLETIMER",
    "LED",
    "MASQUERADE",
    "NETMAP",
    "NFQUEUE",
    "NOTRACK",
    "QUEUE",
    "RATEEST",
    "REDIRECT",
    "SET",
    "SNAT",
    "SNPT",
    "SYNPROXY",
    "TCPMSS",
    "TCPOPTSTRIP",
    "TEE",
    "TPROXY",
];

/// The protocols whose match module brings `--dport`/`--sport` (`-p tcp`, `-p 17`, `-m udp`),
/// by their name.
fn port_protocol(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_lowercase().as_str() {
        "tcp" | "6" => "tcp",
        "udp" | "17" => "udp",
        "sctp" | "132" => "sctp",
        "dccp" | "33" => "dccp",
        "udplite" | "136" => "udplite",
        _ => return None,
    })
}

/// The value after `key` in an ipset option list (`timeout 300`).
fn option_value<'a>(words: &[&'a str], key: &str) -> Option<&'a str> {
    words
        .iter()
        .position(|w| *w == key)
        .and_then(|i| words.get(i + 1).copied())
}

/// The members of a hash:net set with `nomatch` entries: the kernel takes the most specific
/// entry that holds an address, so entries are applied from the widest prefix to the narrowest,
/// each adding its addresses or (nomatch) taking them away.
fn paint_nomatch(list: &mut [(u8, AddrSet, bool)]) -> AddrSet {
    list.sort_by_key(|(level, _, nomatch)| (*level, *nomatch));
    let mut out = AddrSet::default();
    let mut i = 0;
    while i < list.len() {
        let level = list[i].0;
        let mut add = AddrSet::default();
        let mut take = AddrSet::default();
        while i < list.len() && list[i].0 == level {
            let (_, set, nomatch) = &list[i];
            let into = if *nomatch { &mut take } else { &mut add };
            into.v4.extend_from_slice(&set.v4);
            into.v6.extend_from_slice(&set.v6);
            i += 1;
        }
        for (cur, add, take, full) in [
            (&mut out.v4, add.v4, take.v4, (0, u128::from(u32::MAX))),
            (&mut out.v6, add.v6, take.v6, (0, u128::MAX)),
        ] {
            cur.extend(add);
            let merged = super::space::normalize(std::mem::take(cur));
            *cur = if take.is_empty() {
                merged
            } else {
                let keep = complement(&super::space::normalize(take), full);
                super::space::intersect_sorted(&merged, &keep)
            };
        }
    }
    out
}

/// ipset definitions (`ipset save` lines) found in the same input.
/// Each set is built once and shared by every rule that names it.
type Sets = std::collections::HashMap<String, SharedSet>;

/// The intervals of an address match within one family's whole range (negation applied),
/// sorted and disjoint; a shared set's are computed once for all the rules that use it.
fn addr_intervals(m: &AddrMatch, family: Family) -> super::space::Intervals {
    if m.negated {
        m.set.complement(family).clone()
    } else {
        m.set.normalized(family).clone()
    }
}

/// `a ∩ b` for inclusive intervals (each list may overlap itself).
fn intersect_intervals(a: &[(u128, u128)], b: &[(u128, u128)]) -> Vec<(u128, u128)> {
    use super::space::{intersect_sorted, normalize};
    intersect_sorted(&normalize(a.to_vec()), &normalize(b.to_vec()))
}

/// Two address matches in one rule must both hold (`-s A -m iprange --src-range B`).
fn and_addr(old: Option<AddrMatch>, new: AddrMatch, family: Family) -> AddrMatch {
    let Some(old) = old else { return new };
    let both = super::space::intersect_sorted(
        &addr_intervals(&old, family),
        &addr_intervals(&new, family),
    );
    let mut set = AddrSet::default();
    match family {
        Family::V4 => set.v4 = both,
        Family::V6 => set.v6 = both,
    }
    AddrMatch {
        set: set.into(),
        negated: false,
    }
}

/// Two port matches in one rule must both hold (`--dport 5061 -m multiport --dports 443,5061`).
fn and_ports(old: Option<PortMatch>, new: PortMatch) -> PortMatch {
    let Some(old) = old else { return new };
    let full = (0u128, u128::from(u16::MAX));
    let as_wide = |m: &PortMatch| {
        let r: Vec<(u128, u128)> = m
            .ranges
            .iter()
            .map(|(a, b)| (u128::from(*a), u128::from(*b)))
            .collect();
        if m.negated { complement(&r, full) } else { r }
    };
    let both = intersect_intervals(&as_wide(&old), &as_wide(&new));
    PortMatch {
        ranges: both
            .into_iter()
            .map(|(a, b)| (a as u16, b as u16))
            .collect(),
        negated: false,
    }
}

fn parse_rule(
    words: &[String],
    at: Location,
    family: Family,
    chains: &[String],
    sets: &Sets,
) -> Result<(String, Rule), String> {
    parse_rule_in(
        words,
        at,
        family,
        chains,
        sets,
        &Default::default(),
        &Default::default(),
    )
}

/// [`parse_rule`], knowing which ipsets have entries that time out.
fn parse_rule_in(
    words: &[String],
    at: Location,
    family: Family,
    chains: &[String],
    sets: &Sets,
    expiring: &std::collections::HashSet<String>,
    unread: &HashMap<String, String>,
) -> Result<(String, Rule), String> {
    let mut rule = Rule::new(at, Action::Continue);
    let mut chain = String::new();
    let mut negate = false;
    let mut uncertain: Vec<String> = Vec::new();
    // options of a match module portplan does not model belong to it, not to the rule
    let mut in_unknown_module = false;
    // iptables knows `--dport` only once a tcp/udp match is loaded (`-p tcp` loads it, negated
    // or not), `--dports` only with multiport; `-m tcp` and multiport want `-p` of the protocol
    let mut port_module = false;
    let mut multiport = false;
    let mut tcp_loaded = false;
    let mut protocol: Option<(String, bool)> = None;
    let mut i = 0;
    let next = |i: &mut usize| -> Result<String, String> {
        *i += 1;
        words
            .get(*i)
            .cloned()
            .ok_or_else(|| format!("`{}` needs a value", words[*i - 1]))
    };
    while i < words.len() {
        let w = words[i].as_str();
        match w {
            "!" => {
                negate = true;
                i += 1;
                continue;
            }
            "-A" | "--append" => chain = next(&mut i)?,
            "-s" | "--source" | "--src" | "-d" | "--destination" | "--dst" => {
                let mut value = next(&mut i)?;
                if value == "!" {
                    negate = true;
                    value = next(&mut i)?;
                }
                let mut set = AddrSet::default();
                parse_addrs(&value, &mut set)?;
                same_family(&set, family)?;
                let m = AddrMatch {
                    set: set.into(),
                    negated: negate,
                };
                if w.starts_with("-s") || w.starts_with("--s") {
                    rule.src = Some(and_addr(rule.src.take(), m, family))
                } else {
                    rule.dst = Some(and_addr(rule.dst.take(), m, family))
                }
            }
            "-p" | "--protocol" => {
                let value = next(&mut i)?;
                // a protocol match loads that protocol's port options, unless negated
                let name = port_protocol(&value);
                port_module |= name.is_some();
                tcp_loaded |= name == Some("tcp");
                if negate && name.is_some() {
                    // iptables-nft loads the port match for `! -p tcp` and then matches the
                    // ports of every other protocol; legacy iptables refuses the rule
                    uncertain.push(format!(
                        "port match after `! -p {value}` (iptables-nft and legacy differ)"
                    ));
                }
                protocol = name.map(|n| (n.to_string(), negate));
                rule.proto = Some((proto_bits(&value), negate));
            }
            "-i" | "--in-interface" => {
                rule.iif = Some(IfaceMatch {
                    name: next(&mut i)?,
                    negated: negate,
                })
            }
            "-o" | "--out-interface" => {
                rule.oif = Some(IfaceMatch {
                    name: next(&mut i)?,
                    negated: negate,
                })
            }
            "-m" | "--match" => {
                let module = next(&mut i)?;
                if let Some(name) =
                    port_protocol(&module).filter(|_| module != "6" && module != "17")
                {
                    if protocol.as_ref().is_none_or(|(p, neg)| p != name || *neg) {
                        return Err(format!(
                            "`-m {module}` without `-p {name}` before it: {REFUSES}"
                        ));
                    }
                    port_module = true;
                    tcp_loaded |= name == "tcp";
                }
                if module == "multiport" {
                    if protocol.as_ref().is_none_or(|(_, neg)| *neg) {
                        return Err(format!(
                            "`-m multiport` without `-p tcp`, `-p udp` (or sctp, dccp, udplite) before it: {REFUSES}"
                        ));
                    }
                    multiport = true;
                }
                match module.as_str() {
                    "tcp" | "udp" | "multiport" | "iprange" | "conntrack" | "state" | "comment"
                    | "set" => in_unknown_module = false,
                    other => {
                        uncertain.push(format!("match `-m {other}`"));
                        in_unknown_module = true;
                    }
                }
            }
            "--dport" | "--destination-port" | "--sport" | "--source-port" if !port_module => {
                return Err(format!(
                    "`{w}` without `-p tcp` or `-p udp` before it: {REFUSES}"
                ));
            }
            "--dports" | "--destination-ports" | "--sports" | "--source-ports" | "--ports"
                if !multiport =>
            {
                return Err(format!("`{w}` without `-m multiport` before it: {REFUSES}"));
            }
            "--dport" | "--destination-port" => {
                let (a, b) = parse_port(&next(&mut i)?)?;
                let m = PortMatch {
                    ranges: vec![(a, b)],
                    negated: negate,
                };
                rule.dport = Some(and_ports(rule.dport.take(), m));
            }
            "--dports" | "--destination-ports" => {
                let list = next(&mut i)?;
                let ranges = list
                    .split(',')
                    .map(parse_port)
                    .collect::<Result<Vec<_>, _>>()?;
                let m = PortMatch {
                    ranges,
                    negated: negate,
                };
                rule.dport = Some(and_ports(rule.dport.take(), m));
            }
            "--sport" | "--source-port" | "--sports" | "--source-ports" => {
                let value = next(&mut i)?;
                if value != "0:65535" && value != "1:65535" {
                    uncertain.push(format!("source port match `{w} {value}`"));
                }
            }
            "--ports" => {
                let value = next(&mut i)?;
                uncertain.push(format!("`--ports {value}` matches source or destination"));
            }
            "--src-range" | "--dst-range" => {
                let mut set = AddrSet::default();
                parse_range(&next(&mut i)?, &mut set)?;
                same_family(&set, family)?;
                let m = AddrMatch {
                    set: set.into(),
                    negated: negate,
                };
                if w == "--src-range" {
                    rule.src = Some(and_addr(rule.src.take(), m, family))
                } else {
                    rule.dst = Some(and_addr(rule.dst.take(), m, family))
                }
            }
            "--ctstate" | "--state" => {
                let list = next(&mut i)?;
                let new = admits_new(&list) != negate;
                rule.new_connections = Some(rule.new_connections.unwrap_or(true) && new);
                let est = admits_established(&list) != negate;
                rule.established = Some(rule.established.unwrap_or(true) && est);
                let invalid = admits_state(&list, "INVALID") != negate;
                rule.ct_invalid = Some(rule.ct_invalid.unwrap_or(true) && invalid);
            }
            "--comment" => {
                next(&mut i)?;
            }
            "--syn" | "--tcp-flags" if !tcp_loaded => {
                return Err(format!("`{w}` without `-p tcp` before it: {REFUSES}"));
            }
            "--syn" | "--tcp-flags" => {
                use super::model::tcp::{ACK, FIN, RST, SYN};
                let flags = if w == "--tcp-flags" {
                    let mask = tcp_flag_bits(&next(&mut i)?)?;
                    let cmp = tcp_flag_bits(&next(&mut i)?)?;
                    (mask, cmp & mask, negate)
                } else {
                    (FIN | SYN | RST | ACK, SYN, negate)
                };
                if rule.tcp_flags.is_some_and(|f| f != flags) {
                    uncertain.push("two TCP flag matches".into());
                } else {
                    rule.tcp_flags = Some(flags);
                }
            }
            "-c" | "--set-counters" => {
                next(&mut i)?;
                next(&mut i)?;
            }
            "-j" | "--jump" | "-g" | "--goto" => {
                let target = next(&mut i)?;
                rule.action = match target.as_str() {
                    "ACCEPT" => Action::Accept,
                    "DROP" | "REJECT" => Action::Drop,
                    "RETURN" => Action::Return,
                    t if CONTINUE_TARGETS.contains(&t) => Action::Continue,
                    // `chains` is sorted (see `parse`)
                    t if chains.binary_search_by(|c| c.as_str().cmp(t)).is_ok() => {
                        if w == "-g" || w == "--goto" {
                            Action::Goto(t.into())
                        } else {
                            Action::Jump(t.into())
                        }
                    }
                    t if KNOWN_TARGETS.contains(&t) => {
                        uncertain.push(format!("target `{t}`"));
                        Action::Jump(t.into())
                    }
                    t => {
                        return Err(format!(
                            "target `{t}` is neither a chain of this table nor a target iptables knows: {REFUSES}"
                        ));
                    }
                };
                // whatever follows belongs to the target (e.g. --reject-with, --log-prefix)
                break;
            }
            "--match-set" => {
                let name = next(&mut i)?;
                let dir = next(&mut i)?;
                if expiring.contains(&name) {
                    uncertain.push(format!("ipset `{name}` has entries that time out"));
                }
                // a set whose type or members were not read matches what it could: anything
                if let Some(why) = unread.get(&name) {
                    uncertain.push(format!("ipset `{name}`: {why}"));
                    continue;
                }
                match (sets.get(&name), dir.as_str()) {
                    (Some(set), "src") => {
                        let m = AddrMatch {
                            set: set.clone(),
                            negated: negate,
                        };
                        rule.src = Some(and_addr(rule.src.take(), m, family))
                    }
                    (Some(set), "dst") => {
                        let m = AddrMatch {
                            set: set.clone(),
                            negated: negate,
                        };
                        rule.dst = Some(and_addr(rule.dst.take(), m, family))
                    }
                    (Some(_), other) => uncertain.push(format!("ipset direction `{other}`")),
                    (None, _) => {
                        uncertain.push(format!("ipset `{name}` (not defined in this input)"))
                    }
                }
            }
            "-f" | "--fragment" => uncertain.push("fragment match".into()),
            other if other.starts_with('[') => {} // [packets:bytes] counters
            _ if in_unknown_module => {}
            other => uncertain.push(format!("option `{other}`")),
        }
        negate = false;
        i += 1;
    }
    if chain.is_empty() {
        return Err("rule without `-A CHAIN`".into());
    }
    rule.family = Some(family);
    if !uncertain.is_empty() {
        rule.uncertain = Some(uncertain.join(", "));
    }
    Ok((chain, rule))
}

/// iptables-restore refuses an address of the other family; so does portplan, with the line.
fn same_family(set: &AddrSet, family: Family) -> Result<(), String> {
    let wrong = match family {
        Family::V4 => !set.v6.is_empty(),
        Family::V6 => !set.v4.is_empty(),
    };
    if wrong {
        Err(format!(
            "an {} address in an {} file (iptables-restore refuses it)",
            if family == Family::V4 { "IPv6" } else { "IPv4" },
            if family == Family::V4 {
                "iptables"
            } else {
                "ip6tables"
            }
        ))
    } else {
        Ok(())
    }
}

/// Tables whose chains can drop a forwarded packet (nat translates; it is read elsewhere).
const EVALUATED_TABLES: &[&str] = &["filter", "raw", "mangle", "security"];

/// The built-in chains a forwarded packet passes, in netfilter order (security FORWARD runs
/// right after filter FORWARD, at priority 50).
const FORWARD_PATH: [(&str, &str); 6] = [
    ("raw", "PREROUTING"),
    ("mangle", "PREROUTING"),
    ("mangle", "FORWARD"),
    ("filter", "FORWARD"),
    ("security", "FORWARD"),
    ("mangle", "POSTROUTING"),
];

/// Chains of the filter table keep their names; others are prefixed with their table.
fn qualified(table: &str, chain: &str) -> String {
    if table == "filter" {
        chain.to_string()
    } else {
        format!("{table}/{chain}")
    }
}

/// `iptables-save -c` puts `[packets:bytes]` before each rule.
fn strip_counters(line: &str) -> &str {
    match line.strip_prefix('[').and_then(|r| r.split_once(']')) {
        Some((counts, rest)) if counts.chars().all(|c| c.is_ascii_digit() || c == ':') => {
            rest.trim_start()
        }
        _ => line,
    }
}

/// The built-in chains of each table iptables knows; `*` of any other name is refused.
fn builtin_chains(table: &str) -> Option<&'static [&'static str]> {
    Some(match table {
        "filter" | "security" => &["INPUT", "FORWARD", "OUTPUT"],
        "nat" => &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
        "mangle" => &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
        "raw" => &["PREROUTING", "OUTPUT"],
        _ => return None,
    })
}

/// A rule's words in a form two spellings of one rule share, for `-D CHAIN rule-spec`: without
/// the command and chain, counters, or the `-m tcp`/`-m udp` that `-p tcp`/`-p udp` loads anyway,
/// and with host addresses given their prefix length.
fn rule_key(spec: &[String], family: Family) -> Vec<String> {
    let host = if family == Family::V4 { "/32" } else { "/128" };
    let mut out: Vec<String> = Vec::new();
    let mut proto = String::new();
    let mut i = 0;
    while i < spec.len() {
        let w = spec[i].as_str();
        match w {
            "-c" | "--set-counters" => i += 2,
            _ if w.starts_with('[') && w.ends_with(']') => {}
            "-m" | "--match" if spec.get(i + 1).is_some_and(|m| *m == proto) => i += 1,
            "-p" | "--protocol" => {
                proto = spec.get(i + 1).cloned().unwrap_or_default();
                out.push("-p".into());
            }
            "-s" | "--source" | "--src" | "-d" | "--destination" | "--dst" => {
                out.push(
                    if w.starts_with("-s") || w.starts_with("--s") {
                        "-s"
                    } else {
                        "-d"
                    }
                    .into(),
                );
                if let Some(v) = spec.get(i + 1) {
                    out.push(if v.contains('/') || v == "!" {
                        v.clone()
                    } else {
                        format!("{v}{host}")
                    });
                    i += 1;
                }
            }
            _ => out.push(w.to_string()),
        }
        i += 1;
    }
    out
}

/// The [`rule_key`] of a rule added by `-A` or `-I`, from its line (kept in its location), so the
/// words of every rule need not be held for a `-D rule-spec` that may never come.
fn stored_key(rule: &Rule, family: Family) -> Option<Vec<String>> {
    let w = words(&rule.at.text).ok()?;
    let skip = match w.first().map(String::as_str) {
        Some("-I" | "--insert") if w.get(2).is_some_and(|n| n.parse::<usize>().is_ok()) => 3,
        Some("-A" | "--append" | "-I" | "--insert") => 2,
        _ => return None,
    };
    Some(rule_key(w.get(skip..)?, family))
}

/// Parses `iptables-save` (or `ip6tables-save` with `family` IPv6), applying the restore
/// commands (`-A`, `-I`, `-D`, `-F`, `-P`, `-N`, `-X`, `-Z`) in file order as iptables-restore
/// does, each `*table` starting that table afresh. A file iptables-restore refuses, or a line
/// portplan cannot interpret, leaves every verdict uncertain.
pub fn parse(text: &str, family: Family) -> Config {
    let mut chains: Vec<Chain> = Vec::new();
    // per chain (parallel to `chains`): its table
    let mut chain_table: Vec<String> = Vec::new();
    let mut unparsed = Vec::new();
    let mut notes = Vec::new();
    let mut table = String::new();
    // (table, built-in chain) -> its policy, for the chains a forwarded packet passes
    let mut policies: HashMap<(String, String), (bool, Location)> = HashMap::new();
    // nat chain -> one slot per rule (the translations it makes, and its words)
    let mut nat_chains: NatChains = HashMap::new();
    let mut nat_order: Vec<String> = Vec::new();
    // chain names per table first, so `-j NAME` can tell a user chain from an unknown target
    let mut names: HashMap<String, Vec<String>> = HashMap::new();
    let mut current_table = String::new();
    // ipset state, line by line: the set's type and its entries in order
    let mut set_kind: HashMap<String, String> = HashMap::new();
    let mut members: HashMap<String, Vec<SetEntry>> = HashMap::new();
    let mut set_lines: std::collections::HashSet<usize> = std::collections::HashSet::new();
    let mut default_timeout: std::collections::HashSet<String> = Default::default();
    // sets portplan cannot read as address sets: their type (bitmap:port, list:set, hash:mac,
    // two-dimension types), a member it could not parse, or a command it does not follow
    let mut unread: HashMap<String, String> = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let l = strip_counters(line.trim());
        // rules are most of the file: skip them cheaply in this first pass
        if l.starts_with('-') {
            let w: Vec<&str> = l.split_whitespace().collect();
            if let ["-N" | "--new-chain", name, ..] = w.as_slice() {
                names
                    .entry(current_table.clone())
                    .or_default()
                    .push((*name).to_string());
            }
            continue;
        }
        let w: Vec<&str> = l.split_whitespace().collect();
        let refuse = |why: String, unparsed: &mut Vec<Unparsed>| {
            unparsed.push(Unparsed {
                line: n + 1,
                text: l.into(),
                why,
            })
        };
        match w.as_slice() {
            ["create", name, rest @ ..] => {
                let kind = rest.first().copied().unwrap_or("");
                set_kind.insert((*name).to_string(), kind.to_string());
                members.entry((*name).to_string()).or_default();
                if !matches!(kind, "hash:ip" | "hash:net" | "bitmap:ip") {
                    unread.insert(
                        (*name).to_string(),
                        format!("type `{kind}` is not read as a set of addresses"),
                    );
                }
                if option_value(rest, "timeout").is_some_and(|t| t != "0") {
                    default_timeout.insert((*name).to_string());
                }
                set_lines.insert(n + 1);
            }
            ["add", name, member, rest @ ..] => {
                match set_entry(member, family) {
                    Some(mut entry) => {
                        set_lines.insert(n + 1);
                        entry.expires = match option_value(rest, "timeout") {
                            Some(t) => t != "0",
                            None => default_timeout.contains(*name),
                        };
                        // hash:net: the most specific entry holding an address decides, and a
                        // `nomatch` entry says "not in the set"
                        entry.nomatch = rest.contains(&"nomatch");
                        members.entry((*name).to_string()).or_default().push(entry);
                    }
                    None => {
                        set_lines.insert(n + 1);
                        unread
                            .entry((*name).to_string())
                            .or_insert_with(|| format!("member `{member}` was not read"));
                    }
                }
            }
            ["del", name, member, ..] => {
                set_lines.insert(n + 1);
                let by_address = set_kind
                    .get(*name)
                    .is_some_and(|k| k == "hash:ip" || k == "bitmap:ip");
                let (Some(list), Some(gone)) = (members.get_mut(*name), set_entry(member, family))
                else {
                    if !unread.contains_key(*name) {
                        refuse(
                            format!(
                                "`del` from a set or of a member portplan did not read: {SET_REFUSES}"
                            ),
                            &mut unparsed,
                        );
                    }
                    continue;
                };
                if by_address {
                    // hash:ip holds single addresses: the del takes each of them away
                    let held: Vec<(u128, u128)> = list
                        .iter()
                        .flat_map(|e| e.addrs.v4.iter().chain(&e.addrs.v6).copied())
                        .collect();
                    let want: Vec<(u128, u128)> = gone
                        .addrs
                        .v4
                        .iter()
                        .chain(&gone.addrs.v6)
                        .copied()
                        .collect();
                    let want = super::space::normalize(want);
                    if intersect_intervals(&held, &want) != want {
                        refuse(
                            format!(
                                "`del` of an address not in set `{name}`: {SET_REFUSES} (with -exist, ignores it)"
                            ),
                            &mut unparsed,
                        );
                        continue;
                    }
                    for e in list.iter_mut() {
                        for (cur, take, full) in [
                            (&mut e.addrs.v4, &gone.addrs.v4, (0, u128::from(u32::MAX))),
                            (&mut e.addrs.v6, &gone.addrs.v6, (0, u128::MAX)),
                        ] {
                            if !take.is_empty() {
                                let keep = complement(&super::space::normalize(take.clone()), full);
                                *cur = intersect_intervals(cur, &keep);
                            }
                        }
                    }
                } else {
                    // hash:net holds networks: the del removes the one entry with that network
                    match list.iter().position(|e| e.key == gone.key) {
                        Some(at) => {
                            list.remove(at);
                        }
                        None => refuse(
                            format!(
                                "`del` of an entry not in set `{name}`: {SET_REFUSES} (with -exist, ignores it)"
                            ),
                            &mut unparsed,
                        ),
                    }
                }
            }
            ["flush"] => {
                set_lines.insert(n + 1);
                members.values_mut().for_each(Vec::clear);
            }
            ["flush", name] => {
                set_lines.insert(n + 1);
                match members.get_mut(*name) {
                    Some(list) => list.clear(),
                    None => refuse(
                        format!("`flush` of set `{name}`, which does not exist: {SET_REFUSES}"),
                        &mut unparsed,
                    ),
                }
            }
            ["destroy", named @ ..] | ["swap", named @ ..] | ["rename", named @ ..] => {
                set_lines.insert(n + 1);
                let all: Vec<String> = if named.is_empty() {
                    members.keys().cloned().collect()
                } else {
                    named.iter().map(|s| s.to_string()).collect()
                };
                for name in all {
                    unread.insert(name, format!("`{}` of ipsets is not followed", w[0]));
                }
            }
            _ => {}
        }
        if let Some(t) = l.strip_prefix('*') {
            current_table = t.trim().to_string();
        } else if let Some(decl) = l.strip_prefix(':')
            && let Some(name) = decl.split_whitespace().next()
        {
            names
                .entry(current_table.clone())
                .or_default()
                .push(name.to_string());
        }
    }
    let mut expiring: std::collections::HashSet<String> = Default::default();
    let sets: Sets = members
        .into_iter()
        .map(|(name, mut list)| {
            if list.iter().any(|e| e.expires) {
                expiring.insert(name.clone());
            }
            let set = if list.iter().any(|e| e.nomatch) {
                let mut levels: Vec<(u8, AddrSet, bool)> = list
                    .drain(..)
                    .map(|e| (e.level, e.addrs, e.nomatch))
                    .collect();
                paint_nomatch(&mut levels)
            } else {
                let mut all = AddrSet::default();
                for e in list {
                    all.v4.extend(e.addrs.v4);
                    all.v6.extend(e.addrs.v6);
                }
                all
            };
            (name, SharedSet::new(set))
        })
        .collect();
    // sorted, so a target can be told a user chain by binary search
    for list in names.values_mut() {
        list.sort_unstable();
        list.dedup();
    }
    // chain name -> position in `chains`
    let mut chain_at: HashMap<String, usize> = HashMap::new();
    let no_names = Vec::new();
    // whether the current `*table` block has had its COMMIT, and where it began
    let mut open: Option<(usize, String)> = None;
    // whether this table block has had a `-P` (see `-Z`)
    let mut policy_set = false;
    let refused = |line: usize, l: &str, why: String| Unparsed {
        line,
        text: l.into(),
        why,
    };
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let l = strip_counters(raw.trim());
        if l.is_empty() || l.starts_with('#') || set_lines.contains(&line) {
            continue;
        }
        if let Some(t) = l.strip_prefix('*') {
            if let Some((at, text)) = open.take() {
                unparsed.push(refused(
                    at,
                    &text,
                    format!("the table has no COMMIT before line {line}: {REFUSES}"),
                ));
            }
            table = t.trim().to_string();
            open = Some((line, l.to_string()));
            if builtin_chains(&table).is_none() {
                unparsed.push(refused(
                    line,
                    l,
                    format!("no table `{table}` in iptables: {REFUSES}"),
                ));
            } else if !EVALUATED_TABLES.contains(&table.as_str()) && table != "nat" {
                notes.push(format!(
                    "table `{table}` (line {line}) does not filter forwarding and was not evaluated"
                ));
            }
            // without --noflush each `*table` replaces what the file said of that table before;
            // the built-in chains' policies start over too (iptables-nft resets them to ACCEPT,
            // legacy iptables keeps the old ones: only a policy this block declares is known)
            let mut keep = Vec::new();
            for (i, c) in std::mem::take(&mut chains).into_iter().enumerate() {
                if chain_table[i] != table {
                    keep.push((c, chain_table[i].clone()));
                }
            }
            chain_at.clear();
            chain_table.clear();
            for (c, t) in keep {
                chain_at.insert(c.name.clone(), chains.len());
                chains.push(c);
                chain_table.push(t);
            }
            policies.retain(|(t, _), _| *t != table);
            policy_set = false;
            if table == "nat" {
                nat_chains.clear();
                nat_order.clear();
            }
            continue;
        }
        if l == "COMMIT" {
            if open.take().is_none() {
                unparsed.push(refused(
                    line,
                    l,
                    format!("COMMIT outside any `*table`: {REFUSES}"),
                ));
            }
            continue;
        }
        if open.is_none() {
            unparsed.push(Unparsed {
                line,
                text: l.into(),
                why: format!("outside any `*table`: {REFUSES}"),
            });
            continue;
        }
        let Some(builtins) = builtin_chains(&table) else {
            continue;
        };
        let table_names = names.get(&table).unwrap_or(&no_names);
        if table == "nat" {
            nat_command(
                l,
                line,
                family,
                table_names,
                builtins,
                &sets,
                (&mut nat_chains, &mut nat_order),
                &mut unparsed,
            );
            continue;
        }
        if !EVALUATED_TABLES.contains(&table.as_str()) {
            continue;
        }
        let add_chain = |name: String,
                         chains: &mut Vec<Chain>,
                         chain_at: &mut HashMap<String, usize>,
                         chain_table: &mut Vec<String>|
         -> bool {
            if chain_at.contains_key(&name) {
                return false;
            }
            chain_at.insert(name.clone(), chains.len());
            chains.push(Chain {
                name,
                rules: Vec::new(),
            });
            chain_table.push(table.clone());
            true
        };
        if let Some(decl) = l.strip_prefix(':') {
            let parts: Vec<&str> = decl.split_whitespace().collect();
            match parts.as_slice() {
                [name, policy, ..] => {
                    let builtin = builtins.contains(name);
                    match (*policy, builtin) {
                        ("-", false) => {}
                        ("ACCEPT" | "DROP", true) => {
                            policies.insert(
                                (table.clone(), (*name).to_string()),
                                (*policy == "ACCEPT", Location::line(line, l)),
                            );
                        }
                        _ => unparsed.push(refused(
                            line,
                            l,
                            format!("policy `{policy}` for chain `{name}`: {REFUSES}"),
                        )),
                    }
                    add_chain(
                        qualified(&table, name),
                        &mut chains,
                        &mut chain_at,
                        &mut chain_table,
                    );
                }
                _ => unparsed.push(Unparsed {
                    line,
                    text: l.into(),
                    why: format!("chain declaration without a policy: {REFUSES}"),
                }),
            }
            continue;
        }
        let w = match words(l) {
            Ok(w) => w,
            Err(why) => {
                unparsed.push(refused(line, l, why));
                continue;
            }
        };
        let cmd = w.first().map(String::as_str).unwrap_or("");
        let chain_name = w.get(1).cloned().unwrap_or_default();
        let q = qualified(&table, &chain_name);
        let at_chain = chain_at.get(&q).copied();
        let refuse = |why: String| refused(line, l, why);
        // (position to insert at, rule words as `-A CHAIN spec`) for the commands that add a rule
        let adding: Option<(Option<usize>, Vec<String>)> = match cmd {
            "-A" | "--append" => Some((None, w.clone())),
            "-I" | "--insert" => {
                let (index, rest) = match w.get(2).map(|s| s.parse::<usize>()) {
                    Some(Ok(k)) => (Some(k), 3),
                    _ => (Some(1), 2),
                };
                let mut spec = vec!["-A".to_string(), chain_name.clone()];
                spec.extend(w[rest.min(w.len())..].iter().cloned());
                Some((index, spec))
            }
            _ => None,
        };
        if let Some((index, spec)) = adding {
            let Some(c) = at_chain else {
                unparsed.push(refuse(if builtins.contains(&chain_name.as_str()) {
                    // iptables-restore makes the chain; its policy is whatever the kernel had
                    // (iptables-nft: ACCEPT), which the file does not say
                    format!(
                        "built-in chain `{chain_name}` without its `:{chain_name} POLICY` line: not interpreted"
                    )
                } else {
                    format!("chain `{chain_name}` does not exist: {REFUSES}")
                }));
                continue;
            };
            let len = chains[c].rules.len();
            let pos = match index {
                None => len,
                Some(k) if k >= 1 && k - 1 <= len => k - 1,
                Some(k) => {
                    unparsed.push(refuse(format!(
                        "rule number {k} to insert at in `{chain_name}`, which has {len} rules: {REFUSES}"
                    )));
                    continue;
                }
            };
            let rule = match parse_rule_in(
                &spec,
                Location::line(line, l),
                family,
                table_names,
                &sets,
                &expiring,
                &unread,
            ) {
                Ok((_, mut rule)) => {
                    // a jump stays inside its table
                    let user =
                        |t: &str| table_names.binary_search_by(|x| x.as_str().cmp(t)).is_ok();
                    rule.action = match rule.action {
                        Action::Jump(t) if user(&t) => Action::Jump(qualified(&table, &t)),
                        Action::Goto(t) if user(&t) => Action::Goto(qualified(&table, &t)),
                        a => a,
                    };
                    rule
                }
                Err(why) => {
                    unparsed.push(refuse(if why.contains(REFUSES) {
                        why
                    } else {
                        format!("{why}: {REFUSES}")
                    }));
                    continue;
                }
            };
            if let Action::Jump(t) | Action::Goto(t) = &rule.action
                && rule.uncertain.is_none()
                && !chain_at.contains_key(t)
            {
                unparsed.push(refuse(format!(
                    "chain `{t}` does not exist here: {REFUSES}"
                )));
                continue;
            }
            chains[c].rules.insert(pos, rule);
            continue;
        }
        match (cmd, w.len()) {
            // iptables-nft's `-Z` puts back the policy of the chain's header line, undoing an
            // earlier `-P` (seen in a netns); legacy iptables only zeroes the counters
            ("-Z" | "--zero", _) if policy_set => unparsed.push(refuse(
                "`-Z` after `-P` works differently in iptables-nft and legacy iptables; not interpreted"
                    .into(),
            )),
            ("-Z" | "--zero", _) => {}
            ("-P" | "--policy", 3) => {
                if !builtins.contains(&chain_name.as_str()) || !matches!(w[2].as_str(), "ACCEPT" | "DROP") {
                    unparsed.push(refuse(format!("policy `{}` for chain `{chain_name}`: {REFUSES}", w[2])));
                    continue;
                }
                add_chain(q.clone(), &mut chains, &mut chain_at, &mut chain_table);
                policy_set = true;
                policies.insert((table.clone(), chain_name.clone()), (w[2] == "ACCEPT", Location::line(line, l)));
            }
            ("-N" | "--new-chain", 2) => {
                if !add_chain(q.clone(), &mut chains, &mut chain_at, &mut chain_table) {
                    unparsed.push(refuse(format!("chain `{chain_name}` exists already: {REFUSES}")));
                }
            }
            ("-F" | "--flush", 2) => match at_chain {
                Some(c) => {
                    chains[c].rules.clear();
                }
                None => unparsed.push(refuse(format!("chain `{chain_name}` does not exist: {REFUSES}"))),
            },
            ("-D" | "--delete", 3) if w[2].parse::<usize>().is_ok() => {
                let k: usize = w[2].parse().unwrap_or(0);
                match at_chain {
                    Some(c) if k >= 1 && k <= chains[c].rules.len() => {
                        chains[c].rules.remove(k - 1);
                    }
                    _ => unparsed.push(refuse(format!(
                        "no rule {k} in chain `{chain_name}` to delete: {REFUSES}"
                    ))),
                }
            }
            ("-D" | "--delete", 3..) => {
                let key = rule_key(&w[2..], family);
                let found = at_chain.and_then(|c| {
                    chains[c]
                        .rules
                        .iter()
                        .position(|r| stored_key(r, family).as_ref() == Some(&key))
                        .map(|i| (c, i))
                });
                match found {
                    Some((c, i)) if !key.iter().any(|x| x == "--comment") => {
                        chains[c].rules.remove(i);
                    }
                    // iptables compares the parsed rules, which portplan does not reproduce:
                    // either it deletes a rule written differently, or it refuses the file
                    _ => unparsed.push(refuse(
                        "no rule written the same way in the chain: iptables-restore deletes a rule it counts as equal or refuses the file".into(),
                    )),
                }
            }
            ("-X" | "--delete-chain", 1 | 2) => {
                let targets: Vec<String> = if w.len() == 2 {
                    vec![q.clone()]
                } else {
                    (0..chains.len())
                        .filter(|&i| chain_table[i] == table)
                        .map(|i| chains[i].name.clone())
                        .filter(|c| {
                            !builtins.iter().any(|b| qualified(&table, b) == *c)
                        })
                        .collect()
                };
                let referenced = |name: &str| {
                    chains.iter().any(|c| {
                        c.rules.iter().any(|r| {
                            matches!(&r.action, Action::Jump(t) | Action::Goto(t) if t == name)
                        })
                    })
                };
                let bad = targets.iter().find(|t| {
                    let builtin = builtins.iter().any(|b| qualified(&table, b) == **t);
                    builtin
                        || chain_at.get(*t).is_none_or(|&c| !chains[c].rules.is_empty())
                        || referenced(t)
                });
                if let Some(t) = bad {
                    unparsed.push(refuse(format!(
                        "chain `{t}` is built in, missing, not empty or jumped to, so it cannot be deleted: {REFUSES}"
                    )));
                    continue;
                }
                for t in targets {
                    if let Some(c) = chain_at.remove(&t) {
                        chains.remove(c);
                        chain_table.remove(c);
                        for v in chain_at.values_mut() {
                            if *v > c {
                                *v -= 1;
                            }
                        }
                    }
                }
            }
            // iptables-nft does not flush rules added earlier in the same file when `-F` names
            // no chain, and refuses to rename a chain made in it; legacy iptables does both
            ("-F" | "--flush", 1) | ("-E" | "--rename-chain", _) => unparsed.push(refuse(format!(
                "`{cmd}` here works differently in iptables-nft and legacy iptables; not interpreted"
            ))),
            _ => unparsed.push(refuse(format!("`{cmd}` is not a restore command portplan reads: {REFUSES}"))),
        }
    }
    if let Some((at, text)) = open.take() {
        unparsed.push(refused(
            at,
            &text,
            format!("the table has no COMMIT: {REFUSES}"),
        ));
    }
    let nat: Vec<Nat> = nat_order
        .iter()
        .filter_map(|c| nat_chains.remove(c))
        .flat_map(|slots| slots.into_iter().flat_map(|(_, n)| n))
        .collect();
    // netfilter order for a forwarded packet; nat chains translate and are not evaluated here
    let mut entries = Vec::new();
    for (table, chain) in FORWARD_PATH {
        if let Some((accept, at)) = policies.remove(&(table.to_string(), chain.to_string())) {
            entries.push(Entry {
                chain: qualified(table, chain),
                family: Some(family),
                iif: None,
                oif: None,
                policy_accept: accept,
                policy_at: at,
                first_packet_only: false,
                // the raw table runs before conntrack (priority -300)
                before_conntrack: table == "raw",
            });
        }
    }
    if !entries.iter().any(|e| e.chain == "FORWARD") {
        notes.push(
            "no `:FORWARD` policy line in the filter table: forwarding cannot be judged".into(),
        );
        entries.clear();
    }
    // a refused file loads nothing, and a line not interpreted could do anything: every entry
    // starts with a rule that may decide anything, so no verdict is definite
    if let Some(first) = unparsed.first() {
        let why = format!(
            "{} line(s) refused or not interpreted (from line {})",
            unparsed.len(),
            first.line
        );
        for e in &entries {
            if let Some(&c) = chain_at.get(&e.chain) {
                let mut r = Rule::new(Location::line(first.line, &first.text), Action::Unknown);
                r.uncertain = Some(why.clone());
                chains[c].rules.insert(0, r);
            }
        }
    }
    Config {
        format: if family == Family::V4 {
            "iptables-save"
        } else {
            "ip6tables-save"
        },
        chains,
        entries,
        unparsed,
        families: vec![family],
        notes,
        nat,
        chain_index: Default::default(),
    }
}

/// nat chain -> one slot per rule: its words (for `-D rule-spec`) and the translations it makes.
type NatChains = HashMap<String, Vec<(Vec<String>, Vec<Nat>)>>;

/// What ipset restore refuses makes the sets unknown, and with them the file.
const SET_REFUSES: &str = "ipset restore refuses it";

/// One `add` of an ipset: its addresses, prefix length, and the key a `del` names it by.
struct SetEntry {
    key: String,
    level: u8,
    addrs: AddrSet,
    nomatch: bool,
    expires: bool,
}

fn set_entry(member: &str, family: Family) -> Option<SetEntry> {
    let mut addrs = AddrSet::default();
    let (key, level) = if member.contains('-') && !member.contains('/') {
        parse_range(member, &mut addrs).ok()?;
        (
            member.to_string(),
            if family == Family::V4 { 32 } else { 128 },
        )
    } else {
        parse_addrs(member, &mut addrs).ok()?;
        let net: ipnet::IpNet = match member.parse::<ipnet::IpNet>() {
            Ok(n) => n.trunc(),
            Err(_) => member.parse::<std::net::IpAddr>().ok()?.into(),
        };
        (net.to_string(), net.prefix_len())
    };
    Some(SetEntry {
        key,
        level,
        addrs,
        nomatch: false,
        expires: false,
    })
}

/// One line of the `*nat` table, applied to its chain's rules as iptables-restore would
/// (`-A`, `-I [n]`, `-D n`, `-D spec` written the same way, `-F CHAIN`, `-Z`, `-P`); each rule
/// keeps a slot, so rule numbers count the rules portplan does not translate too.
#[allow(clippy::too_many_arguments)]
fn nat_command(
    l: &str,
    line: usize,
    family: Family,
    chain_names: &[String],
    builtins: &[&str],
    sets: &Sets,
    (chains, order): (&mut NatChains, &mut Vec<String>),
    unparsed: &mut Vec<Unparsed>,
) {
    let refuse = |why: String, unparsed: &mut Vec<Unparsed>| {
        unparsed.push(Unparsed {
            line,
            text: l.into(),
            why,
        })
    };
    let mut ensure = |name: &str, chains: &mut NatChains| {
        if !chains.contains_key(name) {
            chains.insert(name.to_string(), Vec::new());
            order.push(name.to_string());
        }
    };
    if let Some(decl) = l.strip_prefix(':') {
        if let Some(name) = decl.split_whitespace().next() {
            ensure(name, chains);
        }
        return;
    }
    let w = match words(l) {
        Ok(w) => w,
        Err(why) => {
            refuse(why, unparsed);
            return;
        }
    };
    let cmd = w.first().map(String::as_str).unwrap_or("");
    let chain = w.get(1).cloned().unwrap_or_default();
    if matches!(cmd, "-N" | "--new-chain") && w.len() == 2 && !chains.contains_key(&chain) {
        ensure(&chain, chains);
        return;
    }
    let (index, spec) = match cmd {
        "-A" | "--append" => (None, w.clone()),
        "-I" | "--insert" => {
            let (k, rest) = match w.get(2).map(|s| s.parse::<usize>()) {
                Some(Ok(k)) => (k, 3),
                _ => (1, 2),
            };
            let mut spec = vec!["-A".to_string(), chain.clone()];
            spec.extend(w[rest.min(w.len())..].iter().cloned());
            (Some(k), spec)
        }
        _ => {
            let slots = chains.get_mut(&chain);
            match (cmd, w.len(), slots) {
                ("-Z" | "--zero", _, _) => {}
                ("-P" | "--policy", 3, _)
                    if builtins.contains(&chain.as_str()) && w[2] == "ACCEPT" => {}
                ("-F" | "--flush", 2, Some(s)) => s.clear(),
                ("-D" | "--delete", 3, Some(s)) if w[2].parse::<usize>().is_ok() => {
                    let k: usize = w[2].parse().unwrap_or(0);
                    if k >= 1 && k <= s.len() {
                        s.remove(k - 1);
                    } else {
                        refuse(
                            format!("no rule {k} in chain `{chain}` to delete: {REFUSES}"),
                            unparsed,
                        );
                    }
                }
                ("-D" | "--delete", 3.., Some(s)) => {
                    let key = rule_key(&w[2..], family);
                    match s.iter().position(|(k, _)| *k == key) {
                        Some(i) if !key.iter().any(|x| x == "--comment") => {
                            s.remove(i);
                        }
                        _ => refuse(
                            "no rule written the same way in the chain: iptables-restore deletes a rule it counts as equal or refuses the file".into(),
                            unparsed,
                        ),
                    }
                }
                _ => refuse(
                    format!(
                        "`{cmd}` in the nat table is not interpreted (or iptables-restore refuses it)"
                    ),
                    unparsed,
                ),
            }
            return;
        }
    };
    let Some(slots) = chains.get(&chain) else {
        refuse(
            format!("chain `{chain}` does not exist in the nat table: {REFUSES}"),
            unparsed,
        );
        return;
    };
    let len = slots.len();
    let pos = match index {
        None => len,
        Some(k) if k >= 1 && k - 1 <= len => k - 1,
        Some(k) => {
            refuse(
                format!(
                    "rule number {k} to insert at in `{chain}`, which has {len} rules: {REFUSES}"
                ),
                unparsed,
            );
            return;
        }
    };
    let mut made = Vec::new();
    nat_line(
        l,
        spec.clone(),
        line,
        family,
        chain_names,
        sets,
        &mut made,
        unparsed,
    );
    let key = rule_key(&spec[2.min(spec.len())..], family);
    if let Some(s) = chains.get_mut(&chain) {
        s.insert(pos, (key, made));
    }
}

/// One line of the `*nat` table. PREROUTING rules rewrite destinations, POSTROUTING rules
/// sources; OUTPUT and INPUT do not see forwarded packets. A rule portplan cannot read, a jump,
/// or an ACCEPT/RETURN (which stops translation for what it matches) becomes a translation marked
/// uncertain over what it matches, so the flows it could touch are uncertain.
#[allow(clippy::too_many_arguments)]
fn nat_line(
    l: &str,
    w: Vec<String>,
    line: usize,
    family: Family,
    chain_names: &[String],
    sets: &Sets,
    out: &mut Vec<Nat>,
    unparsed: &mut Vec<Unparsed>,
) {
    let at = Location::line(line, l);
    let chain = w
        .iter()
        .position(|x| x == "-A" || x == "--append")
        .and_then(|i| w.get(i + 1))
        .cloned()
        .unwrap_or_default();
    let kind = match chain.as_str() {
        "PREROUTING" => NatKind::Destination,
        "POSTROUTING" => NatKind::Source,
        "OUTPUT" | "INPUT" => return,
        // user chains are reached through jumps, which are uncertain themselves
        c if chain_names.iter().any(|n| n == c) => return,
        _ => {
            unparsed.push(Unparsed {
                line,
                text: l.into(),
                why: format!("chain `{chain}` was not declared in the nat table"),
            });
            return;
        }
    };
    // the match part ends at the target; the rest are the target's options
    let j = w
        .iter()
        .position(|x| x == "-j" || x == "--jump" || x == "-g" || x == "--goto");
    let (matching, target) = match j {
        Some(j) => (&w[..j], &w[j + 1..]),
        None => (&w[..], &w[w.len()..]),
    };
    let mut rule = match parse_rule(matching, at.clone(), family, chain_names, sets) {
        Ok((_, r)) => r,
        Err(why) => {
            unparsed.push(Unparsed {
                line,
                text: l.into(),
                why: why.clone(),
            });
            out.push(unread_nat(at, kind, family, why));
            return;
        }
    };
    rule.action = Action::Continue;
    let opt = |name: &str| -> Vec<&String> {
        target
            .windows(2)
            .filter(|p| p[0] == name)
            .map(|p| &p[1])
            .collect()
    };
    let mut nat = Nat {
        kind,
        matches: rule,
        to: None,
        to_ports: None,
        one_to_one: false,
    };
    let mut why: Option<String> = None;
    match target.first().map(String::as_str) {
        None => return, // counts only
        Some("DNAT") | Some("SNAT") => {
            let want = if target[0] == "DNAT" {
                NatKind::Destination
            } else {
                NatKind::Source
            };
            let key = if want == NatKind::Destination {
                "--to-destination"
            } else {
                "--to-source"
            };
            if want != kind {
                why = Some(format!("{} in {chain} (iptables refuses it)", target[0]));
            } else {
                match opt(key).as_slice() {
                    [one] => match nat_to(one, family) {
                        Ok((set, ports)) => {
                            nat.to = Some(set);
                            nat.to_ports = ports;
                        }
                        Err(e) => why = Some(e),
                    },
                    [] => why = Some(format!("{} without {key}", target[0])),
                    _ => why = Some(format!("several {key} (round robin)")),
                }
            }
        }
        Some("MASQUERADE") => {
            if kind != NatKind::Source {
                why = Some(format!("MASQUERADE in {chain} (iptables refuses it)"));
            } else {
                nat.kind = NatKind::Masquerade;
                nat.to = Some(AddrSet::default());
            }
        }
        Some("REDIRECT") => {
            if kind != NatKind::Destination {
                why = Some(format!("REDIRECT in {chain} (iptables refuses it)"));
            } else {
                // to the firewall itself: no forwarded packet reaches a server
                nat.to = Some(AddrSet::default());
            }
        }
        Some("NETMAP") => match opt("--to").as_slice() {
            [one] => match one.parse::<ipnet::IpNet>() {
                Ok(net) if (family == Family::V4) == net.addr().is_ipv4() => {
                    let mut set = AddrSet::default();
                    set.push_net(&net.trunc());
                    nat.to = Some(set);
                    nat.one_to_one = true;
                }
                _ => why = Some(format!("NETMAP target `{one}`")),
            },
            _ => why = Some("NETMAP without one --to".into()),
        },
        Some("ACCEPT") | Some("RETURN") => {
            why = Some(format!(
                "{} in a nat chain stops translation for what it matches",
                target[0]
            ))
        }
        Some(t) if CONTINUE_TARGETS.contains(&t) => return,
        Some(t) if chain_names.iter().any(|c| c == t) => {
            why = Some(format!("jump to nat chain `{t}` (not followed)"))
        }
        Some(t) => why = Some(format!("nat target `{t}`")),
    }
    if let Some(why) = why {
        nat.to = None;
        nat.matches.uncertain = Some(match nat.matches.uncertain.take() {
            Some(u) => format!("{u}, {why}"),
            None => why,
        });
    }
    out.push(nat);
}

/// A nat line that could not be read: it may translate anything passing its chain.
fn unread_nat(at: Location, kind: NatKind, family: Family, why: String) -> Nat {
    let mut r = Rule::new(at, Action::Continue);
    r.family = Some(family);
    r.uncertain = Some(why);
    Nat {
        kind,
        matches: r,
        to: None,
        to_ports: None,
        one_to_one: false,
    }
}

/// `--to-destination` / `--to-source`: `A`, `A-B`, `A:p`, `A:p-q`, `[v6]:p`.
fn nat_to(text: &str, family: Family) -> Result<(AddrSet, Option<(u16, u16)>), String> {
    let bad = || format!("translation target `{text}`");
    let (addr, port) = if let Some(rest) = text.strip_prefix('[') {
        let (a, r) = rest.split_once(']').ok_or_else(bad)?;
        (a, r.strip_prefix(':'))
    } else if family == Family::V4 {
        match text.split_once(':') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        }
    } else {
        (text, None)
    };
    let ports = match port {
        None => None,
        Some(p) => {
            let (a, b) = match p.split_once('-') {
                Some((a, b)) => (a, b),
                None => (p, p),
            };
            let a: u16 = a.parse().map_err(|_| bad())?;
            let b: u16 = b.parse().map_err(|_| bad())?;
            Some((a.min(b), a.max(b)))
        }
    };
    let mut set = AddrSet::default();
    if addr.is_empty() {
        return Err(bad());
    }
    if addr.contains('-') {
        parse_range(addr, &mut set)?;
    } else {
        let ip: std::net::IpAddr = addr.parse().map_err(|_| bad())?;
        set.push_net(&ip.into());
    }
    same_family(&set, family)?;
    Ok((set, ports))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_quoted_comments_together() {
        let w = words(r#"-A X -m comment --comment "a \"b\" c" -j ACCEPT"#).unwrap();
        assert_eq!(
            w,
            vec![
                "-A",
                "X",
                "-m",
                "comment",
                "--comment",
                "a \"b\" c",
                "-j",
                "ACCEPT"
            ]
        );
        assert!(words("-A X \"open").is_err());
    }

    #[test]
    fn ports_and_ranges() {
        assert_eq!(parse_port("50000:59999"), Ok((50000, 59999)));
        assert_eq!(parse_port("1024:"), Ok((1024, 65535)));
        assert!(parse_port("99999").is_err());
        assert!(parse_port("9:1").is_err());
    }

    /// Each as iptables-nft-restore 1.8.9 answered it in a netns.
    #[test]
    fn port_options_need_their_protocol_match() {
        let read = |rule: &str| {
            let text = format!(
                "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A FORWARD {rule}\nCOMMIT\n"
            );
            let c = parse(&text, Family::V4);
            let uncertain = c
                .chain("FORWARD")
                .unwrap()
                .rules
                .iter()
                .any(|r| r.uncertain.is_some());
            (c.unparsed.len(), uncertain)
        };
        // refused: unknown option, "TCP match requires '-p tcp'", "multiport needs `-p tcp' ..."
        for refused in [
            "--dport 80 -j DROP",
            "--sport 80 -j DROP",
            "-p tcp --dports 80,443 -j DROP",
            "-m tcp --dport 80 -j DROP",
            "-p udp -m tcp --dport 80 -j DROP",
            "-m multiport --dports 80,443 -j DROP",
            "! -p tcp -m multiport --dports 80 -j DROP",
            "-p udp --syn -j DROP",
            "-p udp -m tcp --syn -j DROP",
        ] {
            assert_eq!(read(refused).0, 1, "{refused}");
        }
        // loaded
        for fine in [
            "-p 6 --dport 80 -j DROP",
            "-p TCP --dport 80 -j DROP",
            "-p udp -m multiport --dports 80,443 -j DROP",
            "-p tcp -m tcp ! --syn -j DROP",
        ] {
            assert_eq!(read(fine), (0, false), "{fine}");
        }
        // loaded, but iptables-nft then matches the port of every other protocol
        assert_eq!(read("! -p tcp --dport 80 -j DROP"), (0, true));
    }

    #[test]
    fn a_small_ruleset_parses() {
        let text = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:LYNC - [0:0]\n-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A FORWARD -i outside -o dmz -j LYNC\n-A LYNC -d 203.0.113.100/32 -p tcp -m multiport --dports 443,5061 -j ACCEPT\n-A LYNC -p udp -m limit --limit 5/s -j ACCEPT\nbogus line\nCOMMIT\n";
        let c = parse(text, Family::V4);
        assert_eq!(c.chain("LYNC").unwrap().rules.len(), 2);
        // the bogus line (iptables-restore refuses the file) puts a rule that may do anything first
        let forward = &c.chain("FORWARD").unwrap().rules;
        assert_eq!(forward[0].action, Action::Unknown);
        assert_eq!(forward[1].new_connections, Some(false));
        assert!(
            c.chain("LYNC").unwrap().rules[1]
                .uncertain
                .as_deref()
                .unwrap()
                .contains("limit")
        );
        assert_eq!(c.unparsed.len(), 1);
        assert_eq!(c.unparsed[0].line, 10);
        assert!(!c.entries[0].policy_accept);
    }
}

#[cfg(test)]
mod nat_tests {
    use super::*;

    fn nat_of(rules: &str) -> Config {
        parse(
            &format!(
                "*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:MINE - [0:0]\n{rules}COMMIT\n*filter\n:FORWARD DROP [0:0]\nCOMMIT\n"
            ),
            Family::V4,
        )
    }

    #[test]
    fn nat_table_targets_become_translations() {
        let c = nat_of(
            "-A PREROUTING -i outside -d 203.0.113.12/32 -j DNAT --to-destination 172.16.10.12\n\
             -A PREROUTING -i outside -d 203.0.113.13/32 -p tcp --dport 443 -j DNAT --to-destination 172.16.10.13:8443\n\
             -A PREROUTING -d 198.51.100.0/24 -j NETMAP --to 172.16.20.0/24\n\
             -A POSTROUTING -o outside -s 172.16.10.12/32 -j SNAT --to-source 203.0.113.12\n\
             -A POSTROUTING -o outside -j MASQUERADE\n\
             -A OUTPUT -j DNAT --to-destination 10.0.0.1\n",
        );
        assert!(c.unparsed.is_empty(), "{:?}", c.unparsed);
        let kinds: Vec<NatKind> = c.nat.iter().map(|n| n.kind).collect();
        assert_eq!(
            kinds,
            vec![
                NatKind::Destination,
                NatKind::Destination,
                NatKind::Destination,
                NatKind::Source,
                NatKind::Masquerade
            ]
        );
        assert!(c.nat.iter().all(|n| n.matches.uncertain.is_none()));
        assert_eq!(c.nat[1].to_ports, Some((8443, 8443)));
        assert!(c.nat[2].one_to_one && !c.nat[0].one_to_one);
        assert_eq!(c.nat[0].matches.iif.as_ref().unwrap().name, "outside");
        assert!(
            !c.notes.iter().any(|n| n.contains("`nat`")),
            "{:?}",
            c.notes
        );
    }

    #[test]
    fn nat_lines_portplan_cannot_follow_are_uncertain_translations() {
        let c = nat_of(
            "-A PREROUTING -d 203.0.113.12/32 -j ACCEPT\n\
             -A PREROUTING -j MINE\n\
             -A PREROUTING -m statistic --mode random --probability 0.5 -j DNAT --to-destination 172.16.10.1\n\
             -A POSTROUTING -j DNAT --to-destination 172.16.10.1\n\
             -A PREROUTING -d 203.0.113.12/32 -j DNAT --to-destination nowhere\n\
             -A PREROUTING -d not-an-address -j DNAT --to-destination 172.16.10.1\n",
        );
        assert_eq!(c.nat.len(), 6, "{:?}", c.nat);
        for n in &c.nat {
            assert!(n.matches.uncertain.is_some(), "{:?}", n.matches.at);
        }
        assert_eq!(
            c.unparsed.len(),
            1,
            "the unreadable address: {:?}",
            c.unparsed
        );
    }
}
