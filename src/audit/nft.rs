//! nftables rulesets: `nft list ruleset` text and `nft -j list ruleset` JSON. Both are read into the
//! same statements (match key, operator, value; verdict), so they produce identical rules. Base
//! chains on the forward hook are the entries, in priority order; tables of family `ip`/`ip6` only
//! see their own family. Statements portplan does not model make their rule uncertain.

use super::iptables::proto_bits;
use super::model::*;
use super::space::{PROTO_OTHER, PROTO_TCP, PROTO_UDP};
use crate::plan::Family;
use std::collections::HashMap;
use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Net(ipnet::IpNet),
    Range(String, String),
    Word(String),
    SetRef(String),
    Set(Vec<Value>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Iif,
    Oif,
    Saddr(Family),
    Daddr(Family),
    L4proto,
    Dport(u8),
    Sport,
    CtState,
    Nfproto,
}

#[derive(Debug, Clone)]
enum Stmt {
    Match {
        key: Key,
        negated: bool,
        value: Value,
    },
    Verdict(Action),
    /// Counting, logging, comments: no effect on the verdict.
    Neutral,
    Unknown(String),
}

/// One chain as read, before it becomes a [`Chain`].
struct RawChain {
    table: String,
    family: String,
    name: String,
    hook: Option<(String, i64)>,
    /// `filter`, `nat`, `route` (base chains only).
    kind: String,
    /// The device of a netdev ingress chain.
    device: Option<String>,
    policy_accept: bool,
    policy_at: Location,
    rules: Vec<(Location, Vec<Stmt>)>,
}

fn priority(text: &str) -> i64 {
    let text = text.trim();
    let named = |n: &str| match n {
        "raw" => Some(-300),
        "mangle" => Some(-150),
        "dstnat" => Some(-100),
        "filter" => Some(0),
        "security" => Some(50),
        "srcnat" => Some(100),
        _ => None,
    };
    if let Ok(n) = text.parse::<i64>() {
        return n;
    }
    let parts: Vec<&str> = text.split_whitespace().collect();
    match parts.as_slice() {
        [name] => named(name).unwrap_or(0),
        [name, "+", n] => named(name).unwrap_or(0) + n.parse::<i64>().unwrap_or(0),
        [name, "-", n] => named(name).unwrap_or(0) - n.parse::<i64>().unwrap_or(0),
        _ => 0,
    }
}

fn parse_value_word(w: &str) -> Value {
    if let Some(name) = w.strip_prefix('@') {
        return Value::SetRef(name.to_string());
    }
    if let Ok(net) = w.parse::<ipnet::IpNet>() {
        return Value::Net(net.trunc());
    }
    if let Ok(ip) = w.parse::<IpAddr>() {
        return Value::Net(ip.into());
    }
    if let Some((a, b)) = w.split_once('-')
        && !a.is_empty()
        && !b.is_empty()
    {
        return Value::Range(a.to_string(), b.to_string());
    }
    Value::Word(w.trim_matches('"').to_string())
}

// ---------------------------------------------------------------- text

/// Splits nft text into tokens: words, quoted strings, and the punctuation `{ } ; ,`.
fn tokens(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        if quoted {
            cur.push(c);
            if c == '"' {
                quoted = false;
            }
            continue;
        }
        match c {
            '"' => {
                quoted = true;
                cur.push(c);
            }
            '{' | '}' | ';' | ',' => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                out.push(c.to_string());
            }
            c if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Reads a value at `toks[i..]`: a word or a `{ a, b }` set. Returns the value and the next index.
fn read_value(toks: &[String], mut i: usize) -> Option<(Value, usize)> {
    if toks.get(i)? == "{" {
        let mut items = Vec::new();
        i += 1;
        while let Some(t) = toks.get(i) {
            match t.as_str() {
                "}" => return Some((Value::Set(items), i + 1)),
                "," => {}
                // element comments: `443 comment "why"`
                "comment" => i += 1,
                w => items.push(parse_value_word(w)),
            }
            i += 1;
        }
        None
    } else {
        // ct state lists come as `established,related` (commas are split off as tokens)
        let mut words = vec![toks.get(i)?.clone()];
        i += 1;
        while toks.get(i).map(|t| t.as_str()) == Some(",") && toks.get(i + 1).is_some() {
            words.push(toks[i + 1].clone());
            i += 2;
        }
        if words.len() == 1 {
            Some((parse_value_word(&words[0]), i))
        } else {
            Some((
                Value::Set(words.iter().map(|w| parse_value_word(w)).collect()),
                i,
            ))
        }
    }
}

/// Rewrites one rule into the equivalent sequence of simpler rules: an inline verdict map
/// `… tcp dport vmap { 443 : accept, 5061 : drop }` becomes one rule per key, and an interface
/// set `iifname { "a", "b" } accept` one rule per name. Both are exact: verdict map keys never
/// overlap, and a packet has one input and one output interface. What cannot be rewritten (named
/// or concatenated maps) is left as it is, and the statement parser marks it uncertain.
fn expand(toks: &[String]) -> Vec<Vec<String>> {
    const MAX_EXPANSION: usize = 65_536;
    let closing = |open: usize| -> Option<usize> {
        let mut depth = 0usize;
        for (j, t) in toks.iter().enumerate().skip(open) {
            match t.as_str() {
                "{" => depth += 1,
                "}" => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(j);
                    }
                }
                _ => {}
            }
        }
        None
    };
    if let Some(p) = toks.iter().position(|t| t == "vmap")
        && toks.get(p + 1).map(String::as_str) == Some("{")
        && let Some(end) = closing(p + 1)
    {
        let body = &toks[p + 2..end];
        let mut out = Vec::new();
        for entry in body.split(|t| t == ",") {
            let Some(colon) = entry.iter().position(|t| t == ":") else {
                return vec![toks.to_vec()];
            };
            let (key, verdict) = (&entry[..colon], &entry[colon + 1..]);
            if key.is_empty()
                || verdict.is_empty()
                || key.iter().any(|t| {
                    t == "." || t.contains('.') && !t.contains('/') && t.parse::<IpAddr>().is_err()
                })
            {
                return vec![toks.to_vec()];
            }
            let mut rule: Vec<String> = toks[..p].to_vec();
            rule.extend(key.iter().cloned());
            rule.extend(verdict.iter().cloned());
            rule.extend(toks[end + 1..].iter().cloned());
            out.extend(expand(&rule));
            if out.len() > MAX_EXPANSION {
                return vec![toks.to_vec()];
            }
        }
        return out;
    }
    for (p, t) in toks.iter().enumerate() {
        if matches!(t.as_str(), "iifname" | "oifname" | "iif" | "oif")
            && toks.get(p + 1).map(String::as_str) == Some("{")
            && let Some(end) = closing(p + 1)
        {
            let mut out = Vec::new();
            for name in toks[p + 2..end].iter().filter(|n| *n != ",") {
                let mut rule: Vec<String> = toks[..=p].to_vec();
                rule.push(name.clone());
                rule.extend(toks[end + 1..].iter().cloned());
                out.extend(expand(&rule));
                if out.len() > MAX_EXPANSION {
                    return vec![toks.to_vec()];
                }
            }
            if !out.is_empty() {
                return out;
            }
        }
    }
    vec![toks.to_vec()]
}

fn statements(toks: &[String]) -> Vec<Stmt> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i].as_str();
        let two = toks.get(i + 1).map(|s| s.as_str()).unwrap_or("");
        let key = match (t, two) {
            ("iifname", _) | ("iif", _) => Some((Key::Iif, 1)),
            ("oifname", _) | ("oif", _) => Some((Key::Oif, 1)),
            ("ip", "saddr") => Some((Key::Saddr(Family::V4), 2)),
            ("ip", "daddr") => Some((Key::Daddr(Family::V4), 2)),
            ("ip6", "saddr") => Some((Key::Saddr(Family::V6), 2)),
            ("ip6", "daddr") => Some((Key::Daddr(Family::V6), 2)),
            ("ip", "protocol") | ("ip6", "nexthdr") => Some((Key::L4proto, 2)),
            ("meta", "l4proto") => Some((Key::L4proto, 2)),
            ("meta", "nfproto") => Some((Key::Nfproto, 2)),
            ("tcp", "dport") => Some((Key::Dport(PROTO_TCP), 2)),
            ("udp", "dport") => Some((Key::Dport(PROTO_UDP), 2)),
            ("th", "dport") => Some((Key::Dport(PROTO_TCP | PROTO_UDP), 2)),
            ("tcp", "sport") | ("udp", "sport") | ("th", "sport") => Some((Key::Sport, 2)),
            ("ct", "state") => Some((Key::CtState, 2)),
            _ => None,
        };
        if let Some((key, width)) = key {
            // `ip6 nexthdr` only matches IPv6 packets, `ip protocol` only IPv4 ones
            match (t, two) {
                ("ip6", "nexthdr") => out.push(Stmt::Match {
                    key: Key::Nfproto,
                    negated: false,
                    value: Value::Word("ipv6".into()),
                }),
                ("ip", "protocol") => out.push(Stmt::Match {
                    key: Key::Nfproto,
                    negated: false,
                    value: Value::Word("ipv4".into()),
                }),
                _ => {}
            }
            i += width;
            let mut negated = false;
            match toks.get(i).map(|s| s.as_str()) {
                Some("!=") | Some("ne") => {
                    negated = true;
                    i += 1;
                }
                Some("==") | Some("eq") => i += 1,
                _ => {}
            }
            match read_value(toks, i) {
                Some((value, next)) => {
                    out.push(Stmt::Match {
                        key,
                        negated,
                        value,
                    });
                    i = next;
                }
                None => {
                    out.push(Stmt::Unknown(format!("`{t} {two}` without a value")));
                    break;
                }
            }
            continue;
        }
        // `meta mark set 1`, `ct mark set 2`, `mark set 3`, `meta priority set …`: they change
        // the packet's metadata, not its fate
        let three = toks.get(i + 2).map(|s| s.as_str()).unwrap_or("");
        if (matches!(t, "meta" | "ct") && three == "set") || (t == "mark" && two == "set") {
            i += if t == "mark" { 3 } else { 4 };
            out.push(Stmt::Neutral);
            continue;
        }
        match t {
            "accept" => out.push(Stmt::Verdict(Action::Accept)),
            "drop" => out.push(Stmt::Verdict(Action::Drop)),
            "reject" => {
                out.push(Stmt::Verdict(Action::Drop));
                // `reject with icmp type …` / `with tcp reset`
                while i + 1 < toks.len() && !matches!(toks[i + 1].as_str(), "comment") {
                    i += 1;
                }
            }
            "return" => out.push(Stmt::Verdict(Action::Return)),
            "continue" => out.push(Stmt::Neutral),
            "jump" | "goto" => {
                let Some(target) = toks.get(i + 1) else {
                    out.push(Stmt::Unknown(format!("`{t}` without a chain")));
                    break;
                };
                out.push(Stmt::Verdict(if t == "jump" {
                    Action::Jump(target.clone())
                } else {
                    Action::Goto(target.clone())
                }));
                i += 1;
            }
            "counter" => {
                // `counter packets N bytes M`
                if toks.get(i + 1).map(|s| s.as_str()) == Some("packets") {
                    i += 4;
                }
                out.push(Stmt::Neutral);
            }
            "comment" => {
                i += 1;
                out.push(Stmt::Neutral);
            }
            "log" => {
                // log [prefix "…"] [level x] [group n] …
                while let Some(next) = toks.get(i + 1) {
                    if matches!(
                        next.as_str(),
                        "prefix" | "level" | "group" | "snaplen" | "queue-threshold" | "flags"
                    ) {
                        i += 2;
                    } else {
                        break;
                    }
                }
                out.push(Stmt::Neutral);
            }
            other => {
                out.push(Stmt::Unknown(format!("statement `{other}`")));
                // skip to the verdict, if any, so it is still known
                while i + 1 < toks.len()
                    && !matches!(
                        toks[i + 1].as_str(),
                        "accept" | "drop" | "reject" | "return" | "jump" | "goto"
                    )
                {
                    i += 1;
                }
            }
        }
        i += 1;
    }
    out
}

/// Statements that open a block (`table inet fw {`); any other `{` opens an anonymous set, a map
/// or a verdict map inside a statement.
const BLOCK_KEYWORDS: &[&str] = &[
    "table",
    "chain",
    "set",
    "map",
    "flowtable",
    "counter",
    "quota",
    "ct",
    "limit",
    "secmark",
    "synproxy",
];

/// Splits a ruleset into statements with the line each starts on, whatever the layout `nft -f`
/// accepts: several statements on a line separated by `;`, a chain header on the same line as
/// its rules, blocks closed on the line of their last statement, `\` line continuations and
/// comments. `define` variables are substituted, so the line parser sees one statement per line.
fn layout(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut defines: Vec<(String, String)> = Vec::new();
    let mut cur = String::new();
    let mut cur_line = 1;
    let mut line = 1;
    let mut inline_depth = 0usize;
    let mut in_quote = false;
    // the blocks open around the current statement: only tables hold nested blocks
    let mut blocks: Vec<bool> = Vec::new(); // true for a table block
    let mut chars = text.chars().peekable();
    let emit = |cur: &mut String,
                at: usize,
                out: &mut Vec<(usize, String)>,
                defines: &mut Vec<(String, String)>| {
        let stmt = substitute(cur.trim(), defines);
        cur.clear();
        if stmt.is_empty() {
            return;
        }
        if let Some(rest) = stmt.strip_prefix("define ")
            && let Some((name, value)) = rest.split_once('=')
        {
            defines.push((name.trim().to_string(), value.trim().to_string()));
            // longest names first, so `$ab` is not read as `$a` followed by `b`
            defines.sort_by_key(|d| std::cmp::Reverse(d.0.len()));
            return;
        }
        out.push((at, stmt));
    };
    while let Some(c) = chars.next() {
        if cur.trim().is_empty() {
            cur_line = line;
        }
        match c {
            '"' => {
                in_quote = !in_quote;
                cur.push(c);
            }
            _ if in_quote => {
                if c == '\n' {
                    line += 1;
                    in_quote = false;
                    emit(&mut cur, cur_line, &mut out, &mut defines);
                } else {
                    cur.push(c);
                }
            }
            '#' => {
                // a comment runs to the end of the line
                for d in chars.by_ref() {
                    if d == '\n' {
                        line += 1;
                        break;
                    }
                }
                if inline_depth == 0 {
                    emit(&mut cur, cur_line, &mut out, &mut defines);
                } else {
                    cur.push(' ');
                }
            }
            '\\' if chars.peek() == Some(&'\n') => {
                chars.next();
                line += 1;
                cur.push(' ');
            }
            '\n' => {
                line += 1;
                if inline_depth == 0 {
                    emit(&mut cur, cur_line, &mut out, &mut defines);
                } else {
                    cur.push(' ');
                }
            }
            ';' if inline_depth == 0 => emit(&mut cur, cur_line, &mut out, &mut defines),
            '{' => {
                let first = cur.split_whitespace().next().unwrap_or("");
                let first = if matches!(first, "add" | "create") {
                    cur.split_whitespace().nth(1).unwrap_or("")
                } else {
                    first
                };
                let in_table = blocks.last().is_none_or(|is_table| *is_table);
                if inline_depth == 0
                    && in_table
                    && BLOCK_KEYWORDS.contains(&first)
                    && !cur.contains('{')
                {
                    blocks.push(first == "table");
                    cur.push_str(" {");
                    emit(&mut cur, cur_line, &mut out, &mut defines);
                } else {
                    inline_depth += 1;
                    cur.push(c);
                }
            }
            '}' if inline_depth > 0 => {
                inline_depth -= 1;
                cur.push(c);
            }
            '}' => {
                emit(&mut cur, cur_line, &mut out, &mut defines);
                blocks.pop();
                out.push((line, "}".into()));
            }
            _ => cur.push(c),
        }
    }
    emit(&mut cur, cur_line, &mut out, &mut defines);
    out
}

/// Replaces `$name` by the value of `define name = value`; unknown variables stay as written
/// (the statement parser then reports them).
fn substitute(stmt: &str, defines: &[(String, String)]) -> String {
    if !stmt.contains('$') || defines.is_empty() {
        return stmt.to_string();
    }
    let mut out = String::with_capacity(stmt.len());
    let mut rest = stmt;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        match defines.iter().find(|(n, _)| {
            after.starts_with(n.as_str())
                && !after[n.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        }) {
            Some((name, value)) => {
                out.push_str(value);
                rest = &after[name.len()..];
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Parses `nft list ruleset` output.
pub fn parse_text(text: &str) -> Config {
    let mut sets: HashMap<(String, String), Vec<Value>> = HashMap::new();
    let mut chains: Vec<RawChain> = Vec::new();
    let mut unparsed = Vec::new();
    let mut notes = Vec::new();
    // context: table (family, name), chain index, set name with its pending element text
    let mut table: Option<(String, String)> = None;
    let mut chain: Option<usize> = None;
    let mut set: Option<(String, String)> = None; // (name, collected text)
    let mut skip_depth = 0usize; // inside a block portplan does not model
    for (line, stmt) in layout(text) {
        let l = stmt.as_str();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let toks = tokens(l);
        if skip_depth > 0 {
            skip_depth += toks.iter().filter(|t| *t == "{").count();
            skip_depth -= toks.iter().filter(|t| *t == "}").count().min(skip_depth);
            continue;
        }
        if let Some((name, collected)) = &mut set {
            collected.push(' ');
            collected.push_str(l);
            let opens = collected.matches('{').count();
            let closes = collected.matches('}').count();
            if closes >= opens {
                // the set block is complete (the text starts with its own opening brace)
                let body = collected.clone();
                let name = name.clone();
                set = None;
                let t = tokens(&body);
                let mut values = Vec::new();
                if let Some(at) = t.iter().position(|w| w == "elements") {
                    let mut i = at + 1;
                    if t.get(i).map(|s| s.as_str()) == Some("=") {
                        i += 1;
                    }
                    if let Some((Value::Set(items), _)) = read_value(&t, i) {
                        values = items;
                    }
                }
                let tname = table.as_ref().map(|t| t.1.clone()).unwrap_or_default();
                sets.insert((tname, name), values);
            }
            continue;
        }
        match toks.first().map(|s| s.as_str()) {
            Some("table") if toks.len() >= 3 => {
                let (family, name) = if toks.len() >= 4 && toks[3] == "{" {
                    (toks[1].clone(), toks[2].clone())
                } else {
                    ("ip".to_string(), toks[1].clone())
                };
                table = Some((family, name));
                chain = None;
            }
            Some("set") | Some("map") if table.is_some() && chain.is_none() => {
                let name = toks.get(1).cloned().unwrap_or_default();
                if toks.first().map(|s| s.as_str()) == Some("map") {
                    notes.push(format!(
                        "map `{name}` (line {line}) is not modelled; rules using it are uncertain"
                    ));
                    skip_depth = 1;
                    continue;
                }
                let rest = l
                    .split_once('{')
                    .map(|(_, r)| r.to_string())
                    .unwrap_or_default();
                set = Some((name, format!("{{{rest}")));
                // a one-line set closes immediately
                if rest.matches('}').count() > rest.matches('{').count() {
                    let (name, body) = set.take().unwrap_or_default();
                    let t = tokens(&body);
                    let mut values = Vec::new();
                    if let Some(at) = t.iter().position(|w| w == "elements") {
                        let i = if t.get(at + 1).map(|s| s.as_str()) == Some("=") {
                            at + 2
                        } else {
                            at + 1
                        };
                        if let Some((Value::Set(items), _)) = read_value(&t, i) {
                            values = items;
                        }
                    }
                    let tname = table.as_ref().map(|t| t.1.clone()).unwrap_or_default();
                    sets.insert((tname, name), values);
                }
            }
            Some("chain") if table.is_some() => {
                let (family, tname) = table.clone().unwrap_or_default();
                chains.push(RawChain {
                    table: tname,
                    family,
                    name: toks.get(1).cloned().unwrap_or_default(),
                    hook: None,
                    kind: String::new(),
                    device: None,
                    policy_accept: true,
                    policy_at: Location::line(line, l),
                    rules: Vec::new(),
                });
                chain = Some(chains.len() - 1);
            }
            Some("flowtable") | Some("counter") | Some("quota") | Some("ct") | Some("limit")
            | Some("secmark")
                if chain.is_none() && l.ends_with('{') =>
            {
                skip_depth = 1;
            }
            Some("}") => {
                if chain.is_some() {
                    chain = None;
                } else {
                    table = None;
                }
            }
            Some("type") if chain.is_some() => {
                let c = &mut chains[chain.unwrap_or(0)];
                c.kind = toks.get(1).cloned().unwrap_or_default();
                if let Some(d) = toks.iter().position(|t| t == "device") {
                    c.device = toks.get(d + 1).map(|t| t.trim_matches('"').to_string());
                }
                if let Some(h) = toks.iter().position(|t| t == "hook") {
                    let hook = toks.get(h + 1).cloned().unwrap_or_default();
                    let prio_text = l
                        .split_once("priority")
                        .map(|(_, p)| p.split(';').next().unwrap_or("").to_string())
                        .unwrap_or_default();
                    c.hook = Some((hook, priority(&prio_text)));
                }
                if let Some(p) = toks.iter().position(|t| t == "policy") {
                    c.policy_accept = toks.get(p + 1).map(|s| s.as_str()) != Some("drop");
                    c.policy_at = Location::line(line, l);
                }
            }
            Some("policy") if chain.is_some() => {
                let c = &mut chains[chain.unwrap_or(0)];
                c.policy_accept = toks.get(1).map(|s| s.as_str()) != Some("drop");
                c.policy_at = Location::line(line, l);
            }
            Some(_) if chain.is_some() => {
                for toks in expand(&toks) {
                    let stmts = statements(&toks);
                    chains[chain.unwrap_or(0)]
                        .rules
                        .push((Location::line(line, l), stmts));
                }
            }
            // `flush ruleset` / `delete table …` at the top of a script only clear what came before
            Some("flush") | Some("delete") if chain.is_none() && table.is_none() => {}
            // command style: `add rule inet fw forward tcp dport 443 accept` (and `insert rule`)
            Some("add") | Some("insert")
                if chain.is_none() && toks.get(1).map(String::as_str) == Some("rule") =>
            {
                let (family, tname, cname, rest) = match toks.get(2).map(String::as_str) {
                    Some("ip" | "ip6" | "inet" | "netdev" | "bridge" | "arp") => {
                        (toks[2].clone(), toks.get(3), toks.get(4), 5)
                    }
                    _ => ("ip".to_string(), toks.get(2), toks.get(3), 4),
                };
                let found = tname.zip(cname).and_then(|(t, c)| {
                    chains
                        .iter()
                        .position(|rc| rc.family == family && &rc.table == t && &rc.name == c)
                });
                match found {
                    Some(at) => {
                        let mut new = Vec::new();
                        for toks in expand(&toks[rest.min(toks.len())..]) {
                            new.push((Location::line(line, l), statements(&toks)));
                        }
                        if toks[0] == "insert" {
                            chains[at].rules.splice(0..0, new);
                        } else {
                            chains[at].rules.extend(new);
                        }
                    }
                    None => unparsed.push(Unparsed {
                        line,
                        text: l.to_string(),
                        why: "a rule for a chain not defined before it".into(),
                    }),
                }
            }
            Some(_) => unparsed.push(Unparsed {
                line,
                text: l.to_string(),
                why: "not a table, set or chain statement".into(),
            }),
            None => {}
        }
    }
    assemble("nftables", chains, &sets, unparsed, notes)
}

// ---------------------------------------------------------------- JSON

fn json_value(v: &serde_json::Value) -> Option<Value> {
    use serde_json::Value as J;
    match v {
        J::String(s) => Some(parse_value_word(s)),
        J::Number(n) => Some(Value::Word(n.to_string())),
        J::Array(items) => Some(Value::Set(items.iter().filter_map(json_value).collect())),
        J::Object(o) => {
            if let Some(p) = o.get("prefix") {
                let addr = p.get("addr")?.as_str()?;
                let len = p.get("len")?.as_u64()?;
                return format!("{addr}/{len}")
                    .parse::<ipnet::IpNet>()
                    .ok()
                    .map(|n| Value::Net(n.trunc()));
            }
            if let Some(J::Array(r)) = o.get("range") {
                let a = r.first()?;
                let b = r.get(1)?;
                let text = |x: &J| {
                    x.as_str()
                        .map(|s| s.to_string())
                        .or_else(|| x.as_u64().map(|n| n.to_string()))
                };
                return Some(Value::Range(text(a)?, text(b)?));
            }
            if let Some(J::Array(items)) = o.get("set") {
                return Some(Value::Set(items.iter().filter_map(json_value).collect()));
            }
            if let Some(e) = o.get("elem") {
                return json_value(e.get("val")?);
            }
            None
        }
        _ => None,
    }
}

fn json_key(left: &serde_json::Value) -> Option<Key> {
    if let Some(meta) = left.get("meta") {
        return match meta.get("key")?.as_str()? {
            "iifname" | "iif" => Some(Key::Iif),
            "oifname" | "oif" => Some(Key::Oif),
            "l4proto" => Some(Key::L4proto),
            "nfproto" => Some(Key::Nfproto),
            _ => None,
        };
    }
    if let Some(p) = left.get("payload") {
        let proto = p.get("protocol")?.as_str()?;
        let field = p.get("field")?.as_str()?;
        return match (proto, field) {
            ("ip", "saddr") => Some(Key::Saddr(Family::V4)),
            ("ip", "daddr") => Some(Key::Daddr(Family::V4)),
            ("ip6", "saddr") => Some(Key::Saddr(Family::V6)),
            ("ip6", "daddr") => Some(Key::Daddr(Family::V6)),
            ("ip", "protocol") | ("ip6", "nexthdr") => Some(Key::L4proto),
            ("tcp", "dport") => Some(Key::Dport(PROTO_TCP)),
            ("udp", "dport") => Some(Key::Dport(PROTO_UDP)),
            ("th", "dport") => Some(Key::Dport(PROTO_TCP | PROTO_UDP)),
            (_, "sport") => Some(Key::Sport),
            _ => None,
        };
    }
    if let Some(ct) = left.get("ct") {
        return (ct.get("key")?.as_str()? == "state").then_some(Key::CtState);
    }
    None
}

fn json_statements(exprs: &[serde_json::Value]) -> Vec<Stmt> {
    let mut out = Vec::new();
    for e in exprs {
        let Some((kind, body)) = e.as_object().and_then(|o| o.iter().next()) else {
            out.push(Stmt::Unknown("empty expression".into()));
            continue;
        };
        let stmt = match kind.as_str() {
            "match" => {
                let op = body.get("op").and_then(|o| o.as_str()).unwrap_or("==");
                let key = body.get("left").and_then(json_key);
                let value = body.get("right").and_then(json_value);
                match (key, value, op) {
                    (Some(key), Some(value), "==" | "in") => Stmt::Match {
                        key,
                        negated: false,
                        value,
                    },
                    (Some(key), Some(value), "!=") => Stmt::Match {
                        key,
                        negated: true,
                        value,
                    },
                    _ => Stmt::Unknown(format!("match {}", body)),
                }
            }
            "accept" => Stmt::Verdict(Action::Accept),
            "drop" | "reject" => Stmt::Verdict(Action::Drop),
            "return" => Stmt::Verdict(Action::Return),
            "jump" | "goto" => match body.get("target").and_then(|t| t.as_str()) {
                Some(t) if kind == "jump" => Stmt::Verdict(Action::Jump(t.into())),
                Some(t) => Stmt::Verdict(Action::Goto(t.into())),
                None => Stmt::Unknown(format!("{kind} without a target")),
            },
            "counter" | "log" | "comment" => Stmt::Neutral,
            other => Stmt::Unknown(format!("statement `{other}`")),
        };
        out.push(stmt);
    }
    out
}

/// Parses `nft -j list ruleset` output.
pub fn parse_json(text: &str) -> Result<Config, String> {
    let doc: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let items = doc
        .get("nftables")
        .and_then(|v| v.as_array())
        .ok_or("no `nftables` array at the top")?;
    let mut chains: Vec<RawChain> = Vec::new();
    let mut sets: HashMap<(String, String), Vec<Value>> = HashMap::new();
    let mut notes = Vec::new();
    let str_of = |o: &serde_json::Value, k: &str| {
        o.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string()
    };
    for (i, item) in items.iter().enumerate() {
        if let Some(c) = item.get("chain") {
            let at = Location {
                line: None,
                text: format!(
                    "chain {} {} {} (item {})",
                    str_of(c, "family"),
                    str_of(c, "table"),
                    str_of(c, "name"),
                    i + 1
                ),
            };
            chains.push(RawChain {
                table: str_of(c, "table"),
                family: str_of(c, "family"),
                name: str_of(c, "name"),
                hook: c.get("hook").and_then(|h| h.as_str()).map(|h| {
                    let prio = c.get("prio").and_then(|p| p.as_i64()).unwrap_or(0);
                    (h.to_string(), prio)
                }),
                kind: str_of(c, "type"),
                device: c.get("dev").and_then(|d| d.as_str()).map(str::to_string),
                policy_accept: str_of(c, "policy") != "drop",
                policy_at: at,
                rules: Vec::new(),
            });
        } else if let Some(s) = item.get("set") {
            let values = s
                .get("elem")
                .and_then(|e| e.as_array())
                .map(|a| a.iter().filter_map(json_value).collect())
                .unwrap_or_default();
            sets.insert((str_of(s, "table"), str_of(s, "name")), values);
        } else if let Some(r) = item.get("rule") {
            let (table, chain) = (str_of(r, "table"), str_of(r, "chain"));
            let handle = r.get("handle").and_then(|h| h.as_u64()).unwrap_or(0);
            let exprs = r
                .get("expr")
                .and_then(|e| e.as_array())
                .cloned()
                .unwrap_or_default();
            let at = Location {
                line: None,
                text: format!(
                    "rule handle {handle} in {table}/{chain}: {}",
                    describe_exprs(&exprs)
                ),
            };
            let stmts = json_statements(&exprs);
            match chains
                .iter_mut()
                .find(|c| c.table == table && c.name == chain && c.family == str_of(r, "family"))
            {
                Some(c) => c.rules.push((at, stmts)),
                None => notes.push(format!(
                    "{} refers to chain `{chain}` that is not listed before it",
                    at.text
                )),
            }
        } else if item.get("map").is_some() {
            notes.push("maps are not modelled; rules using them are uncertain".into());
        }
    }
    Ok(assemble("nftables-json", chains, &sets, Vec::new(), notes))
}

/// A short nft-like rendering of JSON expressions, for messages.
fn describe_exprs(exprs: &[serde_json::Value]) -> String {
    fn side(v: &serde_json::Value) -> String {
        if let Some(p) = v.get("payload") {
            let proto = p.get("protocol").and_then(|x| x.as_str()).unwrap_or("?");
            let field = p.get("field").and_then(|x| x.as_str()).unwrap_or("?");
            return format!("{proto} {field}");
        }
        for key in ["meta", "ct"] {
            if let Some(m) = v.get(key) {
                return format!(
                    "{key} {}",
                    m.get("key").and_then(|x| x.as_str()).unwrap_or("?")
                );
            }
        }
        match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
    exprs
        .iter()
        .filter_map(|e| {
            let (kind, body) = e.as_object()?.iter().next()?;
            Some(match kind.as_str() {
                "match" => {
                    let op = body.get("op").and_then(|o| o.as_str()).unwrap_or("==");
                    let left = body.get("left").map(side).unwrap_or_default();
                    let right = body.get("right").map(side).unwrap_or_default();
                    if op == "==" {
                        format!("{left} {right}")
                    } else {
                        format!("{left} {op} {right}")
                    }
                }
                "counter" => return None,
                "jump" | "goto" => format!(
                    "{kind} {}",
                    body.get("target").and_then(|t| t.as_str()).unwrap_or("?")
                ),
                other => other.to_string(),
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------- both

fn words_of(
    v: &Value,
    table: &str,
    sets: &HashMap<(String, String), Vec<Value>>,
) -> Result<Vec<Value>, String> {
    match v {
        Value::Set(items) => Ok(items.clone()),
        Value::SetRef(name) => sets
            .get(&(table.to_string(), name.clone()))
            .cloned()
            .ok_or_else(|| format!("set `@{name}` is not defined in table `{table}`")),
        other => Ok(vec![other.clone()]),
    }
}

fn build_rule(
    at: Location,
    stmts: &[Stmt],
    table: &str,
    table_family: Option<Family>,
    sets: &HashMap<(String, String), Vec<Value>>,
) -> Rule {
    let mut rule = Rule::new(at, Action::Continue);
    rule.family = table_family;
    let mut uncertain: Vec<String> = Vec::new();
    let mut implied_proto: Option<u8> = None;
    for s in stmts {
        match s {
            Stmt::Neutral => {}
            Stmt::Unknown(why) => uncertain.push(why.clone()),
            Stmt::Verdict(a) => rule.action = a.clone(),
            Stmt::Match {
                key,
                negated,
                value,
            } => {
                let items = match words_of(value, table, sets) {
                    Ok(i) => i,
                    Err(e) => {
                        uncertain.push(e);
                        continue;
                    }
                };
                match key {
                    Key::Iif | Key::Oif => {
                        let name = match items.as_slice() {
                            [Value::Word(w)] => w.clone(),
                            _ => {
                                uncertain.push("interface set".into());
                                continue;
                            }
                        };
                        let m = Some(IfaceMatch {
                            name,
                            negated: *negated,
                        });
                        if *key == Key::Iif {
                            rule.iif = m
                        } else {
                            rule.oif = m
                        }
                    }
                    Key::Saddr(f) | Key::Daddr(f) => {
                        rule.family = Some(*f);
                        let before = uncertain.len();
                        let mut set = AddrSet::default();
                        for it in &items {
                            match it {
                                Value::Net(n) => set.push_net(n),
                                Value::Range(a, b) => {
                                    match (a.parse::<IpAddr>(), b.parse::<IpAddr>()) {
                                        (Ok(a), Ok(b)) if a <= b && a.is_ipv4() == b.is_ipv4() => {
                                            set.push_range(a, b)
                                        }
                                        _ => uncertain.push(format!("address range `{a}-{b}`")),
                                    }
                                }
                                other => uncertain.push(format!("address `{other:?}`")),
                            }
                        }
                        // an element not understood: the rule may match more than was read, so
                        // its (maybe) match must cover at least everything it could match
                        let m = if uncertain.len() > before && !*negated {
                            None
                        } else {
                            Some(AddrMatch {
                                set,
                                negated: *negated,
                            })
                        };
                        if matches!(key, Key::Saddr(_)) {
                            rule.src = m
                        } else {
                            rule.dst = m
                        }
                    }
                    Key::L4proto => {
                        let bits = items.iter().fold(0u8, |acc, it| {
                            acc | match it {
                                Value::Word(w) => proto_bits(w),
                                _ => PROTO_OTHER,
                            }
                        });
                        rule.proto = Some((bits, *negated));
                    }
                    Key::Dport(p) => {
                        implied_proto = Some(*p);
                        let before = uncertain.len();
                        let mut ranges = Vec::new();
                        for it in &items {
                            let port = |w: &str| w.parse::<u16>().ok().or_else(|| service_port(w));
                            match it {
                                Value::Word(w) => match port(w) {
                                    Some(n) => ranges.push((n, n)),
                                    None => uncertain.push(format!("port `{w}`")),
                                },
                                Value::Range(a, b) => match (port(a), port(b)) {
                                    (Some(a), Some(b)) if a <= b => ranges.push((a, b)),
                                    _ => uncertain.push(format!("port range `{a}-{b}`")),
                                },
                                other => uncertain.push(format!("port `{other:?}`")),
                            }
                        }
                        rule.dport = if uncertain.len() > before && !*negated {
                            None
                        } else {
                            Some(PortMatch {
                                ranges,
                                negated: *negated,
                            })
                        };
                    }
                    Key::Sport => uncertain.push("source port match".into()),
                    Key::CtState => {
                        let new = items
                            .iter()
                            .any(|it| matches!(it, Value::Word(w) if w == "new"));
                        rule.new_connections = Some(new != *negated);
                    }
                    Key::Nfproto => {
                        if let [Value::Word(w)] = items.as_slice() {
                            let named = match w.as_str() {
                                "ipv4" => Some(Family::V4),
                                "ipv6" => Some(Family::V6),
                                _ => None,
                            };
                            match (named, *negated) {
                                (Some(f), false) => rule.family = Some(f),
                                (Some(Family::V4), true) => rule.family = Some(Family::V6),
                                (Some(Family::V6), true) => rule.family = Some(Family::V4),
                                _ => uncertain.push(format!("meta nfproto `{w}`")),
                            }
                        }
                    }
                }
            }
        }
    }
    if let Some(p) = implied_proto {
        rule.proto = Some(match rule.proto {
            Some((bits, false)) => (bits & p, false),
            _ => (p, false),
        });
    }
    if !uncertain.is_empty() {
        // what portplan could not read may be the verdict itself (a verdict map, say)
        if rule.action == Action::Continue {
            rule.action = Action::Unknown;
        }
        rule.uncertain = Some(uncertain.join(", "));
    }
    rule
}

/// Well-known service names nft prints instead of numbers (with `-S`/older versions).
fn service_port(name: &str) -> Option<u16> {
    Some(match name {
        "http" => 80,
        "https" => 443,
        "domain" => 53,
        "sip" => 5060,
        "sip-tls" => 5061,
        "stun" => 3478,
        "xmpp-server" => 5269,
        "http-alt" | "webcache" => 8080,
        _ => return None,
    })
}

fn assemble(
    format: &'static str,
    raw: Vec<RawChain>,
    sets: &HashMap<(String, String), Vec<Value>>,
    unparsed: Vec<Unparsed>,
    mut notes: Vec<String>,
) -> Config {
    let qualified = |table: &str, name: &str| format!("{table}/{name}");
    let mut chains = Vec::new();
    let mut entries: Vec<((u8, i64), Entry)> = Vec::new();
    let mut families: Vec<Family> = Vec::new();
    for c in &raw {
        let table_family = match c.family.as_str() {
            "ip" => Some(Family::V4),
            "ip6" => Some(Family::V6),
            _ => None,
        };
        let relevant = matches!(c.family.as_str(), "ip" | "ip6" | "inet");
        // the hooks a forwarded packet passes, in order; a filter chain on any of them can drop it
        let rank = match c.hook.as_ref().map(|(h, _)| h.as_str()) {
            Some("ingress") if c.family == "netdev" || c.family == "inet" => Some(0),
            Some("prerouting") if relevant => Some(1),
            Some("forward") if relevant => Some(2),
            Some("postrouting") if relevant => Some(3),
            _ => None,
        };
        let evaluated = rank.is_some() && c.kind != "nat";
        if let Some((hook, _)) = &c.hook
            && !evaluated
        {
            notes.push(format!(
                "chain `{}` ({} hook {hook}) does not filter forwarded packets and was not evaluated",
                qualified(&c.table, &c.name),
                if c.kind.is_empty() { "filter" } else { c.kind.as_str() },
            ));
            chains.push(Chain {
                name: qualified(&c.table, &c.name),
                rules: Vec::new(),
            });
            continue;
        }
        let rules = c
            .rules
            .iter()
            .map(|(at, stmts)| {
                let mut r = build_rule(at.clone(), stmts, &c.table, table_family, sets);
                // jumps stay inside the table
                r.action = match r.action {
                    Action::Jump(t) => Action::Jump(qualified(&c.table, &t)),
                    Action::Goto(t) => Action::Goto(qualified(&c.table, &t)),
                    a => a,
                };
                r
            })
            .collect();
        chains.push(Chain {
            name: qualified(&c.table, &c.name),
            rules,
        });
        if let (Some(rank), Some((hook, prio))) = (rank, &c.hook) {
            entries.push((
                (rank, *prio),
                Entry {
                    chain: qualified(&c.table, &c.name),
                    family: table_family,
                    iif: c.device.clone().filter(|_| hook == "ingress"),
                    oif: None,
                    policy_accept: c.policy_accept,
                    policy_at: c.policy_at.clone(),
                },
            ));
            if hook == "forward" {
                match table_family {
                    Some(f) => families.push(f),
                    None => families.extend([Family::V4, Family::V6]),
                }
            }
        }
    }
    entries.sort_by_key(|(p, _)| *p);
    // a statement portplan could not read could add a rule to any chain: every entry starts with
    // a rule that may do anything, so no verdict is definite while such lines remain
    if let Some(first) = unparsed.first() {
        for (_, entry) in &entries {
            if let Some(c) = chains.iter_mut().find(|c| c.name == entry.chain) {
                let mut r = Rule::new(Location::line(first.line, &first.text), Action::Unknown);
                r.uncertain = Some(format!(
                    "{} line(s) not interpreted (from line {}) may add rules to this chain",
                    unparsed.len(),
                    first.line
                ));
                c.rules.insert(0, r);
            }
        }
    }
    let forward_chain = !families.is_empty();
    if !forward_chain {
        notes.push("no base chain on the forward hook: nftables forwards everything".into());
        families = vec![Family::V4, Family::V6];
        // lines portplan could not read might be the forward chain it did not find
        let mut rules = Vec::new();
        if let Some(first) = unparsed.first() {
            let mut r = Rule::new(Location::line(first.line, &first.text), Action::Drop);
            r.uncertain = Some(format!(
                "{} line(s) not interpreted (from line {}) may define a forward chain",
                unparsed.len(),
                first.line
            ));
            rules.push(r);
        }
        chains.push(Chain {
            name: "(no forward chain)".into(),
            rules,
        });
        entries.push((
            (2, 0),
            Entry {
                chain: "(no forward chain)".into(),
                family: None,
                iif: None,
                oif: None,
                policy_accept: true,
                policy_at: Location {
                    line: None,
                    text: "no forward base chain: forwarded packets pass".into(),
                },
            },
        ));
        entries.sort_by_key(|(p, _)| *p);
    }
    families.sort();
    families.dedup();
    Config {
        format,
        chains,
        entries: entries.into_iter().map(|(_, e)| e).collect(),
        unparsed,
        families,
        notes,
        nat: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_split_punctuation_and_keep_strings() {
        assert_eq!(
            tokens(r#"tcp dport { 80, 443 } counter accept comment "a b""#),
            vec![
                "tcp", "dport", "{", "80", ",", "443", "}", "counter", "accept", "comment",
                "\"a b\""
            ]
        );
    }

    #[test]
    fn priorities_read_names_and_offsets() {
        assert_eq!(priority("filter"), 0);
        assert_eq!(priority("filter + 10"), 10);
        assert_eq!(priority("-150"), -150);
    }

    #[test]
    fn a_small_ruleset_with_sets_parses() {
        let text = r#"table inet fw {
	set edges {
		type ipv4_addr
		flags interval
		elements = { 172.25.33.11, 172.25.33.21,
			     10.0.0.0/8 }
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		iifname "inside" oifname "dmz" ip daddr @edges tcp dport { 443, 4443 } counter packets 0 bytes 0 accept
		meta mark 0x1 drop
	}
}
"#;
        let c = parse_text(text);
        assert!(c.unparsed.is_empty(), "{:?}", c.unparsed);
        let fwd = c.chain("fw/forward").unwrap();
        assert_eq!(fwd.rules.len(), 3);
        assert_eq!(fwd.rules[0].new_connections, Some(false));
        let r = &fwd.rules[1];
        assert_eq!(r.dst.as_ref().unwrap().set.v4.len(), 3);
        assert_eq!(
            r.dport.as_ref().unwrap().ranges,
            vec![(443, 443), (4443, 4443)]
        );
        assert_eq!(r.proto, Some((PROTO_TCP, false)));
        assert!(fwd.rules[2].uncertain.is_some());
        assert_eq!(c.entries.len(), 1);
        assert!(!c.entries[0].policy_accept);
    }
}
