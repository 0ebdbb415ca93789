//! The audit of one firewall against the plan: for every planned rule, whether the configuration
//! allows all of it, none, part (and which part, decided by which line), or cannot tell; and what it
//! allows beyond the plan.

use super::eval::{self, Fate, Piece};
use super::model::{Config, Location, Unparsed};
use super::space::{PROTO_ALL, PROTO_TCP, PROTO_UDP, PacketBox, Region, net_interval, value_addr};
use crate::catalog::Transport;
use crate::plan::{Family, Plan, Rule};
use crate::topology::Topology;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Allowed,
    Partial,
    Blocked,
    Uncertain,
}

#[derive(Debug, Clone, Serialize)]
pub struct Part {
    /// allowed, denied or uncertain
    pub verdict: &'static str,
    /// Which packets, relative to the planned rule ("tcp 55000-59999", "… from 10.0.0.0/8").
    pub what: Vec<String>,
    pub by: Vec<Location>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleAudit {
    pub rule: usize,
    pub rows: String,
    pub service: String,
    pub family: Family,
    pub ingress: String,
    pub egress: String,
    pub transport: Transport,
    pub ports: String,
    pub status: Status,
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Exposure {
    pub ingress: String,
    pub egress: String,
    pub egress_zone: String,
    /// The egress zone is not the internet: the opening leads into a protected zone.
    pub into_protected_zone: bool,
    pub family: Family,
    pub by: Location,
    pub what: Vec<String>,
    /// False when the configuration only may allow it (a rule portplan reads only in part).
    pub certain: bool,
}

/// A rule portplan could read only in part, and what it could not read.
#[derive(Debug, Clone, Serialize)]
pub struct PartlyRead {
    pub at: Location,
    pub why: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Audit {
    pub firewall: String,
    pub format: &'static str,
    pub rules: Vec<RuleAudit>,
    pub overexposure: Vec<Exposure>,
    pub unparsed: Vec<Unparsed>,
    pub partly_read: Vec<PartlyRead>,
    pub notes: Vec<String>,
    /// The plan's static NAT against the configuration's translations (see [`super::nat`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nat: Vec<super::nat::NatFinding>,
}

impl Audit {
    /// Every planned rule is allowed in full.
    pub fn all_allowed(&self) -> bool {
        self.rules.iter().all(|r| r.status == Status::Allowed)
    }
    pub fn count(&self, status: Status) -> usize {
        self.rules.iter().filter(|r| r.status == status).count()
    }
}

fn family_bound(family: Family) -> u128 {
    match family {
        Family::V4 => u128::from(u32::MAX),
        Family::V6 => u128::MAX,
    }
}

/// The packets a planned rule stands for.
pub fn rule_region(rule: &Rule) -> Region {
    let proto = match rule.transport {
        Transport::Tcp => PROTO_TCP,
        Transport::Udp => PROTO_UDP,
    };
    let mut boxes = Vec::new();
    for s in &rule.source.members {
        for d in &rule.destination.members {
            boxes.push(PacketBox {
                src: net_interval(&s.net),
                dst: net_interval(&d.net),
                proto,
                port: (rule.ports.start, rule.ports.end),
            });
        }
    }
    Region::union_of(boxes)
}

/// An address interval as people write it: one address, a prefix, or `a-b`.
pub fn interval_text(iv: (u128, u128), family: Family) -> String {
    let v4 = family == Family::V4;
    let bits = if v4 { 32 } else { 128 };
    let size = iv.1.wrapping_sub(iv.0).wrapping_add(1);
    if iv.0 == iv.1 {
        return value_addr(iv.0, v4).to_string();
    }
    if iv.0 == 0 && iv.1 == family_bound(family) {
        return if v4 {
            "0.0.0.0/0".into()
        } else {
            "::/0".into()
        };
    }
    if size.is_power_of_two() && iv.0 % size == 0 {
        let prefix = bits - size.trailing_zeros();
        return format!("{}/{prefix}", value_addr(iv.0, v4));
    }
    format!("{}-{}", value_addr(iv.0, v4), value_addr(iv.1, v4))
}

fn proto_text(bits: u8) -> String {
    match bits {
        PROTO_TCP => "tcp".into(),
        PROTO_UDP => "udp".into(),
        b if b == PROTO_TCP | PROTO_UDP => "tcp/udp".into(),
        b if b == PROTO_ALL => "any protocol".into(),
        _ => "other protocols".into(),
    }
}

/// Describes boxes relative to `whole` (address spans that equal the whole's are left out).
fn describe(region: &Region, whole: &Region, family: Family) -> Vec<String> {
    let span = |f: fn(&PacketBox) -> (u128, u128)| -> (u128, u128) {
        let lo = whole.0.iter().map(|b| f(b).0).min().unwrap_or(0);
        let hi = whole.0.iter().map(|b| f(b).1).max().unwrap_or(0);
        (lo, hi)
    };
    let (src_all, dst_all) = (span(|b| b.src), span(|b| b.dst));
    let ports_all = (
        whole.0.iter().map(|b| b.port.0).min().unwrap_or(0),
        whole.0.iter().map(|b| b.port.1).max().unwrap_or(0),
    );
    const SHOWN: usize = 8;
    let mut out: Vec<String> = Vec::new();
    let mut seen: std::collections::HashSet<String> = Default::default();
    for (i, b) in region.0.iter().enumerate() {
        if out.len() > SHOWN {
            // the rest is only counted: formatting a hundred thousand pieces to show eight
            // made a large blocklist's report slower than its evaluation
            let more = out.len() - SHOWN + (region.0.len() - i);
            out.truncate(SHOWN);
            out.push(format!("… and {more} more pieces"));
            return out;
        }
        let mut text = proto_text(b.proto);
        if b.port != (0, u16::MAX) || ports_all != (0, u16::MAX) {
            if b.port.0 == b.port.1 {
                text.push_str(&format!(" {}", b.port.0));
            } else {
                text.push_str(&format!(" {}-{}", b.port.0, b.port.1));
            }
        } else {
            text.push_str(" any port");
        }
        if b.src != src_all
            || whole.0.len() > 1 && b.src.0 != b.src.1
            || b.src == (0, family_bound(family))
        {
            text.push_str(&format!(" from {}", interval_text(b.src, family)));
        }
        if b.dst != dst_all || whole.0.len() > 1 {
            text.push_str(&format!(" to {}", interval_text(b.dst, family)));
        }
        if seen.insert(text.clone()) {
            out.push(text);
        }
    }
    if out.len() > SHOWN {
        let more = out.len() - SHOWN;
        out.truncate(SHOWN);
        out.push(format!("… and {more} more pieces"));
    }
    out
}

/// The bounding shape of a region: protocols, port span, source and destination spans, and how
/// many (source, destination, port) combinations it holds.
fn outline(region: &Region, family: Family) -> String {
    let proto = region.0.iter().fold(0u8, |a, b| a | b.proto);
    let lo = |f: fn(&PacketBox) -> (u128, u128)| region.0.iter().map(|b| f(b).0).min().unwrap_or(0);
    let hi = |f: fn(&PacketBox) -> (u128, u128)| region.0.iter().map(|b| f(b).1).max().unwrap_or(0);
    let p_lo = region.0.iter().map(|b| b.port.0).min().unwrap_or(0);
    let p_hi = region.0.iter().map(|b| b.port.1).max().unwrap_or(0);
    let mut ports_seen: Vec<(u16, u16)> = region.0.iter().map(|b| b.port).collect();
    ports_seen.sort();
    // merge overlapping or touching port intervals
    let mut distinct: Vec<(u16, u16)> = Vec::new();
    for p in ports_seen {
        match distinct.last_mut() {
            Some(last) if u32::from(p.0) <= u32::from(last.1) + 1 => last.1 = last.1.max(p.1),
            _ => distinct.push(p),
        }
    }
    let one = |(a, b): (u16, u16)| {
        if a == b {
            a.to_string()
        } else {
            format!("{a}-{b}")
        }
    };
    let ports = if (p_lo, p_hi) == (0, u16::MAX) && distinct.len() == 1 {
        "any port".to_string()
    } else if distinct.len() == 1 {
        format!("port {}", one(distinct[0]))
    } else if distinct.len() <= 6 {
        format!(
            "ports {}",
            distinct
                .iter()
                .map(|p| one(*p))
                .collect::<Vec<_>>()
                .join(",")
        )
    } else {
        format!("ports {p_lo}-{p_hi}")
    };
    let size = region.size();
    let amount = if size > 1u128 << 60 {
        "an enormous number of".to_string()
    } else {
        size.to_string()
    };
    format!(
        "{} {ports} from {} to {} ({amount} address/port combinations beyond the plan)",
        proto_text(proto),
        interval_text((lo(|b| b.src), hi(|b| b.src)), family),
        interval_text((lo(|b| b.dst), hi(|b| b.dst)), family),
    )
}

fn parts_of(pieces: &[Piece], whole: &Region, family: Family) -> Vec<Part> {
    // group pieces that share verdict and deciding locations
    let mut groups: Vec<(&'static str, Vec<Location>, Region)> = Vec::new();
    // (verdict, deciding locations) -> its group: one hash look-up per piece, not a scan
    let mut index: std::collections::HashMap<(&'static str, Vec<Location>), usize> =
        Default::default();
    for p in pieces {
        let (verdict, by) = match &p.fate {
            Fate::Allowed(at) => ("allowed", vec![at.clone()]),
            Fate::Denied(at) => ("denied", vec![at.clone()]),
            Fate::Uncertain(at) => ("uncertain", at.clone()),
        };
        match index.entry((verdict, by)) {
            std::collections::hash_map::Entry::Occupied(g) => {
                groups[*g.get()].2.0.extend(p.region.0.iter().copied())
            }
            std::collections::hash_map::Entry::Vacant(g) => {
                groups.push((verdict, g.key().1.clone(), p.region.clone()));
                g.insert(groups.len() - 1);
            }
        }
    }
    // a rule decided by thousands of lines (a blocklist) is shown with the first of them and one
    // summary part per verdict for the rest, not thousands of parts
    const PARTS: usize = 24;
    let mut rest: Vec<(&'static str, Vec<Location>, Region, usize)> = Vec::new();
    if groups.len() > PARTS {
        for (verdict, by, region) in groups.split_off(PARTS) {
            match rest.iter_mut().find(|r| r.0 == verdict) {
                Some(r) => {
                    r.2.0.extend(region.0);
                    r.3 += by.len();
                }
                None => rest.push((verdict, by, region, 0)),
            }
        }
    }
    let summarised = rest.into_iter().map(|(verdict, mut by, region, more)| {
        if more > 0 {
            by.push(Location {
                line: None,
                text: format!("and {more} more lines"),
            });
        }
        (verdict, by, region)
    });
    groups
        .into_iter()
        .chain(summarised)
        .map(|(verdict, by, region)| Part {
            verdict,
            what: describe(&region, whole, family),
            by,
        })
        .collect()
}

/// Audits the plan's rules for `firewall` against `config`.
fn audit_rules(
    plan: &Plan,
    firewall: &str,
    config: &Config,
    nat: &super::nat::Check,
) -> Vec<RuleAudit> {
    let mut rules = Vec::new();
    for r in plan.rules_for(firewall) {
        let whole = rule_region(r);
        let pieces = eval::evaluate(
            config,
            r.family,
            &r.ingress_interface,
            &r.egress_interface,
            whole.clone(),
        );
        let pieces = eval::with_replies(
            config,
            r.family,
            &r.ingress_interface,
            &r.egress_interface,
            pieces,
        );
        let pieces = nat.apply(r, pieces);
        let size = |f: &dyn Fn(&Fate) -> bool| -> u128 {
            pieces
                .iter()
                .filter(|p| f(&p.fate))
                .map(|p| p.region.size())
                .fold(0, u128::saturating_add)
        };
        let allowed = size(&|f| matches!(f, Fate::Allowed(_)));
        let uncertain = size(&|f| matches!(f, Fate::Uncertain(_)));
        let total = whole.size();
        let status = if allowed == total {
            Status::Allowed
        } else if uncertain > 0 {
            Status::Uncertain
        } else if allowed == 0 {
            Status::Blocked
        } else {
            Status::Partial
        };
        rules.push(RuleAudit {
            rule: r.id,
            rows: r.rows_text(),
            service: r.service.clone(),
            family: r.family,
            ingress: r.ingress_interface.clone(),
            egress: r.egress_interface.clone(),
            transport: r.transport,
            ports: r.ports.to_string(),
            status,
            parts: parts_of(&pieces, &whole, r.family),
        });
    }
    rules
}

/// Audits the plan's rules for `firewall` against `config`. The required flows and the search for
/// openings beyond the plan run side by side (two threads over the same read-only configuration).
pub fn audit(plan: &Plan, topology: &Topology, firewall: &str, config: &Config) -> Audit {
    let nat = super::nat::Check::new(topology, firewall, config);
    let (rules, (overexposure, notes)) = std::thread::scope(|scope| {
        let beyond = scope.spawn(|| {
            let mut notes = config.notes.clone();
            let found = overexposure(plan, topology, firewall, config, &mut notes);
            (found, notes)
        });
        let rules = audit_rules(plan, firewall, config, &nat);
        (
            rules,
            beyond.join().expect("overexposure search does not panic"),
        )
    });
    let nat = nat.findings();
    let mut notes = notes;
    notes.extend(nat.iter().map(|f| f.note()));
    Audit {
        firewall: firewall.to_string(),
        format: config.format,
        overexposure,
        rules,
        unparsed: config.unparsed.clone(),
        partly_read: config
            .chains
            .iter()
            .flat_map(|c| c.rules.iter())
            .filter_map(|r| {
                let why = r.uncertain.clone()?;
                // whole lines that could not be parsed are listed as unparsed already
                let unparsed = config.unparsed.iter().any(|u| Some(u.line) == r.at.line);
                (!unparsed).then(|| PartlyRead {
                    at: r.at.clone(),
                    why,
                })
            })
            .collect(),
        notes,
        nat,
    }
}

/// Networks on one side of a firewall: the zone of that leg and every zone reached from it without
/// crossing this firewall again.
fn side_networks(
    topology: &Topology,
    firewall: &str,
    zone: &str,
    family: Family,
) -> Vec<(u128, u128)> {
    let router = crate::plan::Router::new(topology);
    let mut out = Vec::new();
    for z in &topology.zones {
        let behind = z.name == zone
            || router
                .path(zone, &z.name)
                .is_some_and(|hops| hops.iter().all(|h| h.firewall != firewall));
        if behind {
            out.extend(
                z.networks
                    .iter()
                    .filter(|n| crate::plan::Family::of(n) == family)
                    .map(net_interval),
            );
        }
    }
    out
}

/// Fragment budget of the overexposure pass: a configuration that breaks the protected space into
/// more pieces is reported as too fragmented to analyse completely (see the audit's notes).
pub const OVEREXPOSURE_BUDGET: usize = 4_096;

/// What the configuration allows into each protected zone beyond the plan: for every pair of the
/// firewall's interfaces whose egress is not the internet, new connections from the networks on
/// the ingress side to the networks on the egress side.
fn overexposure(
    plan: &Plan,
    topology: &Topology,
    firewall: &str,
    config: &Config,
    notes: &mut Vec<String>,
) -> Vec<Exposure> {
    let Some(fw) = topology.firewall(firewall) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for inp in &fw.interfaces {
        for outp in &fw.interfaces {
            let protected = topology
                .zone(&outp.zone)
                .is_some_and(|z| z.kind != crate::topology::ZoneKind::Internet);
            if inp.name == outp.name || !protected {
                continue;
            }
            for &family in &config.families {
                let sources = side_networks(topology, firewall, &inp.zone, family);
                let destinations = side_networks(topology, firewall, &outp.zone, family);
                let mut space = Region::default();
                for s in &sources {
                    for d in &destinations {
                        space.0.push(PacketBox {
                            src: *s,
                            dst: *d,
                            proto: PROTO_ALL,
                            port: (0, u16::MAX),
                        });
                    }
                }
                if space.is_empty() {
                    continue;
                }
                let planned = plan
                    .rules_for(firewall)
                    .filter(|r| {
                        r.family == family
                            && r.ingress_interface == inp.name
                            && r.egress_interface == outp.name
                    })
                    .flat_map(|r| rule_region(r).0);
                let planned = Region::union_of(planned);
                let pieces = eval::evaluate_within(
                    config,
                    family,
                    &inp.name,
                    &outp.name,
                    space.clone(),
                    OVEREXPOSURE_BUDGET,
                );
                for piece in pieces {
                    let (by, certain) = match piece.fate {
                        Fate::Allowed(by) => (by, true),
                        Fate::Uncertain(at) => match at.into_iter().next() {
                            Some(first) if first.text.starts_with("evaluation stopped") => {
                                let note = format!(
                                    "{} -> {} ({family}): the search for openings beyond the plan stopped at {} (more than {OVEREXPOSURE_BUDGET} fragments); openings after that rule are not listed",
                                    inp.name,
                                    outp.name,
                                    first.label()
                                );
                                if !notes.contains(&note) {
                                    notes.push(note);
                                }
                                continue;
                            }
                            Some(first) => (first, false),
                            None => continue,
                        },
                        Fate::Denied(_) => continue,
                    };
                    let extra = piece.region.minus(&planned);
                    if extra.is_empty() {
                        continue;
                    }
                    out.push(Exposure {
                        ingress: inp.name.clone(),
                        egress: outp.name.clone(),
                        egress_zone: outp.zone.clone(),
                        into_protected_zone: true,
                        family,
                        by,
                        what: vec![outline(&extra, family)],
                        certain,
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_read_like_addresses() {
        assert_eq!(
            interval_text((0x0a000000, 0x0affffff), Family::V4),
            "10.0.0.0/8"
        );
        assert_eq!(
            interval_text((0x0a000001, 0x0a000001), Family::V4),
            "10.0.0.1"
        );
        assert_eq!(
            interval_text((0x0a000001, 0x0a000005), Family::V4),
            "10.0.0.1-10.0.0.5"
        );
        assert_eq!(
            interval_text((0, u128::from(u32::MAX)), Family::V4),
            "0.0.0.0/0"
        );
    }
}
