//! Cisco ASA configurations: `object` / `object-group` (network, service, protocol, nested groups),
//! extended `access-list` entries, and `access-group … in|out interface …` bindings. Each bound ACL
//! is an entry ending in the ASA's implicit deny. An interface with no ACL falls back to security
//! levels, which portplan does not model: such flows are reported as uncertain.

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
    services: HashMap<String, ServiceDef>,
    protocols: HashMap<String, u8>,
    /// group -> nested groups, resolved after reading
    nested: HashMap<String, Vec<String>>,
    /// where each object or group is defined
    lines: HashMap<String, usize>,
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
fn address(w: &[&str], i: usize, objs: &Objects) -> Result<(Option<AddrSet>, usize), String> {
    let first = *w.get(i).ok_or("missing address")?;
    match first {
        "any" => Ok((None, 1)),
        "any4" => Ok((
            Some(AddrSet {
                v4: AddrSet::any().v4,
                v6: vec![],
            }),
            1,
        )),
        "any6" => Ok((
            Some(AddrSet {
                v4: vec![],
                v6: AddrSet::any().v6,
            }),
            1,
        )),
        "host" => {
            let ip: IpAddr = w
                .get(i + 1)
                .ok_or("`host` needs an address")?
                .parse()
                .map_err(|_| "bad host address")?;
            let mut s = AddrSet::default();
            s.push_net(&ip.into());
            Ok((Some(s), 2))
        }
        "object" | "object-group" => {
            let name = w.get(i + 1).ok_or("object name missing")?;
            objs.networks
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
                return Ok((Some(s), 1));
            }
            let ip: IpAddr = text
                .parse()
                .map_err(|_| format!("`{text}` is not an address"))?;
            let len = w
                .get(i + 1)
                .and_then(|m| mask_len(m))
                .ok_or_else(|| format!("`{text}` needs a netmask"))?;
            let net = ipnet::IpNet::new(ip, len).map_err(|e| e.to_string())?;
            s.push_net(&net.trunc());
            Ok((Some(s), 2))
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
            if members.iter().any(|m| cyclic.contains(m)) {
                cyclic.insert(group.clone());
            }
            if cyclic.contains(&group) {
                continue;
            }
            let mut nets = objs.networks.get(&group).cloned();
            let mut svcs = objs.services.get(&group).cloned();
            for m in &members {
                if let Some(set) = objs.networks.get(m) {
                    let g = nets.get_or_insert_with(AddrSet::default);
                    g.v4.extend_from_slice(&set.v4);
                    g.v6.extend_from_slice(&set.v6);
                }
                if let Some(svc) = objs.services.get(m) {
                    svcs.get_or_insert_with(ServiceDef::default)
                        .entries
                        .extend(svc.entries.iter().cloned());
                }
            }
            if let Some(mut g) = nets {
                g.v4.sort_unstable();
                g.v4.dedup();
                g.v6.sort_unstable();
                g.v6.dedup();
                objs.networks.insert(group.clone(), g);
            }
            if let Some(mut svc) = svcs {
                svc.entries.sort();
                svc.entries.dedup();
                objs.services.insert(group.clone(), svc);
            }
        }
    }
    for group in cyclic {
        objs.networks.remove(&group);
        objs.services.remove(&group);
        unparsed.push(Unparsed {
            line: objs.lines.get(&group).copied().unwrap_or(0),
            text: format!("object-group {group}"),
            why: "the group includes itself (directly or through other groups); the ASA refuses such groups, so rules naming it are not evaluated".into(),
        });
    }
}

fn read_objects(lines: &[&str], unparsed: &mut Vec<Unparsed>) -> Objects {
    let mut objs = Objects::default();
    // (kind, name, group protocol for `object-group service NAME tcp`)
    let mut current: Option<(String, String, u8)> = None;
    for (n, raw) in lines.iter().enumerate() {
        let line = n + 1;
        let indented = raw.starts_with(' ') || raw.starts_with('\t');
        let w: Vec<&str> = raw.split_whitespace().collect();
        if w.is_empty() {
            continue;
        }
        if !indented {
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
                match a.parse::<IpAddr>() {
                    Ok(ip) => objs
                        .networks
                        .entry(name.clone())
                        .or_default()
                        .push_net(&ip.into()),
                    Err(_) => bad(format!("`{a}` is not an address"), unparsed),
                }
            }
            ("network", ["subnet", a, m]) | ("network", ["network-object", a, m]) => {
                match (a.parse::<IpAddr>(), mask_len(m)) {
                    (Ok(ip), Some(len)) => match ipnet::IpNet::new(ip, len) {
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
            ("network", ["range", a, b]) => match (a.parse::<IpAddr>(), b.parse::<IpAddr>()) {
                (Ok(a), Ok(b)) if a <= b && a.is_ipv4() == b.is_ipv4() => objs
                    .networks
                    .entry(name.clone())
                    .or_default()
                    .push_range(a, b),
                _ => bad("not an address range".into(), unparsed),
            },
            ("network", ["nat", ..]) => {}
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
    }
    resolve_nested(&mut objs, unparsed);
    objs
}

/// Parses an ASA configuration (the relevant parts of `show running-config`).
pub fn parse(text: &str) -> Config {
    let lines: Vec<&str> = text.lines().collect();
    let mut unparsed = Vec::new();
    let objs = read_objects(&lines, &mut unparsed);
    let mut chains: Vec<Chain> = Vec::new();
    let mut entries = Vec::new();
    let mut notes = Vec::new();
    for (n, raw) in lines.iter().enumerate() {
        let line = n + 1;
        if raw.starts_with(' ') || raw.starts_with('\t') {
            continue;
        }
        let w: Vec<&str> = raw.split_whitespace().collect();
        match w.as_slice() {
            ["access-list", name, "remark", ..] if !chains.iter().any(|c| c.name == *name) => {
                chains.push(Chain {
                    name: (*name).into(),
                    rules: Vec::new(),
                });
            }
            ["access-list", _, "remark", ..] => {}
            ["access-list", name, rest @ ..] => {
                let rest: Vec<&str> = if rest.first() == Some(&"line") {
                    rest.iter().skip(2).copied().collect()
                } else {
                    rest.to_vec()
                };
                let at = Location::line(line, raw);
                let rule = match ace(&rest, at.clone(), &objs) {
                    Ok(Some(r)) => Some(r),
                    Ok(None) => None, // inactive entry
                    Err(why) => {
                        unparsed.push(Unparsed {
                            line,
                            text: raw.trim().into(),
                            why: why.clone(),
                        });
                        let mut r = Rule::new(at, Action::Jump("?".into()));
                        r.uncertain = Some(why);
                        Some(r)
                    }
                };
                let chain = match chains.iter_mut().find(|c| c.name == *name) {
                    Some(c) => c,
                    None => {
                        chains.push(Chain {
                            name: (*name).into(),
                            rules: Vec::new(),
                        });
                        chains.last_mut().expect("just pushed")
                    }
                };
                if let Some(r) = rule {
                    chain.rules.push(r);
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
                });
            }
            _ => {}
        }
    }
    if entries.is_empty() {
        notes.push("no access-group binds an access-list: the ASA falls back to interface security levels, which portplan does not model".into());
    } else {
        notes.push("interfaces without an inbound access-group follow security levels; flows entering there are reported as uncertain".into());
    }
    Config {
        format: "asa",
        chains,
        entries,
        unparsed,
        families: vec![crate::plan::Family::V4, crate::plan::Family::V6],
        notes,
        nat: Vec::new(),
    }
}

/// One access-control entry (`extended permit tcp SRC DST eq 443 log`). `Ok(None)` for inactive.
fn ace(w: &[&str], at: Location, objs: &Objects) -> Result<Option<Rule>, String> {
    if w.contains(&"inactive") {
        return Ok(None);
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
    match w.get(i) {
        Some(&"object-group") | Some(&"object") => {
            let name = w.get(i + 1).ok_or("object name missing")?;
            if let Some(bits) = objs.protocols.get(*name) {
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
            rule.proto = Some((proto_bits(p), false));
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
    if let Some(svc) = service {
        // a service group with several protocols/port sets: one rule per entry would be exact; with
        // one entry it is exact here, with more the rule covers their union only if ports agree
        match svc.entries.as_slice() {
            [] => return Err("empty service object".into()),
            [(bits, ranges)] => {
                rule.proto = Some((*bits, false));
                if !ranges.is_empty() {
                    rule.dport = Some(PortMatch {
                        ranges: ranges.clone(),
                        negated: false,
                    });
                }
            }
            many => {
                let bits = many.iter().fold(0u8, |a, (b, _)| a | b);
                let same_protos = many.iter().all(|(b, _)| *b == many[0].0);
                let any_port = many.iter().any(|(_, r)| r.is_empty());
                rule.proto = Some((bits, false));
                if !any_port {
                    rule.dport = Some(PortMatch {
                        ranges: many.iter().flat_map(|(_, r)| r.clone()).collect(),
                        negated: false,
                    });
                }
                if !same_protos && !any_port {
                    uncertain.push("service group mixes protocols with different ports".into());
                }
            }
        }
    }
    if !uncertain.is_empty() {
        rule.uncertain = Some(uncertain.join(", "));
    }
    Ok(Some(rule))
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
