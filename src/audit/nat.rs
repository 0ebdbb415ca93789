//! Address translation in the audit: the plan's static NAT (`[[firewall.nat]]`) against the
//! translations a configuration performs ([`Config::nat`]). It owns two things:
//!
//! - findings per plan entry (translation missing, to another address, only for part of the
//!   traffic, unreadable) and per configuration translation the plan does not have;
//! - the effect on planned rules: a flow from the public side reaches the server only when its
//!   public address is translated to the private one, and a flow from a NAT'd server leaves with
//!   its public address only when the source is translated back. The part of a rule whose
//!   translation is missing or wrong is denied (the flow cannot work, whatever the filter says);
//!   the part a partly read translation may touch is uncertain. Filtering itself is evaluated on
//!   the private addresses, as netfilter (after DNAT) and the ASA (real addresses) do.

use super::eval::{Fate, Piece};
use super::model::{Config, Location, Nat, NatKind};
use super::space::{PROTO_ALL, PacketBox, Region, addr_value, net_interval};
use crate::plan::{Family, Rule};
use crate::topology::{Firewall, StaticNat, Topology};
use serde::{Deserialize, Serialize};

/// Pieces a NAT evaluation may break a region into before it says "uncertain".
const BUDGET: usize = 20_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Problem {
    /// The plan's translation is not in the configuration.
    Missing,
    /// The configuration translates the public (or private) address to another one.
    Different,
    /// The translation applies to some of the traffic only (some protocols, ports or peers).
    Partial,
    /// A translation that could touch the entry is read only in part.
    Uncertain,
    /// A translation in the configuration the plan does not have.
    Unplanned,
}

/// Inbound: destination NAT of traffic from the public side. Outbound: source NAT of the server's
/// own connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Inbound,
    Outbound,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NatFinding {
    pub problem: Problem,
    pub direction: Direction,
    /// The plan's entry, e.g. "203.0.113.12 <-> 172.16.10.12 (edge01 av) on outside".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// The configuration lines involved (none when the translation is absent).
    pub at: Vec<Location>,
    pub detail: String,
}

impl NatFinding {
    /// One line for the audit's notes.
    pub fn note(&self) -> String {
        let lines: Vec<String> = self.at.iter().map(|l| l.label()).collect();
        format!(
            "NAT {} ({}{}): {}{}",
            match self.problem {
                Problem::Missing => "missing",
                Problem::Different => "different",
                Problem::Partial => "partial",
                Problem::Uncertain => "uncertain",
                Problem::Unplanned => "not in the plan",
            },
            match self.direction {
                Direction::Inbound => "inbound",
                Direction::Outbound => "outbound",
            },
            self.plan
                .as_ref()
                .map(|p| format!(", plan: {p}"))
                .unwrap_or_default(),
            self.detail,
            if lines.is_empty() {
                String::new()
            } else {
                format!(" [{}]", lines.join(", "))
            }
        )
    }
}

/// What became of a piece of traffic in the translation stage.
#[derive(Debug, Clone)]
enum Outcome<'a> {
    Untouched,
    By(&'a Nat),
    Uncertain(Vec<Location>),
}

/// How a translated piece compares with what the plan needs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Judged {
    Ok,
    /// Not translated although the plan needs it, or translated to something else: the line
    /// that did it, or a description of the translation that is missing.
    Wrong(Location),
    Unsure(Vec<Location>),
}

fn full(family: Family) -> (u128, u128) {
    match family {
        Family::V4 => (0, u128::from(u32::MAX)),
        Family::V6 => (0, u128::MAX),
    }
}

fn host(ip: std::net::IpAddr) -> (u128, u128) {
    let v = addr_value(ip);
    (v, v)
}

fn family_of(ip: std::net::IpAddr) -> Family {
    if ip.is_ipv4() { Family::V4 } else { Family::V6 }
}

fn iv_text(iv: (u128, u128), family: Family) -> String {
    super::judge::interval_text(iv, family)
}

/// Pushes `region` through the configuration's translations of one direction, first match wins
/// (netfilter binds the first nat statement a new connection meets; the ASA takes the first NAT
/// rule in its order). A translation read only in part lets its packets on, tagged with its line.
fn translate<'a>(
    config: &'a Config,
    inbound: bool,
    family: Family,
    iif: &str,
    oif: &str,
    region: Region,
) -> Vec<(Region, Outcome<'a>)> {
    let mut out = Vec::new();
    let mut pending: Vec<(Region, Vec<Location>)> = vec![(region, Vec::new())];
    for nat in &config.nat {
        let kind_fits = match nat.kind {
            NatKind::Destination => inbound,
            NatKind::Source | NatKind::Masquerade => !inbound,
        };
        if !kind_fits
            || !nat
                .matches
                .applies(family, iif, oif, super::model::Packet::NEW)
        {
            continue;
        }
        let product = nat.matches.product(family);
        if product.is_empty() {
            continue;
        }
        let partly = nat.matches.uncertain.is_some() || nat.to.is_none();
        let mut next = Vec::new();
        for (reg, maybe) in pending {
            let (hit, miss) = match reg.split_by(product, BUDGET) {
                Ok(parts) => parts,
                Err(_) => {
                    let mut at = maybe.clone();
                    at.push(Location {
                        line: nat.matches.at.line,
                        text: format!("NAT evaluation stopped here: more than {BUDGET} pieces"),
                    });
                    out.push((reg, Outcome::Uncertain(at)));
                    continue;
                }
            };
            if !miss.is_empty() {
                next.push((miss, maybe.clone()));
            }
            if hit.is_empty() {
                continue;
            }
            if partly {
                let mut maybe = maybe;
                maybe.push(nat.matches.at.clone());
                next.push((hit, maybe));
            } else if maybe.is_empty() {
                out.push((hit, Outcome::By(nat)));
            } else {
                out.push((hit, Outcome::Uncertain(maybe)));
            }
        }
        pending = next;
    }
    for (reg, maybe) in pending {
        if maybe.is_empty() {
            out.push((reg, Outcome::Untouched));
        } else {
            out.push((reg, Outcome::Uncertain(maybe)));
        }
    }
    out
}

/// The addresses a translation makes of the interval `iv`, when it makes one interval of them
/// (a static translation); `None` when it picks from a pool or cannot be told.
fn image(nat: &Nat, iv: (u128, u128), family: Family, masq: Option<u128>) -> Option<(u128, u128)> {
    if nat.kind == NatKind::Masquerade {
        return masq.map(|a| (a, a));
    }
    let to = nat.to.as_ref()?;
    let set = super::space::normalize(match family {
        Family::V4 => to.v4.clone(),
        Family::V6 => to.v6.clone(),
    });
    let [(lo, hi)] = set.as_slice() else {
        return None;
    };
    if lo == hi {
        return Some((*lo, *lo));
    }
    if !nat.one_to_one {
        return None;
    }
    if (*lo, *hi) == full(family) {
        return Some(iv);
    }
    let size = hi - lo + 1;
    if !size.is_power_of_two() || lo % size != 0 || iv.0 / size != iv.1 / size {
        return None;
    }
    Some((lo + iv.0 % size, lo + iv.1 % size))
}

/// Compares one translated box with what the plan needs (`expected`, on the rewritten side).
fn judge_box(
    nat: &Nat,
    b: &PacketBox,
    inbound: bool,
    expected: (u128, u128),
    family: Family,
    masq: Option<u128>,
) -> Judged {
    let side = if inbound { b.dst } else { b.src };
    let addr_ok = image(nat, side, family, masq) == Some(expected);
    // a destination port rewrite keeps the flow only when it maps the planned port to itself
    let port_ok = !inbound
        || match nat.to_ports {
            None => true,
            Some((a, c)) => a == c && b.port == (a, a),
        };
    if addr_ok && port_ok {
        Judged::Ok
    } else if nat.kind == NatKind::Masquerade && masq.is_none() {
        Judged::Unsure(vec![nat.matches.at.clone()])
    } else {
        Judged::Wrong(nat.matches.at.clone())
    }
}

/// The translation checks of one firewall's audit.
pub struct Check<'a> {
    topology: &'a Topology,
    fw: Option<&'a Firewall>,
    config: &'a Config,
}

impl<'a> Check<'a> {
    pub fn new(topology: &'a Topology, firewall: &str, config: &'a Config) -> Check<'a> {
        Check {
            topology,
            fw: topology.firewall(firewall),
            config,
        }
    }

    /// Whether the check can change anything: the plan has static NAT here or the configuration
    /// translates something.
    fn active(&self) -> bool {
        !self.config.nat.is_empty() || self.fw.is_some_and(|f| !f.nat.is_empty())
    }

    /// The plan's entry publishing `net` (a host) through `iface` of this firewall.
    fn entry(&self, net: &ipnet::IpNet, iface: &str) -> Option<&'a StaticNat> {
        if net.prefix_len() != net.max_prefix_len() {
            return None;
        }
        self.fw?
            .nat
            .iter()
            .find(|n| n.private == net.addr() && n.interface == iface)
    }

    fn label(&self, n: &StaticNat) -> String {
        format!(
            "{} <-> {} ({}) on {}",
            n.public,
            n.private,
            self.topology.address_label(n.private),
            n.interface
        )
    }

    /// The firewall's own address on an interface, for masquerade (one address of the family).
    fn masq_address(&self, iface: &str, family: Family) -> Option<u128> {
        let i = self.fw?.interfaces.iter().find(|i| i.name == iface)?;
        let mut mine = i.addresses.iter().filter(|a| Family::of(a) == family);
        let first = mine.next()?;
        mine.next().is_none().then(|| addr_value(first.addr()))
    }

    fn inside_of(&self, n: &StaticNat) -> String {
        self.fw
            .and_then(|f| self.topology.nat_inside_interface(f, n))
            .unwrap_or("")
            .to_string()
    }

    /// Translates `arrival` and judges every piece against `expected` (None: the address must stay
    /// as it is). `back` maps a judged box to the rule's own address space.
    #[allow(clippy::too_many_arguments)]
    fn judge(
        &self,
        inbound: bool,
        family: Family,
        iif: &str,
        oif: &str,
        arrival: Region,
        expected: Option<(u128, u128)>,
        missing: &Location,
        back: &dyn Fn(PacketBox) -> PacketBox,
    ) -> Vec<(PacketBox, Judged)> {
        let masq = self.masq_address(oif, family);
        let mut out = Vec::new();
        for (reg, outcome) in translate(self.config, inbound, family, iif, oif, arrival) {
            for b in reg.0 {
                let j = match &outcome {
                    Outcome::Untouched if expected.is_some() => Judged::Wrong(missing.clone()),
                    Outcome::Untouched => Judged::Ok,
                    Outcome::Uncertain(at) => Judged::Unsure(at.clone()),
                    Outcome::By(nat) => {
                        let side = if inbound { b.dst } else { b.src };
                        judge_box(nat, &b, inbound, expected.unwrap_or(side), family, masq)
                    }
                };
                out.push((back(b), j));
            }
        }
        out
    }

    /// The verdict pieces of one planned rule with the effect of translation folded in.
    pub fn apply(&self, rule: &Rule, pieces: Vec<Piece>) -> Vec<Piece> {
        if !self.active() || !self.config.families.contains(&rule.family) {
            return pieces;
        }
        let proto = match rule.transport {
            crate::catalog::Transport::Tcp => super::space::PROTO_TCP,
            crate::catalog::Transport::Udp => super::space::PROTO_UDP,
        };
        let ports = (rule.ports.start, rule.ports.end);
        let family = rule.family;
        let (iif, oif) = (
            rule.ingress_interface.as_str(),
            rule.egress_interface.as_str(),
        );
        let mut judged: Vec<(PacketBox, Judged)> = Vec::new();
        // the rule's packets as the rest of the audit reads them: `any` is its zone's space, so a
        // translation of a perimeter address does not touch a rule towards the internet (a second
        // cold trial saw a DNAT of 203.0.113.100:443 block the A/V Edge's 443 to the internet)
        let space = super::judge::rule_region(rule, self.topology);
        let has = |inbound: bool| {
            self.config.nat.iter().any(|n| match n.kind {
                NatKind::Destination => inbound,
                _ => !inbound,
            })
        };
        // inbound: each destination as it arrives (the public address of a NAT'd server)
        for d in &rule.destination.members {
            let entry = self.entry(&d.net, iif);
            if entry.is_none() && !has(true) {
                continue;
            }
            let own = net_interval(&d.net);
            let arrive = entry.map(|n| host(n.public)).unwrap_or(own);
            if entry.is_some_and(|n| family_of(n.public) != family) {
                continue;
            }
            let boxes: Vec<PacketBox> = rule
                .source
                .members
                .iter()
                .map(|s| PacketBox {
                    src: net_interval(&s.net),
                    dst: arrive,
                    proto,
                    port: ports,
                })
                .collect();
            let boxes = if entry.is_none() {
                Region::union_of(boxes).intersect(&space).0
            } else {
                boxes
            };
            let expected = entry.map(|n| host(n.private));
            let missing = Location {
                line: None,
                text: match entry {
                    Some(n) => format!(
                        "no translation of {} to {} ({}) in the configuration",
                        n.public,
                        n.private,
                        self.topology.address_label(n.private)
                    ),
                    None => String::new(),
                },
            };
            judged.extend(self.judge(
                true,
                family,
                iif,
                oif,
                Region::union_of(boxes),
                expected,
                &missing,
                &|b| PacketBox { dst: own, ..b },
            ));
        }
        // outbound: a NAT'd server's own connections through the public interface
        for s in &rule.source.members {
            let Some(entry) = self.entry(&s.net, oif) else {
                continue;
            };
            if family_of(entry.public) != family {
                continue;
            }
            let boxes: Vec<PacketBox> = rule
                .destination
                .members
                .iter()
                .map(|d| PacketBox {
                    src: net_interval(&s.net),
                    dst: net_interval(&d.net),
                    proto,
                    port: ports,
                })
                .collect();
            let boxes = Region::union_of(boxes).intersect(&space).0;
            let missing = Location {
                line: None,
                text: format!(
                    "no translation of {} to {} ({}) for its own connections in the configuration",
                    entry.private,
                    entry.public,
                    self.topology.address_label(entry.private)
                ),
            };
            judged.extend(self.judge(
                false,
                family,
                iif,
                oif,
                Region::union_of(boxes),
                Some(host(entry.public)),
                &missing,
                &|b| b,
            ));
        }
        let mut problems: Vec<(Region, Judged)> = Vec::new();
        for (b, j) in judged {
            if j == Judged::Ok {
                continue;
            }
            match problems.iter_mut().find(|(_, x)| *x == j) {
                Some((r, _)) => r.0.push(b),
                None => problems.push((Region(vec![b]), j)),
            }
        }
        if problems.is_empty() {
            return pieces;
        }
        // members may overlap (a network and a host in it): keep each region's boxes disjoint
        for (reg, _) in &mut problems {
            *reg = Region::union_of(std::mem::take(&mut reg.0));
        }
        // a denied translation wins over an unsure one
        problems.sort_by_key(|(_, j)| matches!(j, Judged::Unsure(_)));
        let mut out = Vec::new();
        for p in pieces {
            let mut rest = p.region.clone();
            for (reg, j) in &problems {
                if rest.is_empty() {
                    break;
                }
                let hit = rest.intersect(reg);
                if hit.is_empty() {
                    continue;
                }
                rest = rest.minus(reg);
                let fate = match (j, &p.fate) {
                    // lines the reader could not take (or a file the tool refuses) may hold the
                    // missing translation: not a definite denial then
                    (Judged::Wrong(at), Fate::Uncertain(more))
                        if !self.config.unparsed.is_empty() =>
                    {
                        let mut all = vec![at.clone()];
                        all.extend(more.iter().cloned());
                        Fate::Uncertain(all)
                    }
                    (Judged::Wrong(at), _) => Fate::Denied(at.clone()),
                    // whatever the translation does, the filter drops the planned flow
                    (Judged::Unsure(_), Fate::Denied(at)) => Fate::Denied(at.clone()),
                    (Judged::Unsure(at), Fate::Uncertain(more)) => {
                        let mut all = at.clone();
                        all.extend(more.iter().cloned());
                        Fate::Uncertain(all)
                    }
                    (Judged::Unsure(at), Fate::Allowed(_)) => Fate::Uncertain(at.clone()),
                    (Judged::Ok, f) => f.clone(),
                };
                out.push(Piece { region: hit, fate });
            }
            if !rest.is_empty() {
                out.push(Piece {
                    region: rest,
                    fate: p.fate,
                });
            }
        }
        out
    }

    /// Findings: each plan entry checked in both directions for all traffic, then every
    /// configuration translation no plan entry accounts for.
    pub fn findings(&self) -> Vec<NatFinding> {
        let mut out = Vec::new();
        let mut used: Vec<*const Nat> = Vec::new();
        let entries: &[StaticNat] = self.fw.map(|f| f.nat.as_slice()).unwrap_or(&[]);
        for n in entries {
            let family = family_of(n.public);
            if !self.config.families.contains(&family) {
                continue;
            }
            let inside = self.inside_of(n);
            for inbound in [true, false] {
                let (iif, oif, region, expected) = if inbound {
                    (
                        n.interface.as_str(),
                        inside.as_str(),
                        PacketBox {
                            src: full(family),
                            dst: host(n.public),
                            proto: PROTO_ALL,
                            port: (0, u16::MAX),
                        },
                        host(n.private),
                    )
                } else {
                    (
                        inside.as_str(),
                        n.interface.as_str(),
                        PacketBox {
                            src: host(n.private),
                            dst: full(family),
                            proto: PROTO_ALL,
                            port: (0, u16::MAX),
                        },
                        host(n.public),
                    )
                };
                let masq = self.masq_address(oif, family);
                let mut ok: Vec<PacketBox> = Vec::new();
                let mut ok_at: Vec<Location> = Vec::new();
                let mut untouched: Vec<PacketBox> = Vec::new();
                let mut wrong: Vec<(Location, String)> = Vec::new();
                let mut unsure: Vec<Location> = Vec::new();
                for (reg, outcome) in
                    translate(self.config, inbound, family, iif, oif, Region::of(region))
                {
                    match outcome {
                        Outcome::Untouched => untouched.extend(reg.0),
                        Outcome::Uncertain(at) => {
                            for l in at {
                                if !unsure.contains(&l) {
                                    unsure.push(l);
                                }
                            }
                        }
                        Outcome::By(nat) => {
                            used.push(nat as *const Nat);
                            for b in reg.0 {
                                // judge addresses only: a port rewrite over all ports is partial
                                match judge_box(nat, &b, inbound, expected, family, masq) {
                                    Judged::Ok => {
                                        ok.push(b);
                                        if !ok_at.contains(&nat.matches.at) {
                                            ok_at.push(nat.matches.at.clone());
                                        }
                                    }
                                    Judged::Unsure(at) => unsure.extend(at),
                                    _ => {
                                        let side = if inbound { b.dst } else { b.src };
                                        let to = match image(nat, side, family, masq) {
                                            Some(iv) => iv_text(iv, family),
                                            None if nat.kind == NatKind::Masquerade => {
                                                "the interface address".into()
                                            }
                                            None => nat
                                                .to
                                                .as_ref()
                                                .map(|s| set_text(s, family))
                                                .unwrap_or_else(|| "?".into()),
                                        };
                                        let to = match nat.to_ports {
                                            Some((a, c)) if inbound && a == c => {
                                                format!("{to} port {a}")
                                            }
                                            Some((a, c)) if inbound => {
                                                format!("{to} ports {a}-{c}")
                                            }
                                            _ => to,
                                        };
                                        if !wrong
                                            .iter()
                                            .any(|(l, t)| *l == nat.matches.at && *t == to)
                                        {
                                            wrong.push((nat.matches.at.clone(), to));
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                let direction = if inbound {
                    Direction::Inbound
                } else {
                    Direction::Outbound
                };
                let (from, want) = if inbound {
                    (n.public, n.private)
                } else {
                    (n.private, n.public)
                };
                let plan = Some(self.label(n));
                for (at, to) in wrong {
                    out.push(NatFinding {
                        problem: Problem::Different,
                        direction,
                        plan: plan.clone(),
                        at: vec![at],
                        detail: format!("{from} is translated to {to}; the plan has {want}"),
                    });
                }
                if !unsure.is_empty() {
                    out.push(NatFinding {
                        problem: Problem::Uncertain,
                        direction,
                        plan: plan.clone(),
                        at: unsure,
                        detail: format!(
                            "whether {from} is translated to {want} depends on lines portplan reads only in part"
                        ),
                    });
                }
                if !untouched.is_empty() {
                    let (problem, detail) = if ok.is_empty() {
                        (
                            Problem::Missing,
                            if inbound {
                                format!(
                                    "nothing translates {from} to {want}: flows to the public address do not reach the server"
                                )
                            } else {
                                format!(
                                    "nothing translates {from} to {want}: the server's own connections leave with its private address"
                                )
                            },
                        )
                    } else {
                        (
                            Problem::Partial,
                            format!(
                                "{from} is translated to {want} for part of the traffic only; not for {}",
                                boxes_text(&untouched, family)
                            ),
                        )
                    };
                    out.push(NatFinding {
                        problem,
                        direction,
                        plan: plan.clone(),
                        at: ok_at,
                        detail,
                    });
                }
            }
        }
        // a destination and a source translation that mirror each other are one static NAT
        let host_pair = |n: &Nat| -> Option<(Family, u128, u128)> {
            if n.matches.uncertain.is_some() || n.kind == NatKind::Masquerade || n.one_to_one {
                return None;
            }
            let to = n.to.as_ref()?;
            let (family, to) = match (to.v4.as_slice(), to.v6.as_slice()) {
                ([(a, b)], []) if a == b => (Family::V4, *a),
                ([], [(a, b)]) if a == b => (Family::V6, *a),
                _ => return None,
            };
            let p = n.matches.product(family);
            let side = if n.kind == NatKind::Destination {
                &p.dst
            } else {
                &p.src
            };
            match &side[..] {
                [(a, b)] if a == b => Some((family, *a, to)),
                _ => None,
            }
        };
        let unplanned: Vec<&Nat> = self
            .config
            .nat
            .iter()
            .filter(|n| !used.contains(&(*n as *const Nat)))
            .collect();
        let mut paired: Vec<*const Nat> = Vec::new();
        for d in unplanned.iter().filter(|n| n.kind == NatKind::Destination) {
            let Some((family, public, private)) = host_pair(d) else {
                continue;
            };
            let mirror = unplanned.iter().find(|s| {
                s.kind == NatKind::Source
                    && !paired.contains(&(**s as *const Nat))
                    && host_pair(s) == Some((family, private, public))
            });
            if let Some(s) = mirror {
                paired.push(*d as *const Nat);
                paired.push(*s as *const Nat);
                out.push(NatFinding {
                    problem: Problem::Unplanned,
                    direction: Direction::Inbound,
                    plan: None,
                    at: vec![d.matches.at.clone(), s.matches.at.clone()],
                    detail: format!(
                        "static NAT {} <-> {} is not in the plan's static NAT (it publishes {})",
                        iv_text((public, public), family),
                        iv_text((private, private), family),
                        iv_text((private, private), family)
                    ),
                });
            }
        }
        for nat in &self.config.nat {
            if used.contains(&(nat as *const Nat)) || paired.contains(&(nat as *const Nat)) {
                continue;
            }
            let (inbound, direction) = match nat.kind {
                NatKind::Destination => (true, Direction::Inbound),
                _ => (false, Direction::Outbound),
            };
            if let Some(why) = nat
                .matches
                .uncertain
                .clone()
                .or_else(|| nat.to.is_none().then(|| "translation target".to_string()))
            {
                out.push(NatFinding {
                    problem: Problem::Uncertain,
                    direction,
                    plan: None,
                    at: vec![nat.matches.at.clone()],
                    detail: format!(
                        "a translation read only in part ({why}): the flows it may match are uncertain"
                    ),
                });
                continue;
            }
            let families = self.config.families.clone();
            // the matched side as the family's products list it (at most four intervals each)
            let side = || -> String {
                let texts: Vec<String> = families
                    .iter()
                    .flat_map(|&f| {
                        let p = nat.matches.product(f);
                        let list = if inbound { &p.dst } else { &p.src };
                        list.iter()
                            .take(4)
                            .map(move |iv| iv_text(*iv, f))
                            .collect::<Vec<_>>()
                    })
                    .collect();
                if texts.is_empty() {
                    "nothing".into()
                } else {
                    texts.join(", ")
                }
            };
            let to = match (nat.kind, &nat.to) {
                (NatKind::Masquerade, _) => "the interface address".to_string(),
                (_, Some(s)) => families
                    .iter()
                    .map(|&f| set_text(s, f))
                    .filter(|t| !t.is_empty())
                    .collect::<Vec<_>>()
                    .join(", "),
                (_, None) => "?".into(),
            };
            let detail = if inbound {
                format!(
                    "destination {} is translated to {to}, which the plan's static NAT does not have (it can publish a server)",
                    side()
                )
            } else {
                format!(
                    "source {} is translated to {to}, which the plan's static NAT does not have",
                    side()
                )
            };
            out.push(NatFinding {
                problem: Problem::Unplanned,
                direction,
                plan: None,
                at: vec![nat.matches.at.clone()],
                detail,
            });
        }
        out
    }
}

fn set_text(s: &super::model::AddrSet, family: Family) -> String {
    let list = match family {
        Family::V4 => &s.v4,
        Family::V6 => &s.v6,
    };
    let list = super::space::normalize(list.clone());
    list.iter()
        .map(|iv| iv_text(*iv, family))
        .collect::<Vec<_>>()
        .join(", ")
}

fn boxes_text(boxes: &[PacketBox], family: Family) -> String {
    let mut out: Vec<String> = Vec::new();
    for b in boxes.iter().take(4) {
        let proto = if b.proto == PROTO_ALL {
            "any protocol".to_string()
        } else {
            [
                (super::space::PROTO_TCP, "tcp"),
                (super::space::PROTO_UDP, "udp"),
                (super::space::PROTO_OTHER, "other protocols"),
            ]
            .iter()
            .filter(|(bit, _)| b.proto & bit != 0)
            .map(|(_, name)| *name)
            .collect::<Vec<_>>()
            .join(", ")
        };
        let mut t = proto.to_string();
        if b.port != (0, u16::MAX) {
            t.push_str(&format!(" ports {}-{}", b.port.0, b.port.1));
        }
        if b.src != full(family) && b.src.0 != b.src.1
            || b.src.0 == b.src.1 && b.dst == full(family)
        {
            t.push_str(&format!(" from {}", iv_text(b.src, family)));
        }
        if b.dst != full(family) && b.dst.0 != b.dst.1 {
            t.push_str(&format!(" to {}", iv_text(b.dst, family)));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if boxes.len() > 4 {
        out.push(format!("… ({} pieces)", boxes.len()));
    }
    out.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::model::{AddrMatch, AddrSet, Rule};
    use crate::audit::space::{PROTO_TCP, PROTO_UDP};

    fn set(net: &str) -> AddrSet {
        let mut s = AddrSet::default();
        s.push_net(&net.parse().unwrap());
        s
    }

    fn v4(a: &str) -> u128 {
        addr_value(a.parse().unwrap())
    }

    fn dnat(dst: &str, to: &str, one_to_one: bool, line: usize) -> Nat {
        let mut r = Rule::new(
            Location::line(line, "dnat"),
            super::super::model::Action::Continue,
        );
        r.dst = Some(AddrMatch {
            set: set(dst).into(),
            negated: false,
        });
        Nat {
            kind: NatKind::Destination,
            matches: r,
            to: Some(set(to)),
            to_ports: None,
            one_to_one,
        }
    }

    fn config(nat: Vec<Nat>) -> Config {
        Config {
            format: "test",
            chains: Vec::new(),
            entries: Vec::new(),
            unparsed: Vec::new(),
            families: vec![Family::V4],
            notes: Vec::new(),
            nat,
            chain_index: Default::default(),
        }
    }

    fn to_host(a: &str) -> PacketBox {
        PacketBox {
            src: full(Family::V4),
            dst: host(a.parse().unwrap()),
            proto: PROTO_TCP | PROTO_UDP,
            port: (443, 443),
        }
    }

    #[test]
    fn netmap_keeps_the_host_part_and_a_host_maps_to_itself() {
        let n = dnat("203.0.113.0/24", "172.16.10.0/24", true, 1);
        let iv = (v4("203.0.113.12"), v4("203.0.113.12"));
        assert_eq!(
            image(&n, iv, Family::V4, None),
            Some((v4("172.16.10.12"), v4("172.16.10.12")))
        );
        let one = dnat("203.0.113.12/32", "172.16.10.12/32", false, 1);
        assert_eq!(
            image(
                &one,
                (v4("203.0.113.12"), v4("203.0.113.12")),
                Family::V4,
                None
            ),
            Some((v4("172.16.10.12"), v4("172.16.10.12")))
        );
        // a pool is not a static translation
        let pool = dnat("203.0.113.12/32", "172.16.10.8/30", false, 1);
        assert_eq!(image(&pool, iv, Family::V4, None), None);
    }

    #[test]
    fn the_first_matching_translation_wins_and_partly_read_ones_stay_open() {
        let c = config(vec![
            dnat("203.0.113.12/32", "172.16.10.12/32", false, 1),
            dnat("203.0.113.0/24", "172.16.10.99/32", false, 2),
        ]);
        let out = translate(
            &c,
            true,
            Family::V4,
            "outside",
            "dmz",
            Region::of(to_host("203.0.113.12")),
        );
        assert_eq!(out.len(), 1);
        assert!(matches!(out[0].1, Outcome::By(n) if n.matches.at.line == Some(1)));
        // source translations do not touch inbound traffic
        let mut unread = dnat("203.0.113.0/24", "172.16.10.12/32", false, 3);
        unread.to = None;
        let c = config(vec![
            unread,
            dnat("203.0.113.12/32", "172.16.10.12/32", false, 4),
        ]);
        let out = translate(
            &c,
            true,
            Family::V4,
            "outside",
            "dmz",
            Region::of(to_host("203.0.113.12")),
        );
        assert!(
            matches!(&out[0].1, Outcome::Uncertain(at) if at[0].line == Some(3)),
            "{out:?}"
        );
        let out = translate(
            &c,
            false,
            Family::V4,
            "dmz",
            "outside",
            Region::of(to_host("203.0.113.12")),
        );
        assert!(matches!(out[0].1, Outcome::Untouched));
    }

    #[test]
    fn a_port_rewrite_keeps_the_flow_only_for_the_same_port() {
        let mut n = dnat("203.0.113.12/32", "172.16.10.12/32", false, 1);
        n.to_ports = Some((443, 443));
        let expected = host("172.16.10.12".parse().unwrap());
        let b = to_host("203.0.113.12");
        assert_eq!(
            judge_box(&n, &b, true, expected, Family::V4, None),
            Judged::Ok
        );
        let b80 = PacketBox {
            port: (80, 80),
            ..b
        };
        assert!(matches!(
            judge_box(&n, &b80, true, expected, Family::V4, None),
            Judged::Wrong(_)
        ));
    }

    #[test]
    fn masquerade_is_right_only_when_the_interface_has_the_public_address() {
        let mut r = Rule::new(
            Location::line(1, "masq"),
            super::super::model::Action::Continue,
        );
        r.src = None;
        let m = Nat {
            kind: NatKind::Masquerade,
            matches: r,
            to: Some(AddrSet::default()),
            to_ports: None,
            one_to_one: false,
        };
        let b = PacketBox {
            src: host("172.16.10.12".parse().unwrap()),
            dst: full(Family::V4),
            proto: PROTO_UDP,
            port: (3478, 3478),
        };
        let public = host("203.0.113.12".parse().unwrap());
        assert_eq!(
            judge_box(&m, &b, false, public, Family::V4, Some(public.0)),
            Judged::Ok
        );
        assert!(matches!(
            judge_box(&m, &b, false, public, Family::V4, Some(v4("198.51.100.1"))),
            Judged::Wrong(_)
        ));
        assert!(matches!(
            judge_box(&m, &b, false, public, Family::V4, None),
            Judged::Unsure(_)
        ));
    }
}
