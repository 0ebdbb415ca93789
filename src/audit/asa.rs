//! Cisco ASA configurations: `object` / `object-group` (network, service, protocol, nested groups),
//! extended `access-list` entries, and `access-group … in|out interface …` bindings. Each bound ACL
//! is an entry ending in the ASA's implicit deny. An interface with no ACL falls back to security
//! levels (higher to lower permitted); where a level is not known, flows are uncertain.
//!
//! A configuration is read as the script the ASA runs: a block entered again (`interface`,
//! `object network`) applies its sub-commands to what is already there (a new `nat` replaces the
//! object's NAT, a later `shutdown` or `no nameif` takes effect), and the `no` / `clear configure`
//! forms of ACLs, access-groups, NAT, objects and same-security-traffic are applied exactly. Any
//! other `no` / `clear configure` line that could change what is forwarded makes every verdict
//! uncertain.

use super::iptables::proto_bits;
use super::model::*;
use super::space::{PROTO_ALL, PROTO_TCP, PROTO_UDP};
use std::collections::HashMap;
use std::net::IpAddr;

#[derive(Debug, Clone, Default)]
struct ServiceDef {
    /// (protocol bits, destination port ranges); empty ranges = any port
    entries: Vec<(u8, Vec<(u16, u16)>)>,
}

#[derive(Default)]
struct Objects {
    networks: HashMap<String, AddrSet>,
    /// `networks` once read and resolved, each set shared by every rule that names it
    shared: HashMap<String, SharedSet>,
    services: HashMap<String, ServiceDef>,
    protocols: HashMap<String, u8>,
    /// group -> nested groups, resolved after reading
    nested: HashMap<String, Vec<String>>,
    /// where each object or group is defined
    lines: HashMap<String, usize>,
    /// `name 203.0.113.5 edge-av` aliases
    names: HashMap<String, IpAddr>,
    /// `nat …` lines inside `object network` blocks: (object, line, text)
    object_nats: Vec<(String, usize, String)>,
    /// objects and groups with a member portplan could not read (directly or nested)
    unread: HashMap<String, String>,
    /// groups that include themselves (directly, through other groups, or by nesting such a
    /// group): what the cycle is, with the line of each group in it
    cycles: HashMap<String, String>,
    /// names that appear somewhere other than their own definition and `group-object` lines
    referenced: std::collections::HashSet<String>,
}

impl Objects {
    /// An address written literally or as a `name` alias.
    fn ip(&self, text: &str) -> Option<IpAddr> {
        text.parse().ok().or_else(|| self.names.get(text).copied())
    }
}

/// `name A ALIAS [description …]` lines, read before anything that may use them.
fn read_names(lines: &[&str], unparsed: &mut Vec<Unparsed>) -> HashMap<String, IpAddr> {
    let mut names = HashMap::new();
    for (n, raw) in lines.iter().enumerate() {
        let w: Vec<&str> = raw.split_whitespace().collect();
        if raw.starts_with(' ') || raw.starts_with('\t') {
            continue;
        }
        if let ["name", addr, alias, ..] = w.as_slice() {
            match addr.parse::<IpAddr>() {
                Ok(ip) => {
                    names.insert((*alias).to_string(), ip);
                }
                Err(_) => unparsed.push(Unparsed {
                    line: n + 1,
                    text: raw.trim().into(),
                    why: format!("`{addr}` is not an address"),
                }),
            }
        }
    }
    names
}

fn port_number(name: &str) -> Option<u16> {
    if let Ok(n) = name.parse::<u16>() {
        return Some(n);
    }
    Some(match name {
        "www" | "http" => 80,
        "https" => 443,
        "domain" => 53,
        "sip" => 5060,
        "ftp" => 21,
        "ssh" => 22,
        "telnet" => 23,
        "smtp" => 25,
        "ldap" => 389,
        "ldaps" => 636,
        "ntp" => 123,
        "snmp" => 161,
        "syslog" => 514,
        _ => return None,
    })
}

/// `eq 443`, `range 50000 59999`, `lt 1024`, `gt 1023`, `neq 80` at `w[i..]`.
fn port_op(w: &[&str], i: usize) -> Option<(Vec<(u16, u16)>, usize)> {
    let op = *w.get(i)?;
    let a = || port_number(w.get(i + 1)?);
    Some(match op {
        "eq" => {
            let p = a()?;
            (vec![(p, p)], 2)
        }
        "neq" => {
            let p = a()?;
            (complement16(&[(p, p)]), 2)
        }
        "lt" => {
            let p = a()?;
            (if p == 0 { vec![] } else { vec![(0, p - 1)] }, 2)
        }
        "gt" => {
            let p = a()?;
            (
                if p == u16::MAX {
                    vec![]
                } else {
                    vec![(p + 1, u16::MAX)]
                },
                2,
            )
        }
        "range" => {
            let lo = a()?;
            let hi = port_number(w.get(i + 2)?)?;
            (vec![(lo.min(hi), lo.max(hi))], 3)
        }
        _ => return None,
    })
}

fn complement16(r: &[(u16, u16)]) -> Vec<(u16, u16)> {
    let iv: Vec<(u128, u128)> = r
        .iter()
        .map(|(a, b)| (u128::from(*a), u128::from(*b)))
        .collect();
    complement(&iv, (0, u128::from(u16::MAX)))
        .into_iter()
        .map(|(a, b)| (a as u16, b as u16))
        .collect()
}

fn mask_len(mask: &str) -> Option<u8> {
    let m: std::net::Ipv4Addr = mask.parse().ok()?;
    let bits = u32::from(m);
    let len = bits.leading_ones();
    (bits.checked_shl(len).unwrap_or(0) == 0).then_some(len as u8)
}

/// An address operand at `w[i..]`: `any`, `any4`, `any6`, `host A`, `A MASK`, `A/len`, `object N`,
/// `object-group N`. Returns the set (None = any) and the words used.
fn address(w: &[&str], i: usize, objs: &Objects) -> Result<(Option<SharedSet>, usize), String> {
    let first = *w.get(i).ok_or("missing address")?;
    match first {
        "any" => Ok((None, 1)),
        "any4" => Ok((
            Some(SharedSet::new(AddrSet {
                v4: AddrSet::any().v4,
                v6: vec![],
            })),
            1,
        )),
        "any6" => Ok((
            Some(SharedSet::new(AddrSet {
                v4: vec![],
                v6: AddrSet::any().v6,
            })),
            1,
        )),
        "host" => {
            let text = w.get(i + 1).ok_or("`host` needs an address")?;
            let ip: IpAddr = objs
                .ip(text)
                .ok_or_else(|| format!("`{text}` is neither an address nor a `name`"))?;
            let mut s = AddrSet::default();
            s.push_net(&ip.into());
            Ok((Some(s.into()), 2))
        }
        "object" | "object-group" => {
            let name = w.get(i + 1).ok_or("object name missing")?;
            if let Some(cycle) = objs.cycles.get(*name) {
                return Err(cycle.clone());
            }
            if let Some(at) = objs.unread.get(*name) {
                return Err(format!(
                    "network object `{name}` has a member portplan could not read ({at})"
                ));
            }
            objs.shared
                .get(*name)
                .cloned()
                .map(|s| (Some(s), 2))
                .ok_or_else(|| format!("network object `{name}` is not defined"))
        }
        "interface" => Err("`interface` operands are not modelled".into()),
        text => {
            let mut s = AddrSet::default();
            if let Ok(net) = text.parse::<ipnet::IpNet>() {
                s.push_net(&net.trunc());
                return Ok((Some(s.into()), 1));
            }
            let ip: IpAddr = objs
                .ip(text)
                .ok_or_else(|| format!("`{text}` is not an address"))?;
            let len = w
                .get(i + 1)
                .and_then(|m| mask_len(m))
                .ok_or_else(|| format!("`{text}` needs a netmask"))?;
            let net = ipnet::IpNet::new(ip, len).map_err(|e| e.to_string())?;
            s.push_net(&net.trunc());
            Ok((Some(s.into()), 2))
        }
    }
}

/// Folds nested groups into their parents, each group once, in dependency order (an explicit
/// stack, so deep nesting cannot overflow). Members are de-duplicated. A group that includes
/// itself, directly or through others, is dropped with a line saying so: the ASA refuses such
/// groups, and an ACE that names one is then reported as not understood instead of being read
/// with a partial member list.
fn resolve_nested(objs: &mut Objects, unparsed: &mut Vec<Unparsed>) {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Open,
        Done,
    }
    let mut state: HashMap<String, State> = HashMap::new();
    let mut cyclic: std::collections::BTreeSet<String> = Default::default();
    // what each group in `cyclic` is caught in, for its messages
    let mut cycle_of: HashMap<String, String> = HashMap::new();
    // groups without cycles, members before the groups that nest them
    let mut order: Vec<String> = Vec::new();
    let roots: Vec<String> = {
        let mut r: Vec<String> = objs.nested.keys().cloned().collect();
        r.sort();
        r
    };
    for root in roots {
        if state.contains_key(&root) {
            continue;
        }
        // (group, index of the next member to visit)
        let mut stack: Vec<(String, usize)> = vec![(root.clone(), 0)];
        state.insert(root, State::Open);
        while let Some((group, next)) = stack.last().cloned() {
            let member = objs.nested.get(&group).and_then(|m| m.get(next)).cloned();
            if let Some(member) = &member {
                if let Some(top) = stack.last_mut() {
                    top.1 += 1;
                }
                match state.get(member) {
                    Some(State::Open) => {
                        // every group on the stack from `member` up is part of the cycle
                        let from = stack.iter().position(|(g, _)| g == member).unwrap_or(0);
                        let path: Vec<String> = stack[from..]
                            .iter()
                            .map(|(g, _)| match objs.lines.get(g) {
                                Some(l) => format!("{g} (line {l})"),
                                None => g.clone(),
                            })
                            .chain(std::iter::once(member.clone()))
                            .collect();
                        let text = format!(
                            "object-group `{member}` includes itself: {}",
                            path.join(" -> ")
                        );
                        for (g, _) in &stack[from..] {
                            cycle_of.entry(g.clone()).or_insert_with(|| text.clone());
                        }
                        cyclic.extend(stack[from..].iter().map(|(g, _)| g.clone()));
                    }
                    Some(State::Done) => {}
                    None if objs.nested.contains_key(member) => {
                        state.insert(member.clone(), State::Open);
                        stack.push((member.clone(), 0));
                    }
                    None => {}
                }
                continue;
            }
            stack.pop();
            state.insert(group.clone(), State::Done);
            let members = objs.nested.get(&group).cloned().unwrap_or_default();
            if let Some(m) = members.iter().find(|m| cyclic.contains(*m)) {
                if !cycle_of.contains_key(&group) {
                    let inner = cycle_of.get(m).cloned().unwrap_or_default();
                    cycle_of.insert(
                        group.clone(),
                        format!(
                            "object-group `{group}` nests `{m}`, which is in a cycle ({inner})"
                        ),
                    );
                }
                cyclic.insert(group.clone());
            }
            if cyclic.contains(&group) {
                continue;
            }
            order.push(group);
        }
    }
    flatten(objs, &order, &cyclic);
    for group in cyclic {
        objs.networks.remove(&group);
        objs.services.remove(&group);
        let cycle = cycle_of
            .remove(&group)
            .unwrap_or_else(|| format!("object-group `{group}` includes itself"));
        unparsed.push(Unparsed {
            line: objs.lines.get(&group).copied().unwrap_or(0),
            text: format!("object-group {group}"),
            why: format!(
                "{cycle}; the ASA refuses such groups, so rules naming it are not evaluated"
            ),
        });
        objs.cycles.insert(group, cycle);
    }
}

/// Gives each nested group the union of its members. A group nested in a group nested in … is
/// not copied level by level (1,000 levels over 100,000 hosts made 10^8 copies): a group's union
/// is gathered from the members' own entries in one walk, each group visited once, and only for
/// the groups something outside `group-object` lines names, or that have own entries mixed with
/// groups.
fn flatten(objs: &mut Objects, order: &[String], cyclic: &std::collections::BTreeSet<String>) {
    if order.is_empty() {
        return;
    }
    // the entries written in each group itself, before any union is stored
    let own_nets: HashMap<String, AddrSet> = order
        .iter()
        .filter_map(|g| objs.networks.get(g).map(|s| (g.clone(), s.clone())))
        .collect();
    let own_svcs: HashMap<String, ServiceDef> = order
        .iter()
        .filter_map(|g| objs.services.get(g).map(|s| (g.clone(), s.clone())))
        .collect();
    let nested_in: std::collections::HashSet<&String> = objs.nested.values().flatten().collect();
    for group in order {
        // a group only ever used inside other groups needs no union of its own
        if nested_in.contains(group) && !objs.referenced.contains(group) {
            continue;
        }
        let mut nets: Option<AddrSet> = None;
        let mut svcs: Option<ServiceDef> = None;
        let mut seen: std::collections::HashSet<&str> = Default::default();
        let mut stack: Vec<&str> = vec![group.as_str()];
        while let Some(g) = stack.pop() {
            if !seen.insert(g) {
                continue;
            }
            let set = own_nets.get(g).or_else(|| {
                (!objs.nested.contains_key(g))
                    .then(|| objs.networks.get(g))
                    .flatten()
            });
            if let Some(set) = set {
                let n = nets.get_or_insert_with(AddrSet::default);
                n.v4.extend_from_slice(&set.v4);
                n.v6.extend_from_slice(&set.v6);
            }
            let svc = own_svcs.get(g).or_else(|| {
                (!objs.nested.contains_key(g))
                    .then(|| objs.services.get(g))
                    .flatten()
            });
            if let Some(svc) = svc {
                svcs.get_or_insert_with(ServiceDef::default)
                    .entries
                    .extend(svc.entries.iter().cloned());
            }
            if let Some(members) = objs.nested.get(g) {
                stack.extend(
                    members
                        .iter()
                        .filter(|m| !cyclic.contains(*m))
                        .map(String::as_str),
                );
            }
        }
        if let Some(mut g) = nets {
            g.v4 = super::space::normalize(std::mem::take(&mut g.v4));
            g.v6 = super::space::normalize(std::mem::take(&mut g.v6));
            objs.networks.insert(group.clone(), g);
        }
        if let Some(mut svc) = svcs {
            svc.entries.sort();
            svc.entries.dedup();
            objs.services.insert(group.clone(), svc);
        }
    }
}

fn read_objects(lines: &[&str], unparsed: &mut Vec<Unparsed>) -> Objects {
    let mut objs = Objects {
        names: read_names(lines, unparsed),
        ..Objects::default()
    };
    // (kind, name, group protocol for `object-group service NAME tcp`)
    let mut current: Option<(String, String, u8)> = None;
    // the block is an `object` (one definition, replaced when given again), not a group
    let mut single = false;
    for (n, raw) in lines.iter().enumerate() {
        let line = n + 1;
        let indented = raw.starts_with(' ') || raw.starts_with('\t');
        let w: Vec<&str> = raw.split_whitespace().collect();
        if w.is_empty() {
            continue;
        }
        if !indented {
            single = w.first() == Some(&"object");
            if let ["no", "object", "network", name] = w.as_slice() {
                // the object goes, and its NAT with it (the ASA refuses while an access-list
                // or group uses it; those uses then fail to resolve and are uncertain)
                objs.object_nats.retain(|(o, _, _)| o != name);
                objs.networks.remove(*name);
            }
            current = match w.as_slice() {
                ["object", "network", name, ..] => Some(("network".into(), (*name).into(), 0)),
                ["object-group", "network", name, ..] => {
                    Some(("network".into(), (*name).into(), 0))
                }
                ["object", "service", name, ..] => Some(("service".into(), (*name).into(), 0)),
                ["object-group", "service", name, proto] => {
                    let bits = match *proto {
                        "tcp" => PROTO_TCP,
                        "udp" => PROTO_UDP,
                        "tcp-udp" => PROTO_TCP | PROTO_UDP,
                        _ => PROTO_ALL,
                    };
                    Some(("service".into(), (*name).into(), bits))
                }
                ["object-group", "service", name] => Some(("service".into(), (*name).into(), 0)),
                ["object-group", "protocol", name, ..] => {
                    Some(("protocol".into(), (*name).into(), 0))
                }
                _ => None,
            };
            if let Some((_, name, _)) = &current {
                objs.lines.entry(name.clone()).or_insert(line);
            }
            if let Some((kind, name, _)) = &current {
                match kind.as_str() {
                    "network" => {
                        objs.networks.entry(name.clone()).or_default();
                    }
                    "service" => {
                        objs.services.entry(name.clone()).or_default();
                    }
                    _ => {}
                }
            }
            continue;
        }
        let Some((kind, name, group_proto)) = current.clone() else {
            continue;
        };
        let bad = |why: String, unparsed: &mut Vec<Unparsed>| {
            unparsed.push(Unparsed {
                line,
                text: raw.trim().into(),
                why,
            })
        };
        let before = unparsed.len();
        if single
            && kind == "network"
            && matches!(w.first(), Some(&"host") | Some(&"subnet") | Some(&"range"))
        {
            // `object network X` entered again: the new definition replaces the old one
            objs.networks.insert(name.clone(), AddrSet::default());
        }
        match (kind.as_str(), w.as_slice()) {
            (_, ["description", ..]) => {}
            (_, ["group-object", member]) => objs
                .nested
                .entry(name.clone())
                .or_default()
                .push((*member).into()),
            ("network", ["network-object", "object", member]) => objs
                .nested
                .entry(name.clone())
                .or_default()
                .push((*member).into()),
            ("network", ["host", a]) | ("network", ["network-object", "host", a]) => {
                match objs.ip(a) {
                    Some(ip) => objs
                        .networks
                        .entry(name.clone())
                        .or_default()
                        .push_net(&ip.into()),
                    None => bad(format!("`{a}` is not an address or `name`"), unparsed),
                }
            }
            ("network", ["subnet", a, m]) | ("network", ["network-object", a, m]) => {
                match (objs.ip(a), mask_len(m)) {
                    (Some(ip), Some(len)) => match ipnet::IpNet::new(ip, len) {
                        Ok(net) => objs
                            .networks
                            .entry(name.clone())
                            .or_default()
                            .push_net(&net.trunc()),
                        Err(e) => bad(e.to_string(), unparsed),
                    },
                    _ => bad("not an address and netmask".into(), unparsed),
                }
            }
            ("network", ["subnet", cidr]) | ("network", ["network-object", cidr]) => {
                match cidr.parse::<ipnet::IpNet>() {
                    Ok(net) => objs
                        .networks
                        .entry(name.clone())
                        .or_default()
                        .push_net(&net.trunc()),
                    Err(_) => bad(format!("`{cidr}` is not a network"), unparsed),
                }
            }
            ("network", ["range", a, b]) => match (objs.ip(a), objs.ip(b)) {
                (Some(a), Some(b)) if a <= b && a.is_ipv4() == b.is_ipv4() => objs
                    .networks
                    .entry(name.clone())
                    .or_default()
                    .push_range(a, b),
                _ => bad("not an address range".into(), unparsed),
            },
            ("network", ["nat", ..]) => {
                // an object has one NAT rule: a new one replaces it
                objs.object_nats.retain(|(o, _, _)| *o != name);
                objs.object_nats
                    .push((name.clone(), line, raw.trim().to_string()))
            }
            ("network", ["no", "nat", rest @ ..]) => {
                let before = objs.object_nats.len();
                objs.object_nats.retain(|(o, _, t)| {
                    !(*o == name
                        && (rest.is_empty()
                            || t.split_whitespace().skip(1).eq(rest.iter().copied())))
                });
                if objs.object_nats.len() == before {
                    bad(
                        format!("`no nat` names a NAT object `{name}` does not have"),
                        unparsed,
                    );
                }
            }
            ("network", ["fqdn", ..]) => {
                bad("an fqdn object resolves at run time".into(), unparsed)
            }
            ("service", ["port-object", rest @ ..]) => match port_op(rest, 0) {
                Some((ranges, _)) => objs
                    .services
                    .entry(name.clone())
                    .or_default()
                    .entries
                    .push((
                        if group_proto == 0 {
                            PROTO_TCP | PROTO_UDP
                        } else {
                            group_proto
                        },
                        ranges,
                    )),
                None => bad("unreadable port-object".into(), unparsed),
            },
            ("service", ["service-object", "object", member]) => objs
                .nested
                .entry(name.clone())
                .or_default()
                .push((*member).into()),
            ("service", [first, rest @ ..])
                if *first == "service-object" || *first == "service" =>
            {
                let bits = match rest.first() {
                    Some(&"tcp") => PROTO_TCP,
                    Some(&"udp") => PROTO_UDP,
                    Some(&"tcp-udp") => PROTO_TCP | PROTO_UDP,
                    Some(&"ip") => PROTO_ALL,
                    Some(other) => proto_bits(other),
                    None => {
                        bad("service without a protocol".into(), unparsed);
                        continue;
                    }
                };
                // [source OP …] destination OP …
                let dest_at = rest.iter().position(|x| *x == "destination");
                if rest.contains(&"source") {
                    bad("source port conditions are not modelled".into(), unparsed);
                }
                let ranges = match dest_at {
                    Some(d) => match port_op(rest, d + 1) {
                        Some((r, _)) => r,
                        None => {
                            bad("unreadable destination port".into(), unparsed);
                            continue;
                        }
                    },
                    None => match port_op(rest, 1) {
                        Some((r, _)) => r,
                        None => vec![],
                    },
                };
                objs.services
                    .entry(name.clone())
                    .or_default()
                    .entries
                    .push((bits, ranges));
            }
            ("protocol", ["protocol-object", p]) => {
                *objs.protocols.entry(name.clone()).or_default() |= proto_bits(p);
            }
            _ => bad(
                format!("`{}` in {kind} object `{name}` is not understood", w[0]),
                unparsed,
            ),
        }
        if unparsed.len() > before {
            objs.unread
                .entry(name.clone())
                .or_insert_with(|| format!("line {line}"));
        }
    }
    for raw in lines {
        let w: Vec<&str> = raw.split_whitespace().collect();
        if matches!(w.first(), Some(&"object-group") | Some(&"group-object")) {
            continue;
        }
        for word in w {
            if objs.nested.contains_key(word) {
                objs.referenced.insert(word.to_string());
            }
        }
    }
    resolve_nested(&mut objs, unparsed);
    objs.shared = std::mem::take(&mut objs.networks)
        .into_iter()
        .map(|(name, set)| (name, SharedSet::new(set)))
        .collect();
    // a group with an unread member is unread too (cycles were removed above)
    for _ in 0..=objs.nested.len() {
        let found: Vec<(String, String)> = objs
            .nested
            .iter()
            .filter(|(g, _)| !objs.unread.contains_key(*g))
            .filter_map(|(g, members)| {
                let at = members.iter().find_map(|m| objs.unread.get(m))?;
                Some((g.clone(), at.clone()))
            })
            .collect();
        if found.is_empty() {
            break;
        }
        objs.unread.extend(found);
    }
    objs
}

/// Parses an ASA configuration (the relevant parts of `show running-config`).
pub fn parse(text: &str) -> Config {
    let lines: Vec<&str> = text.lines().collect();
    let mut unparsed = Vec::new();
    let objs = read_objects(&lines, &mut unparsed);
    let mut chains: Vec<Chain> = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    let mut notes = Vec::new();
    // each ACL as its entries in order: (the entry's words after the name, its rules); a
    // remark is an entry too (ASA line numbers count remarks)
    let mut acls: Vec<(String, Vec<Ace>)> = Vec::new();
    // access-lists removed as a whole while bound: (name, line, text)
    let mut removed_while_bound: Vec<(String, usize, String)> = Vec::new();
    // `no` / `clear configure` lines that may change what is forwarded and are not applied
    let mut doubts: Vec<Unparsed> = Vec::new();
    let doubt = |line: usize, raw: &str, why: &str| Unparsed {
        line,
        text: raw.trim().into(),
        why: why.into(),
    };
    for (n, raw) in lines.iter().enumerate() {
        let line = n + 1;
        if raw.starts_with(' ') || raw.starts_with('\t') {
            continue;
        }
        let w: Vec<&str> = raw.split_whitespace().collect();
        match w.as_slice() {
            ["no", "access-list", name, rest @ ..] => {
                let Some((_, aces)) = acls.iter_mut().find(|(n, _)| n == name) else {
                    notes.push(format!(
                        "line {line}: `no access-list {name}` removes an access-list that is not defined before it"
                    ));
                    continue;
                };
                if rest.is_empty() {
                    aces.clear();
                    if entries.iter().any(|e| e.chain == *name) {
                        removed_while_bound.push(((*name).to_string(), line, raw.trim().into()));
                    }
                    continue;
                }
                let text = ace_text(rest);
                match aces.iter().position(|(t, _)| *t == text) {
                    Some(i) => {
                        aces.remove(i);
                    }
                    None => notes.push(format!(
                        "line {line}: `no access-list {name} …` names an entry the access-list does not have (the ASA refuses it)"
                    )),
                }
            }
            ["access-list", name, rest @ ..] => {
                // `line N`: the entry goes in before the current N-th line
                let (position, rest): (Option<usize>, Vec<&str>) = if rest.first() == Some(&"line")
                {
                    (
                        rest.get(1).and_then(|l| l.parse::<usize>().ok()),
                        rest.iter().skip(2).copied().collect(),
                    )
                } else {
                    (None, rest.to_vec())
                };
                let text = ace_text(&rest);
                let rules = if rest.first() == Some(&"remark") {
                    Vec::new()
                } else {
                    let at = Location::line(line, raw);
                    match ace(&rest, at.clone(), &objs) {
                        Ok(rules) => rules,
                        Err(why) => {
                            unparsed.push(Unparsed {
                                line,
                                text: raw.trim().into(),
                                why: why.clone(),
                            });
                            let mut r = Rule::new(at, Action::Jump("?".into()));
                            r.uncertain = Some(why);
                            vec![r]
                        }
                    }
                };
                let aces = match acls.iter_mut().position(|(n, _)| n == name) {
                    Some(i) => &mut acls[i].1,
                    None => {
                        acls.push(((*name).into(), Vec::new()));
                        &mut acls.last_mut().expect("just pushed").1
                    }
                };
                match position {
                    Some(p) if p >= 1 && p <= aces.len() => aces.insert(p - 1, (text, rules)),
                    _ => aces.push((text, rules)),
                }
            }
            ["access-group", acl, dir, "interface", iface, ..] => {
                let implicit = Location {
                    line: Some(line),
                    text: format!("implicit deny at the end of access-list {acl}"),
                };
                let (iif, oif) = match *dir {
                    "in" => (Some((*iface).to_string()), None),
                    "out" => (None, Some((*iface).to_string())),
                    other => {
                        unparsed.push(Unparsed {
                            line,
                            text: raw.trim().into(),
                            why: format!("direction `{other}`"),
                        });
                        continue;
                    }
                };
                entries.push(Entry {
                    chain: (*acl).into(),
                    family: None,
                    iif,
                    oif,
                    policy_accept: false,
                    policy_at: implicit,
                    first_packet_only: false,
                    before_conntrack: false,
                });
            }
            ["access-group", acl, "global", ..] => {
                let implicit = Location {
                    line: Some(line),
                    text: format!("implicit deny at the end of global access-list {acl}"),
                };
                entries.push(Entry {
                    chain: (*acl).into(),
                    family: None,
                    iif: None,
                    oif: None,
                    policy_accept: false,
                    policy_at: implicit,
                    first_packet_only: false,
                    before_conntrack: false,
                });
            }
            ["clear", "configure", "access-list", which @ ..] if which.len() <= 1 => {
                for (name, aces) in acls
                    .iter_mut()
                    .filter(|(n, _)| which.first().is_none_or(|w| w == n))
                {
                    aces.clear();
                    if entries.iter().any(|e| e.chain == *name) {
                        removed_while_bound.push((name.clone(), line, raw.trim().into()));
                    }
                }
            }
            ["no", "access-group", acl, dir, "interface", iface, ..] => {
                let (iif, oif) = match *dir {
                    "in" => (Some(*iface), None),
                    "out" => (None, Some(*iface)),
                    _ => {
                        doubts.push(doubt(line, raw, "a `no access-group` portplan cannot read"));
                        continue;
                    }
                };
                match entries.iter().position(|e| {
                    e.chain == *acl && e.iif.as_deref() == iif && e.oif.as_deref() == oif
                }) {
                    Some(i) => {
                        entries.remove(i);
                    }
                    None => notes.push(format!(
                        "line {line}: `no access-group {acl} {dir} interface {iface}` removes a binding that is not there"
                    )),
                }
            }
            ["no", "access-group", acl, "global", ..] => {
                match entries
                    .iter()
                    .position(|e| e.chain == *acl && e.iif.is_none() && e.oif.is_none())
                {
                    Some(i) => {
                        entries.remove(i);
                    }
                    None => notes.push(format!(
                        "line {line}: `no access-group {acl} global` removes a binding that is not there"
                    )),
                }
            }
            ["clear", "configure", "access-group"] => entries.clear(),
            // read where what they undo is read: interfaces, objects, NAT, same-security-traffic
            ["clear", "configure", "nat"]
            | ["no", "object", "network", _]
            | ["no", "nat", ..]
            | ["no", "same-security-traffic", "permit", "inter-interface"] => {}
            ["no", what, ..] | ["clear", "configure", what, ..] if changes_forwarding(what) => {
                doubts.push(doubt(
                    line,
                    raw,
                    "a `no` or `clear configure` form portplan does not apply",
                ));
            }
            ["clear", "configure"] => {
                doubts.push(doubt(line, raw, "clears the whole configuration before it"));
            }
            _ => {}
        }
    }
    for (name, aces) in acls {
        let mut rules: Vec<Rule> = aces.into_iter().flat_map(|(_, rules)| rules).collect();
        if let Some((_, line, text)) = removed_while_bound
            .iter()
            .rev()
            .find(|(n, _, _)| *n == name)
        {
            // the ASA either refuses to remove an access-list an access-group uses, or (with
            // forward references) keeps the binding to an empty list, or drops the binding with
            // it: the flows it filters are uncertain
            let mut r = Rule::new(Location::line(*line, text), Action::Unknown);
            r.uncertain = Some(format!(
                "access-list {name} is removed while an access-group uses it"
            ));
            rules.insert(0, r);
        }
        chains.push(Chain { name, rules });
    }
    global_fallthrough(&mut chains, &mut entries);
    let hw = interface_blocks(&lines);
    let ifaces = read_interfaces(&hw);
    let nat = read_nat(&lines, &objs, &ifaces, &mut unparsed);
    // the last of `same-security-traffic permit inter-interface` and its `no` form counts
    let same_security = lines
        .iter()
        .rev()
        .find_map(
            |l| match l.split_whitespace().collect::<Vec<_>>().as_slice() {
                ["same-security-traffic", "permit", "inter-interface"] => Some(true),
                ["no", "same-security-traffic", "permit", "inter-interface"] => Some(false),
                ["clear", "configure", "same-security-traffic"] => Some(false),
                _ => None,
            },
        )
        .unwrap_or(false);
    let global = entries.iter().any(|e| e.iif.is_none() && e.oif.is_none());
    let bound: Vec<String> = entries.iter().filter_map(|e| e.iif.clone()).collect();
    let unbound: Vec<&Iface> = ifaces
        .iter()
        .filter(|i| !global && !bound.contains(&i.name))
        .collect();
    let no_acl = entries.is_empty();
    // an interface without an inbound access-list (and no global one) follows security levels:
    // higher to lower is permitted, lower to higher denied, equal denied unless
    // `same-security-traffic permit inter-interface`
    for from in &unbound {
        for to in ifaces.iter().filter(|t| t.name != from.name) {
            let permit = from.level > to.level || from.level == to.level && same_security;
            let name = format!("security-level {} -> {}", from.name, to.name);
            chains.push(Chain {
                name: name.clone(),
                rules: Vec::new(),
            });
            entries.push(Entry {
                chain: name,
                family: None,
                iif: Some(from.name.clone()),
                oif: Some(to.name.clone()),
                policy_accept: permit,
                policy_at: Location {
                    line: Some(from.level_line),
                    text: format!(
                        "no access-group on {} (security-level {}) towards {} (security-level {}): {}",
                        from.name,
                        from.level,
                        to.name,
                        to.level,
                        if permit {
                            "higher to lower is permitted"
                        } else if from.level == to.level {
                            "equal levels are denied without same-security-traffic permit inter-interface"
                        } else {
                            "lower to higher is denied"
                        }
                    ),
                },
                first_packet_only: false,
                    before_conntrack: false,
            });
        }
    }
    interfaces_that_pass_nothing(&hw, &ifaces, same_security, &mut chains, &mut entries);
    if no_acl && ifaces.is_empty() {
        notes.push("no access-group binds an access-list and no interface has a nameif and security level: what the ASA forwards cannot be told".into());
    } else if ifaces.is_empty() {
        notes.push("interfaces without an inbound access-group follow security levels; flows entering there are reported as uncertain".into());
    } else if !unbound.is_empty() {
        notes.push(format!(
            "interfaces without an inbound access-group follow security levels ({}); flows between interfaces whose level the configuration does not give are uncertain",
            unbound
                .iter()
                .map(|i| format!("{} {}", i.name, i.level))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    // a `no` or `clear configure` line portplan does not apply could change any verdict: each
    // entry starts with a rule that may do anything
    if let Some(first) = doubts.first() {
        let why = format!(
            "{} `no`/`clear configure` line(s) not applied (from line {})",
            doubts.len(),
            first.line
        );
        let names: std::collections::BTreeSet<String> =
            entries.iter().map(|e| e.chain.clone()).collect();
        for c in chains.iter_mut().filter(|c| names.contains(&c.name)) {
            let mut r = Rule::new(Location::line(first.line, &first.text), Action::Unknown);
            r.uncertain = Some(why.clone());
            c.rules.insert(0, r);
        }
        unparsed.extend(doubts);
    }
    Config {
        format: "asa",
        chains,
        entries,
        unparsed,
        families: vec![crate::plan::Family::V4, crate::plan::Family::V6],
        notes,
        nat,
        chain_index: Default::default(),
    }
}

/// Whether removing or clearing this kind of command can change what the ASA forwards (a
/// `no pager` or `no logging …` cannot).
fn changes_forwarding(what: &str) -> bool {
    matches!(
        what,
        "access-list"
            | "access-group"
            | "nat"
            | "object"
            | "object-group"
            | "interface"
            | "nameif"
            | "security-level"
            | "shutdown"
            | "same-security-traffic"
            | "static"
            | "global"
            | "name"
            | "names"
            | "nat-control"
            | "established"
            | "all"
    )
}

/// One access-list entry: its words after the ACL name (what `no access-list` names) and rules.
type Ace = (String, Vec<Rule>);

/// An access-list entry as `no access-list` names it: its words after the ACL name.
fn ace_text(words: &[&str]) -> String {
    words.join(" ")
}

/// With `access-group NAME global`, a packet entering an interface with its own inbound ACL is
/// checked against that ACL first (first match); what matches none of its entries goes on to the
/// global ACL, and only the global ACL ends in the implicit deny. Interfaces without an inbound
/// ACL see the global ACL alone. The global entry and the inbound entries become one entry that
/// dispatches on the ingress interface.
fn global_fallthrough(chains: &mut Vec<Chain>, entries: &mut Vec<Entry>) {
    let Some(g) = entries
        .iter()
        .position(|e| e.iif.is_none() && e.oif.is_none())
    else {
        return;
    };
    let global = entries.remove(g);
    let mut dispatch = Vec::new();
    let mut keep = Vec::new();
    for e in entries.drain(..) {
        let Some(iif) = e.iif.clone().filter(|_| e.oif.is_none()) else {
            keep.push(e);
            continue;
        };
        let name = format!("{} then global {}", e.chain, global.chain);
        let mut rules = chains
            .iter()
            .find(|c| c.name == e.chain)
            .map(|c| c.rules.clone())
            .unwrap_or_default();
        rules.push(Rule::new(
            global.policy_at.clone(),
            Action::Goto(global.chain.clone()),
        ));
        chains.push(Chain {
            name: name.clone(),
            rules,
        });
        let mut r = Rule::new(e.policy_at.clone(), Action::Goto(name));
        r.iif = Some(IfaceMatch {
            name: iif,
            negated: false,
        });
        dispatch.push(r);
    }
    dispatch.push(Rule::new(
        global.policy_at.clone(),
        Action::Goto(global.chain.clone()),
    ));
    let name = format!("(inbound access-lists, then global {})", global.chain);
    chains.push(Chain {
        name: name.clone(),
        rules: dispatch,
    });
    entries.push(Entry {
        chain: name,
        ..global
    });
    entries.extend(keep);
}

/// Traffic the ASA forwards between no interfaces whatever the ACLs say: into or out of an
/// interface that is `shutdown`, and between two interfaces of equal security level without
/// `same-security-traffic permit inter-interface`.
fn interfaces_that_pass_nothing(
    hw: &[HwIface],
    ifaces: &[Iface],
    same_security: bool,
    chains: &mut Vec<Chain>,
    entries: &mut Vec<Entry>,
) {
    // `shutdown` in any block of an interface that has a nameif (a later `no shutdown` undoes
    // it); an interface whose nameif was removed passes nothing either
    let mut shut: Vec<(String, Location)> = Vec::new();
    for h in hw {
        match (&h.nameif, h.shutdown, &h.lost_nameif) {
            (Some(name), Some(at), _) => shut.push((
                name.clone(),
                Location {
                    line: Some(at),
                    text: format!("interface {name} is shut down"),
                },
            )),
            (None, _, Some((name, at))) => shut.push((
                name.clone(),
                Location {
                    line: Some(*at),
                    text: format!(
                        "`no nameif` on interface {}: {name} no longer exists and passes no traffic",
                        h.hw
                    ),
                },
            )),
            _ => {}
        }
    }
    let mut deny = |from: &str, to: &str, at: Location| {
        let name = format!("(no traffic {from} -> {to})");
        chains.push(Chain {
            name: name.clone(),
            rules: Vec::new(),
        });
        entries.push(Entry {
            chain: name,
            family: None,
            iif: Some(from.to_string()),
            oif: Some(to.to_string()),
            policy_accept: false,
            policy_at: at,
            first_packet_only: false,
            before_conntrack: false,
        });
    };
    for (name, at) in &shut {
        for other in ifaces.iter().filter(|i| i.name != *name) {
            for (from, to) in [(name.as_str(), other.name.as_str()), (&other.name, name)] {
                deny(from, to, at.clone());
            }
        }
    }
    if same_security {
        return;
    }
    for from in ifaces {
        for to in ifaces
            .iter()
            .filter(|t| t.name != from.name && t.level == from.level)
        {
            deny(
                &from.name,
                &to.name,
                Location {
                    line: Some(from.level_line),
                    text: format!(
                        "{} and {} have the same security level ({}) and there is no same-security-traffic permit inter-interface",
                        from.name, to.name, from.level
                    ),
                },
            );
        }
    }
}

/// An interface with a `nameif`: its security level (explicit, or the ASA default: 100 for
/// `inside`, 0 otherwise) and its IPv4 address when given.
struct Iface {
    name: String,
    level: u8,
    level_line: usize,
    address: Option<IpAddr>,
}

/// One physical or logical interface as all its `interface NAME` blocks leave it: the ASA applies
/// the sub-commands of a block entered again to the interface it already has, and `no nameif`,
/// `no shutdown`, `no security-level`, `no ip address` undo what came before.
struct HwIface {
    /// The name after `interface` (`GigabitEthernet0/0`).
    hw: String,
    nameif: Option<String>,
    /// The nameif a `no nameif` removed, with that line.
    lost_nameif: Option<(String, usize)>,
    level: Option<(u8, usize)>,
    address: Option<IpAddr>,
    /// The line of a `shutdown` still in force.
    shutdown: Option<usize>,
    /// The line of the first block.
    line: usize,
}

fn interface_blocks(lines: &[&str]) -> Vec<HwIface> {
    let mut out: Vec<HwIface> = Vec::new();
    let mut cur: Option<usize> = None;
    for (n, raw) in lines.iter().enumerate() {
        let w: Vec<&str> = raw.split_whitespace().collect();
        let indented = raw.starts_with(' ') || raw.starts_with('\t');
        if !indented {
            cur = None;
            if w.first() == Some(&"interface") && w.len() > 1 {
                let hw = w[1..].join(" ");
                cur = Some(match out.iter().position(|h| h.hw == hw) {
                    Some(i) => i,
                    None => {
                        out.push(HwIface {
                            hw,
                            nameif: None,
                            lost_nameif: None,
                            level: None,
                            address: None,
                            shutdown: None,
                            line: n + 1,
                        });
                        out.len() - 1
                    }
                });
            }
            continue;
        }
        let Some(c) = cur.map(|i| &mut out[i]) else {
            continue;
        };
        match w.as_slice() {
            ["nameif", name] => {
                c.nameif = Some((*name).to_string());
                c.lost_nameif = None;
            }
            ["no", "nameif", ..] => {
                if let Some(name) = c.nameif.take() {
                    c.lost_nameif = Some((name, n + 1));
                }
            }
            ["security-level", l] => {
                if let Ok(l) = l.parse::<u8>() {
                    c.level = Some((l.min(100), n + 1));
                }
            }
            ["no", "security-level", ..] => c.level = None,
            ["ip", "address", a, ..] => c.address = a.parse().ok(),
            ["no", "ip", "address", ..] => c.address = None,
            ["shutdown"] => c.shutdown = Some(n + 1),
            ["no", "shutdown"] => c.shutdown = None,
            _ => {}
        }
    }
    out
}

/// The interfaces that have a nameif, with their security level (explicit, or the ASA default:
/// 100 for `inside`, 0 otherwise).
fn read_interfaces(hw: &[HwIface]) -> Vec<Iface> {
    let mut out: Vec<Iface> = Vec::new();
    for h in hw {
        let Some(name) = h.nameif.clone() else {
            continue;
        };
        let (level, level_line) = h
            .level
            .unwrap_or((if name == "inside" { 100 } else { 0 }, h.line));
        out.retain(|i| i.name != name);
        out.push(Iface {
            name,
            level,
            level_line,
            address: h.address,
        });
    }
    out
}

/// What the mapped side of a NAT rule is: addresses, or the mapped interface's own address.
enum Mapped {
    Set(AddrSet),
    Interface,
}

/// A NAT operand: `any`, an object or group, a `name`, or a literal address.
fn nat_operand(word: &str, objs: &Objects) -> Result<Option<AddrSet>, String> {
    if word == "any" {
        return Ok(None);
    }
    if let Some(cycle) = objs.cycles.get(word) {
        return Err(cycle.clone());
    }
    if let Some(at) = objs.unread.get(word) {
        return Err(format!(
            "object `{word}` has a member portplan could not read ({at})"
        ));
    }
    if let Some(set) = objs.shared.get(word) {
        return Ok(Some(AddrSet::clone(set)));
    }
    match objs.ip(word) {
        Some(ip) => {
            let mut s = AddrSet::default();
            s.push_net(&ip.into());
            Ok(Some(s))
        }
        None => Err(format!(
            "`{word}` is not a network object, `name` or address"
        )),
    }
}

/// How a static translation between two address sets maps addresses: `Ok(false)` one address to
/// one, `Ok(true)` network to network keeping host parts.
fn static_shape(real: &Option<AddrSet>, mapped: &Option<AddrSet>) -> Result<bool, String> {
    let (Some(r), Some(m)) = (real, mapped) else {
        return if real.is_none() && mapped.is_none() {
            Ok(true)
        } else {
            Err("a static translation between `any` and addresses".into())
        };
    };
    let one = |s: &AddrSet| -> Option<(u128, u128)> {
        let v4 = super::space::normalize(s.v4.clone());
        let v6 = super::space::normalize(s.v6.clone());
        match (v4.as_slice(), v6.as_slice()) {
            ([iv], []) | ([], [iv]) => Some(*iv),
            _ => None,
        }
    };
    let (Some(a), Some(b)) = (one(r), one(m)) else {
        return Err("a static translation of several address blocks".into());
    };
    if r.v4.is_empty() != m.v4.is_empty() {
        return Err("a static translation between address families".into());
    }
    let (sa, sb) = (a.1 - a.0, b.1 - b.0);
    if sa != sb {
        return Err("a static translation between sets of different sizes".into());
    }
    if sa == 0 {
        return Ok(false);
    }
    let size = sa.wrapping_add(1);
    let aligned = |iv: (u128, u128)| size.is_power_of_two() && iv.0 % size == 0;
    if aligned(a) && aligned(b) {
        Ok(true)
    } else {
        Err("a static translation between address ranges that are not networks".into())
    }
}

/// One NAT rule, read: its place in the ASA's order and the translations it makes.
struct NatRule {
    /// 1 manual (twice) NAT, 2 object NAT, 3 `after-auto` manual NAT
    section: u8,
    /// within object NAT: static before dynamic, then fewer real addresses first
    rank: (u8, u128),
    nats: Vec<Nat>,
}

fn set_size(s: &Option<AddrSet>) -> u128 {
    match s {
        None => u128::MAX,
        Some(s) => {
            s.v4.iter()
                .chain(&s.v6)
                .map(|(a, b)| b - a)
                .fold(0u128, |x, y| x.saturating_add(y).saturating_add(1))
        }
    }
}

/// Object NAT (`nat (real,mapped) static|dynamic …` in an `object network`) and twice NAT
/// (`nat (real,mapped) [after-auto] source static|dynamic REAL MAPPED [destination static …]`),
/// in the order the ASA applies them. A static rule gives a destination translation (traffic to
/// the mapped address entering the mapped interface) and a source translation (the real
/// addresses leaving through it); a dynamic one only the source. What portplan cannot read
/// exactly becomes a translation marked uncertain over what it may match.
fn read_nat(
    lines: &[&str],
    objs: &Objects,
    ifaces: &[Iface],
    unparsed: &mut Vec<Unparsed>,
) -> Vec<Nat> {
    let mut rules: Vec<(usize, NatRule)> = Vec::new();
    // `clear configure nat` removes every NAT rule before it, object NAT included
    let cleared = lines
        .iter()
        .rposition(|l| l.split_whitespace().collect::<Vec<_>>() == ["clear", "configure", "nat"])
        .map_or(0, |i| i + 1);
    // `no nat …` at the top level removes the twice NAT written the same way before it
    let mut removed: Vec<usize> = Vec::new();
    for (n, raw) in lines.iter().enumerate() {
        let w: Vec<&str> = raw.split_whitespace().collect();
        if w.first() == Some(&"no") && w.get(1) == Some(&"nat") && !raw.starts_with(' ') {
            let hit = (cleared..n).rev().find(|&i| {
                !removed.contains(&i)
                    && !lines[i].starts_with(' ')
                    && lines[i].split_whitespace().eq(w[1..].iter().copied())
            });
            match hit {
                Some(i) => removed.push(i),
                None => unparsed.push(Unparsed {
                    line: n + 1,
                    text: raw.trim().into(),
                    why: "`no nat` names a NAT rule that is not there".into(),
                }),
            }
        }
    }
    for (object, line, text) in objs.object_nats.iter().filter(|(_, l, _)| *l > cleared) {
        if let Some(at) = objs.unread.get(object) {
            let why = format!("object `{object}` has a member portplan could not read ({at})");
            let mut r = Rule::new(Location::line(*line, text), Action::Continue);
            r.uncertain = Some(why);
            for kind in [NatKind::Destination, NatKind::Source] {
                rules.push((
                    *line,
                    NatRule {
                        section: 2,
                        rank: (0, 0),
                        nats: vec![Nat {
                            kind,
                            matches: r.clone(),
                            to: None,
                            to_ports: None,
                            one_to_one: false,
                        }],
                    },
                ));
            }
            continue;
        }
        let real = objs.shared.get(object).map(|s| AddrSet::clone(s));
        if let Some(r) = nat_rule(text, *line, Some(real), objs, ifaces, unparsed) {
            rules.push((*line, r));
        }
    }
    for (n, raw) in lines.iter().enumerate() {
        if raw.starts_with(' ') || raw.starts_with('\t') || n < cleared || removed.contains(&n) {
            continue;
        }
        let first = raw.split_whitespace().next();
        if matches!(first, Some("static") | Some("global")) {
            // ASA before 8.3: translations (and ACLs on mapped addresses) portplan does not model
            let why = "NAT in the syntax of ASA releases before 8.3 is not modelled".to_string();
            unparsed.push(Unparsed {
                line: n + 1,
                text: raw.trim().into(),
                why: why.clone(),
            });
            let mut r = Rule::new(Location::line(n + 1, raw), Action::Continue);
            r.uncertain = Some(why);
            let nats = [NatKind::Destination, NatKind::Source]
                .into_iter()
                .map(|kind| Nat {
                    kind,
                    matches: r.clone(),
                    to: None,
                    to_ports: None,
                    one_to_one: false,
                })
                .collect();
            rules.push((
                n + 1,
                NatRule {
                    section: 1,
                    rank: (0, 0),
                    nats,
                },
            ));
            continue;
        }
        if first == Some("nat") {
            if let Some(r) = nat_rule(raw.trim(), n + 1, None, objs, ifaces, unparsed) {
                rules.push((n + 1, r));
            }
        }
    }
    rules.sort_by_key(|(line, r)| {
        (
            r.section,
            if r.section == 2 { r.rank } else { (0, 0) },
            *line,
        )
    });
    rules.into_iter().flat_map(|(_, r)| r.nats).collect()
}

fn nat_rule(
    text: &str,
    line: usize,
    object_real: Option<Option<AddrSet>>,
    objs: &Objects,
    ifaces: &[Iface],
    unparsed: &mut Vec<Unparsed>,
) -> Option<NatRule> {
    let at = Location::line(line, text);
    let w: Vec<&str> = text.split_whitespace().collect();
    let fail = |why: String, unparsed: &mut Vec<Unparsed>, section: u8| -> Option<NatRule> {
        unparsed.push(Unparsed {
            line,
            text: text.to_string(),
            why: why.clone(),
        });
        // it may translate anything in both directions
        let mk = |kind| {
            let mut r = Rule::new(at.clone(), Action::Continue);
            r.uncertain = Some(why.clone());
            Nat {
                kind,
                matches: r,
                to: None,
                to_ports: None,
                one_to_one: false,
            }
        };
        Some(NatRule {
            section,
            rank: (0, 0),
            nats: vec![mk(NatKind::Destination), mk(NatKind::Source)],
        })
    };
    let object = object_real.is_some();
    let section0 = if object { 2 } else { 1 };
    if w.contains(&"inactive") {
        return None;
    }
    let Some(pair) = w
        .get(1)
        .and_then(|p| p.strip_prefix('('))
        .and_then(|p| p.strip_suffix(')'))
    else {
        return fail(
            "expected `nat (real_if,mapped_if) …`".into(),
            unparsed,
            section0,
        );
    };
    let Some((real_if, mapped_if)) = pair.split_once(',') else {
        return fail("expected `(real_if,mapped_if)`".into(), unparsed, section0);
    };
    let iface = |n: &str| {
        (n != "any").then(|| IfaceMatch {
            name: n.to_string(),
            negated: false,
        })
    };
    let (real_if, mapped_if) = (real_if.trim(), mapped_if.trim());
    let mut i = 2;
    let mut section = section0;
    if !object {
        if w.get(i) == Some(&"line") {
            i += 2;
        }
        match w.get(i) {
            Some(&"after-auto") | Some(&"after-object") => {
                section = 3;
                i += 1;
            }
            _ => {}
        }
        if w.get(i) != Some(&"source") {
            return fail("expected `source static|dynamic`".into(), unparsed, section);
        }
        i += 1;
    }
    let kind = match w.get(i) {
        Some(&"static") => "static",
        Some(&"dynamic") => "dynamic",
        _ => return fail("expected `static` or `dynamic`".into(), unparsed, section),
    };
    i += 1;
    let real: Option<AddrSet> = match &object_real {
        Some(r) => r.clone(),
        None => {
            let Some(word) = w.get(i) else {
                return fail("the real address is missing".into(), unparsed, section);
            };
            i += 1;
            match nat_operand(word, objs) {
                Ok(s) => s,
                Err(e) => return fail(e, unparsed, section),
            }
        }
    };
    let Some(mapped_word) = w.get(i) else {
        return fail("the mapped address is missing".into(), unparsed, section);
    };
    i += 1;
    let mapped = if *mapped_word == "interface" {
        Mapped::Interface
    } else {
        match nat_operand(mapped_word, objs) {
            Ok(Some(s)) => Mapped::Set(s),
            Ok(None) => Mapped::Set(AddrSet::any()),
            Err(e) => return fail(e, unparsed, section),
        }
    };
    // object NAT to an inline address takes the real object's size (a subnet maps to a subnet)
    let mapped = match (mapped, &real) {
        (Mapped::Set(m), Some(r))
            if object
                && !objs.shared.contains_key(*mapped_word)
                && m.v4.len() + m.v6.len() == 1 =>
        {
            let widen = |mine: &[(u128, u128)], theirs: &[(u128, u128)]| -> Vec<(u128, u128)> {
                match (mine, super::space::normalize(theirs.to_vec()).as_slice()) {
                    ([(a, b)], [(lo, hi)]) if a == b && hi > lo => {
                        let size = (hi - lo).wrapping_add(1);
                        if size.is_power_of_two() {
                            let base = a - a % size;
                            vec![(base, base + (size - 1))]
                        } else {
                            mine.to_vec()
                        }
                    }
                    _ => mine.to_vec(),
                }
            };
            Mapped::Set(AddrSet {
                v4: widen(&m.v4, &r.v4),
                v6: widen(&m.v6, &r.v6),
            })
        }
        (m, _) => m,
    };
    let mapped_any = *mapped_word == "any";
    let mut unidirectional = false;
    let mut service: Option<(u8, u16, u16)> = None;
    let mut dest: Option<Option<AddrSet>> = None;
    let mut why: Vec<String> = Vec::new();
    while let Some(word) = w.get(i) {
        match *word {
            "unidirectional" => unidirectional = true,
            "no-proxy-arp" | "route-lookup" | "dns" | "net-to-net" | "interface" => {}
            "description" => break,
            "service" if object => {
                let proto = match w.get(i + 1) {
                    Some(&"tcp") => super::space::PROTO_TCP,
                    Some(&"udp") => super::space::PROTO_UDP,
                    _ => {
                        why.push("service protocol".into());
                        0
                    }
                };
                match (
                    w.get(i + 2).and_then(|p| port_number(p)),
                    w.get(i + 3).and_then(|p| port_number(p)),
                ) {
                    (Some(real_port), Some(mapped_port)) if proto != 0 => {
                        service = Some((proto, real_port, mapped_port))
                    }
                    _ => why.push("service ports".into()),
                }
                i += 3;
            }
            "service" => {
                why.push("service translation of a twice NAT".into());
                i += 2;
            }
            "destination" if !object => {
                // destination static MAPPED REAL: only the identity form is modelled
                let (Some(&"static"), Some(m), Some(r)) =
                    (w.get(i + 1), w.get(i + 2), w.get(i + 3))
                else {
                    why.push("destination translation".into());
                    break;
                };
                match (nat_operand(m, objs), nat_operand(r, objs)) {
                    (Ok(ms), Ok(rs)) if ms == rs => dest = Some(ms),
                    (Ok(_), Ok(_)) => why.push("a destination that is translated as well".into()),
                    (Err(e), _) | (_, Err(e)) => why.push(e),
                }
                i += 3;
            }
            "pat-pool" | "block-allocation" | "round-robin" | "extended" | "flat"
            | "include-reserve" => {
                why.push(format!("`{word}`"));
            }
            other => why.push(format!("`{other}`")),
        }
        i += 1;
    }
    let interface_address = |n: &str| {
        ifaces
            .iter()
            .find(|i| i.name == n)
            .and_then(|i| i.address)
            .map(|ip| {
                let mut s = AddrSet::default();
                s.push_net(&ip.into());
                s
            })
    };
    let rank = (if kind == "static" { 0 } else { 1 }, set_size(&real));
    let mut nats = Vec::new();
    let why_text = (!why.is_empty()).then(|| why.join(", "));
    let addr = |s: &Option<AddrSet>| {
        s.clone().map(|set| AddrMatch {
            set: set.into(),
            negated: false,
        })
    };
    // source half: the real addresses leaving through the mapped interface
    let source_half = kind == "dynamic" || service.is_none();
    if source_half {
        let mut m = Rule::new(at.clone(), Action::Continue);
        m.iif = iface(real_if);
        m.oif = iface(mapped_if);
        m.src = addr(&real);
        if let Some(d) = &dest {
            m.dst = addr(d);
        }
        let mut nat = Nat {
            kind: NatKind::Source,
            matches: m,
            to: None,
            to_ports: None,
            one_to_one: false,
        };
        match &mapped {
            Mapped::Interface => {
                nat.kind = NatKind::Masquerade;
                nat.to = Some(AddrSet::default());
            }
            Mapped::Set(set) if kind == "dynamic" => nat.to = Some(set.clone()),
            Mapped::Set(set) => {
                let mapped_opt = (!mapped_any).then(|| set.clone());
                match static_shape(&real, &mapped_opt) {
                    Ok(one) => {
                        nat.to = Some(set.clone());
                        nat.one_to_one = one;
                    }
                    Err(e) => why.push(e),
                }
            }
        }
        nats.push(nat);
    }
    // destination half: traffic to the mapped addresses entering the mapped interface
    if kind == "static" && !unidirectional {
        let mut m = Rule::new(at.clone(), Action::Continue);
        m.iif = iface(mapped_if);
        m.oif = iface(real_if);
        if let Some(d) = &dest {
            m.src = addr(d);
        }
        let mapped_set = match &mapped {
            Mapped::Interface => interface_address(mapped_if),
            Mapped::Set(s) => (!mapped_any).then(|| s.clone()),
        };
        let mut nat = Nat {
            kind: NatKind::Destination,
            matches: m,
            to: None,
            to_ports: None,
            one_to_one: false,
        };
        match (&mapped, &mapped_set) {
            (Mapped::Interface, None) => why.push(format!(
                "the address of interface `{mapped_if}` is not in the configuration"
            )),
            _ => {
                nat.matches.dst = addr(&mapped_set);
                match static_shape(&real, &mapped_set) {
                    Ok(one) => {
                        nat.to = Some(real.clone().unwrap_or_else(AddrSet::any));
                        nat.one_to_one = one;
                    }
                    Err(e) => why.push(e),
                }
            }
        }
        if let Some((proto, real_port, mapped_port)) = service {
            nat.matches.proto = Some((proto, false));
            nat.matches.dport = Some(PortMatch {
                ranges: vec![(mapped_port, mapped_port)],
                negated: false,
            });
            nat.to_ports = Some((real_port, real_port));
        }
        nats.push(nat);
    }
    let why_all = (!why.is_empty()).then(|| why.join(", ")).or(why_text);
    if let Some(why) = why_all {
        for n in &mut nats {
            n.to = None;
            n.matches.uncertain = Some(why.clone());
        }
    }
    Some(NatRule {
        section,
        rank,
        nats,
    })
}

/// One access-control entry (`extended permit tcp SRC DST eq 443 log`), as one rule per entry of
/// its service group (all with the entry's action, so their union is exact). Empty when inactive.
fn ace(w: &[&str], at: Location, objs: &Objects) -> Result<Vec<Rule>, String> {
    if w.contains(&"inactive") {
        return Ok(Vec::new());
    }
    let mut i = 0;
    if w.first() == Some(&"extended") {
        i += 1;
    } else if w.first() == Some(&"standard")
        || w.first() == Some(&"webtype")
        || w.first() == Some(&"ethertype")
    {
        return Err(format!("`{}` access-lists are not modelled", w[0]));
    }
    let action = match w.get(i) {
        Some(&"permit") => Action::Accept,
        Some(&"deny") => Action::Drop,
        other => {
            return Err(format!(
                "expected permit or deny, found `{}`",
                other.unwrap_or(&"")
            ));
        }
    };
    i += 1;
    let mut rule = Rule::new(at, action);
    let mut uncertain = Vec::new();
    // protocol: name/number, object-group (protocol or service), object (service)
    let mut service: Option<ServiceDef> = None;
    // the protocol the entry itself names, which a port group in the destination narrows
    let mut ace_proto = PROTO_ALL;
    let unread = |name: &str| -> Result<(), String> {
        if let Some(cycle) = objs.cycles.get(name) {
            return Err(cycle.clone());
        }
        match objs.unread.get(name) {
            Some(at) => Err(format!(
                "object `{name}` has a member portplan could not read ({at})"
            )),
            None => Ok(()),
        }
    };
    match w.get(i) {
        Some(&"object-group") | Some(&"object") => {
            let name = w.get(i + 1).ok_or("object name missing")?;
            unread(name)?;
            if let Some(bits) = objs.protocols.get(*name) {
                ace_proto = *bits;
                rule.proto = Some((*bits, false));
            } else if let Some(svc) = objs.services.get(*name) {
                service = Some(svc.clone());
            } else {
                return Err(format!(
                    "protocol or service object `{name}` is not defined"
                ));
            }
            i += 2;
        }
        Some(p) => {
            ace_proto = proto_bits(p);
            rule.proto = Some((ace_proto, false));
            i += 1;
        }
        None => return Err("missing protocol".into()),
    }
    let (src, used) = address(w, i, objs)?;
    i += used;
    // a source port condition before the destination
    if let Some((ranges, used)) = port_op(w, i) {
        if ranges != vec![(0, u16::MAX)] {
            uncertain.push("source port condition".to_string());
        }
        i += used;
    }
    let (dst, used) = address(w, i, objs)?;
    i += used;
    if let Some((ranges, used)) = port_op(w, i) {
        rule.dport = Some(PortMatch {
            ranges,
            negated: false,
        });
        i += used;
    } else if w.get(i) == Some(&"object-group") {
        let name = w.get(i + 1).ok_or("service group name missing")?;
        unread(name)?;
        let svc = objs
            .services
            .get(*name)
            .ok_or_else(|| format!("service group `{name}` is not defined"))?;
        service = Some(svc.clone());
        i += 2;
    }
    // trailing: log [level] [interval n] | time-range NAME
    while let Some(word) = w.get(i) {
        match *word {
            "log" | "interval" | "disable" | "default" => {}
            "time-range" => {
                uncertain.push("time-range".into());
                i += 1;
            }
            x if x.parse::<u32>().is_ok()
                || matches!(
                    x,
                    "emergencies"
                        | "alerts"
                        | "critical"
                        | "errors"
                        | "warnings"
                        | "notifications"
                        | "informational"
                        | "debugging"
                ) => {}
            other => uncertain.push(format!("`{other}`")),
        }
        i += 1;
    }
    rule.src = src.map(|set| AddrMatch {
        set,
        negated: false,
    });
    rule.dst = dst.map(|set| AddrMatch {
        set,
        negated: false,
    });
    if !uncertain.is_empty() {
        rule.uncertain = Some(uncertain.join(", "));
    }
    let Some(svc) = service else {
        return Ok(vec![rule]);
    };
    if svc.entries.is_empty() {
        return Err("empty service object".into());
    }
    // one rule per (protocols, ports) entry: a group mixing tcp, udp and tcp-udp with different
    // ports is then exact, and a port group narrows the protocol the entry names
    // entries of one protocol set share a rule (empty ranges: any port)
    let mut merged: Vec<(u8, Vec<(u16, u16)>)> = Vec::new();
    for (bits, ranges) in &svc.entries {
        match merged.iter_mut().find(|(b, _)| b == bits) {
            Some((_, r)) if r.is_empty() => {}
            Some((_, r)) if ranges.is_empty() => r.clear(),
            Some((_, r)) => r.extend(ranges.iter().copied()),
            None => merged.push((*bits, ranges.clone())),
        }
    }
    let mut out = Vec::new();
    for (bits, ranges) in &merged {
        let bits = bits & ace_proto;
        if bits == 0 {
            continue;
        }
        let mut r = rule.clone();
        r.proto = Some((bits, false));
        r.dport = (!ranges.is_empty()).then(|| PortMatch {
            ranges: ranges.clone(),
            negated: false,
        });
        out.push(r);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_groups_and_acls() {
        let text = "object network EDGE1\n host 172.25.33.11\nobject-group network EDGES\n network-object object EDGE1\n network-object host 172.25.33.21\nobject-group service LYNC tcp\n port-object eq 443\n port-object range 50001 50003\naccess-list inside_in extended permit tcp 10.10.0.0 255.255.0.0 object-group EDGES object-group LYNC log\naccess-list inside_in extended permit udp any4 object-group EDGES eq 3478\naccess-list inside_in extended permit tcp any any eq 22 time-range office\naccess-list inside_in extended permit tcp any object-group NOPE eq 1\naccess-group inside_in in interface inside\n";
        let c = parse(text);
        let acl = c.chain("inside_in").unwrap();
        assert_eq!(acl.rules.len(), 4);
        let r = &acl.rules[0];
        assert_eq!(
            r.dst.as_ref().unwrap().set.v4.len(),
            2,
            "nested group resolved"
        );
        assert_eq!(
            r.dport.as_ref().unwrap().ranges,
            vec![(443, 443), (50001, 50003)]
        );
        assert!(acl.rules[2].uncertain.is_some());
        assert!(acl.rules[3].uncertain.is_some());
        assert_eq!(c.unparsed.len(), 1);
        assert_eq!(c.entries[0].iif.as_deref(), Some("inside"));
        assert_eq!(mask_len("255.255.255.0"), Some(24));
        assert_eq!(mask_len("255.0.255.0"), None);
    }
}

#[cfg(test)]
mod nat_and_levels {
    use super::*;
    use crate::audit::eval::{Fate, evaluate};
    use crate::audit::space::{PacketBox, Region, addr_value};
    use crate::plan::Family;

    fn verdict(c: &Config, iif: &str, oif: &str, dst: &str, proto: u8, port: u16) -> String {
        let d = addr_value(dst.parse().unwrap());
        let pieces = evaluate(
            c,
            Family::V4,
            iif,
            oif,
            Region::of(PacketBox {
                src: (0, u128::from(u32::MAX)),
                dst: (d, d),
                proto,
                port: (port, port),
            }),
        );
        assert_eq!(pieces.len(), 1, "{pieces:?}");
        match &pieces[0].fate {
            Fate::Allowed(_) => "allowed".into(),
            Fate::Denied(_) => "denied".into(),
            Fate::Uncertain(at) => format!("uncertain {at:?}"),
        }
    }

    #[test]
    fn name_aliases_resolve_in_objects_acls_and_nat() {
        let c = parse(
            "name 172.16.10.12 edge-av-private\nname 203.0.113.12 edge-av description A/V public\nobject network AV\n host edge-av-private\n nat (dmz,outside) static edge-av\naccess-list OUT extended permit udp any host edge-av-private eq 3478\naccess-list OUT extended permit tcp any edge-av-private 255.255.255.255 eq 443\naccess-group OUT in interface outside\n",
        );
        assert!(c.unparsed.is_empty(), "{:?}", c.unparsed);
        assert_eq!(
            verdict(&c, "outside", "dmz", "172.16.10.12", PROTO_UDP, 3478),
            "allowed"
        );
        assert_eq!(
            verdict(&c, "outside", "dmz", "172.16.10.12", PROTO_TCP, 443),
            "allowed"
        );
        assert_eq!(c.nat.len(), 2);
        let dnat = c
            .nat
            .iter()
            .find(|n| n.kind == NatKind::Destination)
            .unwrap();
        let public = addr_value("203.0.113.12".parse().unwrap());
        assert_eq!(
            dnat.matches.dst.as_ref().unwrap().set.v4,
            vec![(public, public)]
        );
        let private = addr_value("172.16.10.12".parse().unwrap());
        assert_eq!(dnat.to.as_ref().unwrap().v4, vec![(private, private)]);
        assert_eq!(dnat.matches.iif.as_ref().unwrap().name, "outside");
        assert_eq!(dnat.matches.oif.as_ref().unwrap().name, "dmz");
    }

    #[test]
    fn no_nat_removes_the_twice_nat_written_the_same_way() {
        let c = parse(
            "object network H\n host 172.16.10.30\nobject network P\n host 203.0.113.30\nnat (dmz,outside) source static H P\nnat (dmz,outside) source static H H\nno nat (dmz,outside) source static H P\nno nat (dmz,outside) source static H NOPE\naccess-group X global\n",
        );
        let lines: Vec<Option<usize>> = c.nat.iter().map(|n| n.matches.at.line).collect();
        assert_eq!(lines, vec![Some(6), Some(6)], "{:?}", c.nat);
        // the second names nothing: listed, not applied
        assert!(c.unparsed.iter().any(|u| u.line == 8), "{:?}", c.unparsed);
    }

    #[test]
    fn an_object_entered_again_is_redefined_not_extended() {
        let c = parse(
            "object network WEB\n host 10.0.0.1\nobject network WEB\n host 10.0.0.2\naccess-list OUT extended permit tcp any object WEB eq 443\naccess-group OUT in interface outside\n",
        );
        assert_eq!(
            verdict(&c, "outside", "dmz", "10.0.0.2", PROTO_TCP, 443),
            "allowed"
        );
        assert_eq!(
            verdict(&c, "outside", "dmz", "10.0.0.1", PROTO_TCP, 443),
            "denied"
        );
    }

    #[test]
    fn the_last_same_security_traffic_line_counts() {
        let base = "interface Gi0/0\n nameif a\n security-level 50\ninterface Gi0/1\n nameif b\n security-level 50\n";
        let on = parse(&format!(
            "{base}same-security-traffic permit inter-interface\n"
        ));
        assert_eq!(
            verdict(&on, "a", "b", "10.0.0.1", PROTO_TCP, 443),
            "allowed"
        );
        let off = parse(&format!(
            "{base}same-security-traffic permit inter-interface\nno same-security-traffic permit inter-interface\n"
        ));
        assert_eq!(
            verdict(&off, "a", "b", "10.0.0.1", PROTO_TCP, 443),
            "denied"
        );
    }

    #[test]
    fn object_and_twice_nat_in_asa_order() {
        let c = parse(
            "object network NET\n subnet 172.16.10.0 255.255.255.0\n nat (dmz,outside) static 203.0.113.0\nobject network PUB\n subnet 203.0.113.0 255.255.255.0\nobject network H\n host 172.16.10.30\n nat (dmz,outside) static 203.0.113.30 service tcp 443 8443\nobject network DYN\n subnet 10.0.0.0 255.0.0.0\n nat (inside,outside) dynamic interface\nnat (dmz,outside) after-auto source static NET PUB\nnat (dmz,outside) source static H H\nnat (dmz,outside) source static H H destination static PUB NET\nnat (dmz,outside) source static H H service SVC SVC\nnat (dmz,outside) source static H H unidirectional inactive\naccess-group X global\n",
        );
        // twice NAT first (lines 13, 14, 15; 16 is inactive), then object NAT (static by size,
        // then dynamic), then after-auto (line 12)
        let lines: Vec<Option<usize>> = c.nat.iter().map(|n| n.matches.at.line).collect();
        assert_eq!(
            lines,
            vec![
                Some(13),
                Some(13),
                Some(14),
                Some(14),
                Some(15),
                Some(15),
                Some(8),
                Some(3),
                Some(3),
                Some(11),
                Some(12),
                Some(12)
            ],
            "{:#?}",
            c.nat
                .iter()
                .map(|n| (n.kind, &n.matches.at))
                .collect::<Vec<_>>()
        );
        // identity twice NAT is read, one translating the destination as well is not
        assert!(c.nat[0].matches.uncertain.is_none());
        assert!(c.nat[2].matches.uncertain.is_some() && c.nat[2].to.is_none());
        assert!(c.nat[4].matches.uncertain.is_some());
        // the service static has only its inbound half, on the mapped port
        let svc = &c.nat[6];
        assert_eq!(svc.kind, NatKind::Destination);
        assert_eq!(svc.to_ports, Some((443, 443)));
        assert_eq!(
            svc.matches.dport.as_ref().unwrap().ranges,
            vec![(8443, 8443)]
        );
        // subnet to subnet keeps host parts
        assert!(c.nat[7].one_to_one && c.nat[8].one_to_one);
        assert_eq!(c.nat[9].kind, NatKind::Masquerade);
    }

    #[test]
    fn service_groups_mixing_tcp_udp_and_tcp_udp_give_definite_answers() {
        let c = parse(
            "object-group service MIX\n service-object tcp destination eq 443\n service-object udp destination range 3478 3479\n service-object tcp-udp destination eq 5061\nobject-group service BOTH tcp-udp\n port-object eq 53\naccess-list OUT extended permit object-group MIX any host 10.0.0.1\naccess-list OUT extended permit tcp any host 10.0.0.2 object-group BOTH\naccess-group OUT in interface outside\n",
        );
        let v = |dst: &str, proto: u8, port: u16| verdict(&c, "outside", "dmz", dst, proto, port);
        assert_eq!(v("10.0.0.1", PROTO_TCP, 443), "allowed");
        assert_eq!(v("10.0.0.1", PROTO_UDP, 443), "denied");
        assert_eq!(v("10.0.0.1", PROTO_UDP, 3479), "allowed");
        assert_eq!(v("10.0.0.1", PROTO_TCP, 3478), "denied");
        assert_eq!(v("10.0.0.1", PROTO_TCP, 5061), "allowed");
        assert_eq!(v("10.0.0.1", PROTO_UDP, 5061), "allowed");
        // a tcp-udp port group under a tcp entry stays tcp
        assert_eq!(v("10.0.0.2", PROTO_TCP, 53), "allowed");
        assert_eq!(v("10.0.0.2", PROTO_UDP, 53), "denied");
    }

    #[test]
    fn interfaces_without_an_acl_follow_security_levels() {
        let base = "interface Gi0/0\n nameif outside\n security-level 0\ninterface Gi0/1\n nameif dmz\n security-level 50\ninterface Gi0/2\n nameif inside\ninterface Gi0/3\n nameif dmz2\n security-level 50\n";
        let c = parse(base);
        let v = |c: &Config, i: &str, o: &str| verdict(c, i, o, "10.0.0.1", PROTO_TCP, 443);
        assert_eq!(
            v(&c, "inside", "dmz"),
            "allowed",
            "100 (default for inside) -> 50"
        );
        assert_eq!(v(&c, "dmz", "outside"), "allowed");
        assert_eq!(v(&c, "outside", "dmz"), "denied");
        assert_eq!(v(&c, "dmz", "inside"), "denied");
        assert_eq!(v(&c, "dmz", "dmz2"), "denied", "equal levels");
        let same = parse(&format!(
            "{base}same-security-traffic permit inter-interface\n"
        ));
        assert_eq!(v(&same, "dmz", "dmz2"), "allowed");
        // an inbound ACL replaces the level rule for its interface
        let acl = parse(&format!(
            "{base}access-list OUT extended permit tcp any any eq 443\naccess-group OUT in interface outside\naccess-list IN extended deny ip any any\naccess-group IN in interface inside\n"
        ));
        assert_eq!(v(&acl, "outside", "dmz"), "allowed");
        assert_eq!(v(&acl, "inside", "dmz"), "denied");
        assert_eq!(v(&acl, "dmz", "outside"), "allowed");
        // a global ACL applies to every interface instead
        let global = parse(&format!(
            "{base}access-list G extended deny ip any any\naccess-group G global\n"
        ));
        assert_eq!(v(&global, "inside", "dmz"), "denied");
        // an interface the configuration says nothing about stays uncertain
        assert!(v(&c, "dmz", "mgmt").starts_with("uncertain"));
    }

    #[test]
    fn pre_8_3_static_lines_are_uncertain_not_ignored() {
        let c = parse(
            "static (dmz,outside) 203.0.113.12 172.16.10.12 netmask 255.255.255.255\naccess-list OUT extended permit tcp any any\naccess-group OUT in interface outside\n",
        );
        assert_eq!(c.nat.len(), 2);
        assert!(
            c.nat
                .iter()
                .all(|n| n.to.is_none() && n.matches.uncertain.is_some())
        );
        assert_eq!(c.unparsed.len(), 1);
    }

    #[test]
    fn an_object_with_an_unreadable_member_makes_its_users_uncertain() {
        let c = parse(
            "object network WEB\n fqdn www.example.com\nobject-group network G\n network-object object WEB\n network-object host 10.0.0.1\naccess-list OUT extended permit tcp any object-group G eq 443\naccess-group OUT in interface outside\nobject network WEB2\n host nowhere\n nat (dmz,outside) static 203.0.113.9\n",
        );
        assert!(verdict(&c, "outside", "dmz", "10.0.0.1", PROTO_TCP, 443).starts_with("uncertain"));
        assert!(
            c.nat.iter().all(|n| n.matches.uncertain.is_some()),
            "{:?}",
            c.nat
        );
    }
}
