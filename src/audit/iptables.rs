//! `iptables-save` / `ip6tables-save` output. Only the filter table decides forwarding; the FORWARD
//! chain and its policy are the entry. Matches portplan cannot interpret (`-m limit`, `-m string`,
//! `--sport`, `-m set` — the sets are not in the file) make their rule uncertain.

use super::model::*;
use super::space::{PROTO_ALL, PROTO_OTHER, PROTO_TCP, PROTO_UDP};
use crate::plan::Family;

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

/// ipset definitions (`ipset save` lines) found in the same input.
type Sets = std::collections::HashMap<String, AddrSet>;

fn parse_rule(
    words: &[String],
    at: Location,
    family: Family,
    chains: &[String],
    sets: &Sets,
) -> Result<(String, Rule), String> {
    let mut rule = Rule::new(at, Action::Continue);
    let mut chain = String::new();
    let mut negate = false;
    let mut uncertain: Vec<String> = Vec::new();
    // options of a match module portplan does not model belong to it, not to the rule
    let mut in_unknown_module = false;
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
                let m = Some(AddrMatch {
                    set,
                    negated: negate,
                });
                if w.starts_with("-s") || w.starts_with("--s") {
                    rule.src = m
                } else {
                    rule.dst = m
                }
            }
            "-p" | "--protocol" => {
                let value = next(&mut i)?;
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
                match module.as_str() {
                    "tcp" | "udp" | "multiport" | "iprange" | "conntrack" | "state" | "comment"
                    | "set" => in_unknown_module = false,
                    other => {
                        uncertain.push(format!("match `-m {other}`"));
                        in_unknown_module = true;
                    }
                }
            }
            "--dport" | "--destination-port" => {
                let (a, b) = parse_port(&next(&mut i)?)?;
                rule.dport = Some(PortMatch {
                    ranges: vec![(a, b)],
                    negated: negate,
                });
            }
            "--dports" | "--destination-ports" => {
                let list = next(&mut i)?;
                let ranges = list
                    .split(',')
                    .map(parse_port)
                    .collect::<Result<Vec<_>, _>>()?;
                rule.dport = Some(PortMatch {
                    ranges,
                    negated: negate,
                });
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
                let m = Some(AddrMatch {
                    set,
                    negated: negate,
                });
                if w == "--src-range" {
                    rule.src = m
                } else {
                    rule.dst = m
                }
            }
            "--ctstate" | "--state" => {
                let list = next(&mut i)?;
                rule.new_connections = Some(admits_new(&list) != negate);
            }
            "--comment" => {
                next(&mut i)?;
            }
            "--syn" | "--tcp-flags" => {
                if w == "--tcp-flags" {
                    next(&mut i)?;
                    next(&mut i)?;
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
                    t if chains.iter().any(|c| c == t) => {
                        if w == "-g" || w == "--goto" {
                            Action::Goto(t.into())
                        } else {
                            Action::Jump(t.into())
                        }
                    }
                    t => {
                        uncertain.push(format!("target `{t}`"));
                        Action::Jump(t.into())
                    }
                };
                // whatever follows belongs to the target (e.g. --reject-with, --log-prefix)
                break;
            }
            "--match-set" => {
                let name = next(&mut i)?;
                let dir = next(&mut i)?;
                match (sets.get(&name), dir.as_str()) {
                    (Some(set), "src") => {
                        rule.src = Some(AddrMatch {
                            set: set.clone(),
                            negated: negate,
                        })
                    }
                    (Some(set), "dst") => {
                        rule.dst = Some(AddrMatch {
                            set: set.clone(),
                            negated: negate,
                        })
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

/// Parses `iptables-save` (or `ip6tables-save` with `family` IPv6).
pub fn parse(text: &str, family: Family) -> Config {
    let mut chains: Vec<Chain> = Vec::new();
    let mut unparsed = Vec::new();
    let mut notes = Vec::new();
    let mut table = String::new();
    let mut forward_policy: Option<(bool, Location)> = None;
    // chain names first, so `-j NAME` can tell a user chain from an unknown target
    let mut names: Vec<String> = Vec::new();
    let mut in_filter = false;
    let mut sets: Sets = Sets::new();
    let mut set_lines: std::collections::HashSet<usize> = std::collections::HashSet::new();
    for (n, line) in text.lines().enumerate() {
        let l = line.trim();
        // rules are most of the file: skip them cheaply in this first pass
        if l.starts_with('-') {
            continue;
        }
        let w: Vec<&str> = l.split_whitespace().collect();
        match w.as_slice() {
            ["create", name, ..] => {
                sets.entry((*name).to_string()).or_default();
                set_lines.insert(n + 1);
            }
            ["add", name, member, ..] => {
                let entry = sets.entry((*name).to_string()).or_default();
                let ok = if member.contains('-') && !member.contains('/') {
                    parse_range(member, entry).is_ok()
                } else {
                    parse_addrs(member, entry).is_ok()
                };
                if ok {
                    set_lines.insert(n + 1);
                }
            }
            ["flush", _] => {
                set_lines.insert(n + 1);
            }
            _ => {}
        }
        if let Some(t) = l.strip_prefix('*') {
            in_filter = t == "filter";
        } else if in_filter && let Some(decl) = l.strip_prefix(':') {
            if let Some(name) = decl.split_whitespace().next() {
                names.push(name.to_string());
            }
        }
    }
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') || set_lines.contains(&line) {
            continue;
        }
        if let Some(t) = l.strip_prefix('*') {
            table = t.to_string();
            if table != "filter" {
                notes.push(format!(
                    "table `{table}` (line {line}) does not filter forwarding and was not evaluated"
                ));
            }
            continue;
        }
        if l == "COMMIT" {
            continue;
        }
        if table != "filter" {
            if table.is_empty() {
                unparsed.push(Unparsed {
                    line,
                    text: l.into(),
                    why: "outside any `*table`".into(),
                });
            }
            continue;
        }
        if let Some(decl) = l.strip_prefix(':') {
            let parts: Vec<&str> = decl.split_whitespace().collect();
            match parts.as_slice() {
                [name, policy, ..] => {
                    if *name == "FORWARD" {
                        match *policy {
                            "ACCEPT" => forward_policy = Some((true, Location::line(line, l))),
                            "DROP" => forward_policy = Some((false, Location::line(line, l))),
                            _ => unparsed.push(Unparsed {
                                line,
                                text: l.into(),
                                why: format!("policy `{policy}`"),
                            }),
                        }
                    }
                    if !chains.iter().any(|c| c.name == *name) {
                        chains.push(Chain {
                            name: (*name).into(),
                            rules: Vec::new(),
                        });
                    }
                }
                _ => unparsed.push(Unparsed {
                    line,
                    text: l.into(),
                    why: "chain declaration without a policy".into(),
                }),
            }
            continue;
        }
        let parsed = words(l).and_then(|w| {
            if w.first().map(|s| s.as_str()) != Some("-A")
                && w.first().map(|s| s.as_str()) != Some("--append")
            {
                return Err(format!(
                    "`{}` is not a rule (`-A CHAIN …`)",
                    w.first().cloned().unwrap_or_default()
                ));
            }
            parse_rule(&w, Location::line(line, l), family, &names, &sets)
        });
        match parsed {
            Ok((chain, rule)) => match chains.iter_mut().find(|c| c.name == chain) {
                Some(c) => c.rules.push(rule),
                None => unparsed.push(Unparsed {
                    line,
                    text: l.into(),
                    why: format!("chain `{chain}` was not declared"),
                }),
            },
            Err(why) => {
                // keep its place: a rule we cannot read makes what passes it uncertain
                let chain = words(l).ok().and_then(|w| {
                    w.iter()
                        .position(|x| x == "-A")
                        .and_then(|i| w.get(i + 1).cloned())
                });
                if let Some(c) = chain.and_then(|name| chains.iter_mut().find(|c| c.name == name)) {
                    let mut r = Rule::new(Location::line(line, l), Action::Jump("?".into()));
                    r.uncertain = Some(why.clone());
                    c.rules.push(r);
                }
                unparsed.push(Unparsed {
                    line,
                    text: l.into(),
                    why,
                });
            }
        }
    }
    let entries = match forward_policy {
        Some((accept, at)) => vec![Entry {
            chain: "FORWARD".into(),
            family: Some(family),
            iif: None,
            oif: None,
            policy_accept: accept,
            policy_at: at,
        }],
        None => {
            notes.push(
                "no `:FORWARD` policy line in the filter table: forwarding cannot be judged".into(),
            );
            Vec::new()
        }
    };
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
        nat: Vec::new(),
    }
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

    #[test]
    fn a_small_ruleset_parses() {
        let text = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:LYNC - [0:0]\n-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A FORWARD -i outside -o dmz -j LYNC\n-A LYNC -d 203.0.113.100/32 -p tcp -m multiport --dports 443,5061 -j ACCEPT\n-A LYNC -p udp -m limit --limit 5/s -j ACCEPT\nbogus line\nCOMMIT\n";
        let c = parse(text, Family::V4);
        assert_eq!(c.chain("LYNC").unwrap().rules.len(), 2);
        assert_eq!(
            c.chain("FORWARD").unwrap().rules[0].new_connections,
            Some(false)
        );
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
