//! The audit's judgement of one firewall against the plan (the algorithm, not a document): for
//! every planned rule, whether the configuration allows all of it, none, part (and which part,
//! decided by which line), or cannot tell; and what it allows beyond the plan.

use super::eval::{self, Fate, Piece};
use super::model::{Config, Location, Unparsed};
use super::space::{
    PROTO_ALL, PROTO_TCP, PROTO_UDP, PacketBox, Product, Region, net_interval, normalize,
    value_addr,
};
use crate::catalog::Transport;
use crate::plan::{Family, Plan, Rule};
use crate::topology::Topology;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Allowed,
    Partial,
    Blocked,
    Uncertain,
}

impl Status {
    /// The status as the JSON document spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Allowed => "allowed",
            Status::Partial => "partial",
            Status::Blocked => "blocked",
            Status::Uncertain => "uncertain",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Part {
    /// allowed, denied or uncertain
    pub verdict: String,
    /// Which packets, relative to the planned rule ("tcp 55000-59999", "… from 10.0.0.0/8").
    pub what: Vec<String>,
    pub by: Vec<Location>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleAudit {
    /// The planned rule's id; JSON shows it as the plan does (`r12`).
    #[serde(
        serialize_with = "crate::plan::rule_tag_of",
        deserialize_with = "crate::plan::rule_tag_from"
    )]
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

/// What an [`Exposure`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExposureKind {
    /// Legitimate sources of the ingress side reach more than the plan asks for.
    Opening,
    /// Packets arriving on the ingress with a source address that routing puts behind another
    /// interface are let in (no anti-spoofing); one per ingress interface.
    SpoofedSource,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Exposure {
    pub kind: ExposureKind,
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartlyRead {
    pub at: Location,
    pub why: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Audit {
    pub firewall: String,
    /// The configuration format read (`iptables`, `asa`, …).
    pub format: String,
    pub rules: Vec<RuleAudit>,
    pub overexposure: Vec<Exposure>,
    pub unparsed: Vec<Unparsed>,
    pub partly_read: Vec<PartlyRead>,
    pub notes: Vec<String>,
    /// The plan's static NAT against the configuration's translations (see [`super::nat`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
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

/// The addresses one end of a planned rule stands for, as sorted, disjoint intervals. A member
/// that is a whole network of its zone (how the plan writes `any`) stands for the zone's space as
/// routing sees it: the more specific networks of other zones are not part of it
/// ([`Topology::zone_space`]), so `any` on the internet side never holds a perimeter address.
fn group_space(
    group: &crate::plan::Group,
    topology: &Topology,
    family: Family,
) -> Vec<(u128, u128)> {
    let zone_nets = topology
        .zone(&group.zone)
        .map(|z| z.networks.as_slice())
        .unwrap_or(&[]);
    let space = std::cell::OnceCell::new();
    let mut out = Vec::new();
    for m in group
        .members
        .iter()
        .filter(|m| Family::of(&m.net) == family)
    {
        let (a, b) = net_interval(&m.net);
        if m.host == group.zone && zone_nets.contains(&m.net) {
            let space = space.get_or_init(|| topology.zone_space(&group.zone, family));
            out.extend(
                space
                    .iter()
                    .filter(|x: &&(u128, u128)| x.0 <= b && x.1 >= a)
                    .map(|x| (x.0.max(a), x.1.min(b))),
            );
        } else {
            out.push((a, b));
        }
    }
    normalize(out)
}

/// The packets a planned rule stands for, as one product of interval sets.
pub fn rule_product(rule: &Rule, topology: &Topology) -> Product {
    let proto = match rule.transport {
        Transport::Tcp => PROTO_TCP,
        Transport::Udp => PROTO_UDP,
    };
    Product {
        src: group_space(&rule.source, topology, rule.family).into(),
        dst: group_space(&rule.destination, topology, rule.family).into(),
        proto,
        port: vec![(rule.ports.start, rule.ports.end)].into(),
    }
}

/// The packets a planned rule stands for, as disjoint boxes (the cross product of its product).
pub fn rule_region(rule: &Rule, topology: &Topology) -> Region {
    rule_product(rule, topology).region()
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

/// An inclusive address interval.
type Interval = (u128, u128);
/// Protocols, port range and one end of a group of boxes.
type Shape<T> = (u8, (u16, u16), T);

/// One end of a planned rule as it reads in a verdict: `any in <zone>` for the zone's whole space,
/// otherwise its address ranges.
fn end_text(
    set: &[(u128, u128)],
    whole: &[(u128, u128)],
    group: &crate::plan::Group,
    family: Family,
) -> String {
    if set == whole && group.members.iter().any(|m| m.host == group.zone) {
        format!("any in {}", group.zone)
    } else {
        space_text(set, family)
    }
}

/// The boxes grouped by protocol, port and source, those groups then by protocol, port and
/// (normalized) destinations, each with its sources; in the order the groups are first seen.
fn group_by_shape(boxes: &[PacketBox]) -> Vec<(Shape<Vec<Interval>>, Vec<Interval>)> {
    let key = |b: &PacketBox| (b.proto, b.port, b.src);
    let mut order: Vec<usize> = (0..boxes.len()).collect();
    order.sort_unstable_by_key(|&i| (key(&boxes[i]), i));
    // (first box, key, its destinations as a range of `flat`)
    let mut groups: Vec<(usize, Shape<Interval>, std::ops::Range<usize>)> = Vec::new();
    let mut flat: Vec<Interval> = Vec::with_capacity(boxes.len());
    let mut start = 0;
    while start < order.len() {
        let k = key(&boxes[order[start]]);
        let mut end = start + 1;
        while end < order.len() && key(&boxes[order[end]]) == k {
            end += 1;
        }
        let from = flat.len();
        if end - start == 1 {
            flat.push(boxes[order[start]].dst);
        } else {
            flat.extend(normalize(
                order[start..end].iter().map(|&i| boxes[i].dst).collect(),
            ));
        }
        groups.push((order[start], k, from..flat.len()));
        start = end;
    }
    let mut by_dst_order: Vec<usize> = (0..groups.len()).collect();
    by_dst_order.sort_unstable_by(|&a, &b| {
        let (ga, gb) = (&groups[a], &groups[b]);
        (ga.1.0, ga.1.1)
            .cmp(&(gb.1.0, gb.1.1))
            .then_with(|| flat[ga.2.clone()].cmp(&flat[gb.2.clone()]))
            .then(ga.0.cmp(&gb.0))
    });
    // (first box, shape, sources)
    let mut by_dst: Vec<(usize, Shape<Vec<Interval>>, Vec<Interval>)> = Vec::new();
    let mut start = 0;
    while start < by_dst_order.len() {
        let g = &groups[by_dst_order[start]];
        let same = |h: &(usize, Shape<Interval>, std::ops::Range<usize>)| {
            (h.1.0, h.1.1) == (g.1.0, g.1.1) && flat[h.2.clone()] == flat[g.2.clone()]
        };
        let mut end = start + 1;
        while end < by_dst_order.len() && same(&groups[by_dst_order[end]]) {
            end += 1;
        }
        let srcs = by_dst_order[start..end]
            .iter()
            .map(|&i| groups[i].1.2)
            .collect();
        by_dst.push((g.0, (g.1.0, g.1.1, flat[g.2.clone()].to_vec()), srcs));
        start = end;
    }
    by_dst.sort_unstable_by_key(|(first, _, _)| *first);
    by_dst
        .into_iter()
        .map(|(_, shape, srcs)| (shape, srcs))
        .collect()
}

/// Describes the boxes of a planned rule's region: per protocol and ports, which sources to which
/// destinations (an end that is the rule's whole `any` reads as `any in <zone>`).
fn describe(region: &Region, rule: &Rule, whole: &Product) -> Vec<String> {
    // lines shown per verdict part; the rest is counted
    const SHOWN: usize = 8;
    let family = rule.family;
    // (proto, port, src) -> destinations, then (proto, port, destinations) -> sources, both in
    // first-seen order; grouped by sorting (a region may hold 100,000 boxes: no hash or
    // allocation per box)
    let by_dst = group_by_shape(&region.0);
    let mut out: Vec<String> = Vec::new();
    let mut seen: std::collections::HashSet<String> = Default::default();
    for ((proto, port, dsts), srcs) in by_dst {
        let mut text = proto_text(proto);
        if port.0 == port.1 {
            text.push_str(&format!(" {}", port.0));
        } else if port == (0, u16::MAX) {
            text.push_str(" any port");
        } else {
            text.push_str(&format!(" {}-{}", port.0, port.1));
        }
        let srcs = normalize(srcs);
        text.push_str(&format!(
            " from {} to {}",
            end_text(&srcs, &whole.src, &rule.source, family),
            end_text(&dsts, &whole.dst, &rule.destination, family)
        ));
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

/// Packets that share everything but their source: a list of source intervals (sorted, disjoint)
/// times one destination × protocol × port box (whose own `src` is not used). A region whose
/// boxes differ only in source — what a long rule list leaves — is a handful of these, so
/// subtracting a planned rule splits a few source lists instead of every box.
struct SourceSet {
    src: Vec<Interval>,
    rest: PacketBox,
}

impl SourceSet {
    fn size(&self) -> u128 {
        let n: u128 = self
            .src
            .iter()
            .map(|(a, b)| (b - a).saturating_add(1))
            .fold(0, u128::saturating_add);
        PacketBox {
            src: (0, 0),
            ..self.rest
        }
        .size()
        .saturating_mul(n)
    }
}

/// A region as source sets, one per distinct (destination, protocols, ports).
fn source_sets(region: Region) -> Vec<SourceSet> {
    let mut sets: Vec<SourceSet> = Vec::new();
    let mut at: std::collections::HashMap<Shape<Interval>, usize> = Default::default();
    for b in region.0 {
        let key = (b.proto, b.port, b.dst);
        match at.get(&key) {
            Some(&i) => sets[i].src.push(b.src),
            None => {
                at.insert(key, sets.len());
                sets.push(SourceSet {
                    src: vec![b.src],
                    rest: b,
                });
            }
        }
    }
    for s in &mut sets {
        s.src = normalize(std::mem::take(&mut s.src));
    }
    sets
}

/// `a ∩ b` and `a − b` for sorted, disjoint interval lists, in one merge.
fn meet_and_rest(a: &[Interval], b: &[Interval]) -> (Vec<Interval>, Vec<Interval>) {
    let (mut inside, mut outside) = (Vec::new(), Vec::new());
    let mut j = 0;
    for &(lo, hi) in a {
        let mut next = Some(lo);
        while j < b.len() && b[j].1 < lo {
            j += 1;
        }
        let mut k = j;
        while let Some(n) = next
            && k < b.len()
            && b[k].0 <= hi
        {
            let (x, y) = b[k];
            if x > n {
                outside.push((n, x - 1));
            }
            inside.push((x.max(n), y.min(hi)));
            next = if y >= hi { None } else { Some(y + 1) };
            k += 1;
        }
        if let Some(n) = next
            && n <= hi
        {
            outside.push((n, hi));
        }
    }
    (inside, outside)
}

/// Source sets minus what one planned rule stands for: the sources outside the rule's keep their
/// box, those inside keep the box minus the rule's destinations, protocol and ports.
fn minus_planned(sets: Vec<SourceSet>, p: &Product) -> Vec<SourceSet> {
    let rest_of = Product {
        src: vec![(0, 0)].into(),
        dst: p.dst.clone(),
        proto: p.proto,
        port: p.port.clone(),
    };
    let mut out = Vec::with_capacity(sets.len());
    for s in sets {
        let probe = PacketBox {
            src: (0, 0),
            ..s.rest
        };
        if !rest_of.touches(&probe) {
            out.push(s);
            continue;
        }
        let (inside, outside) = meet_and_rest(&s.src, &p.src);
        if inside.is_empty() {
            out.push(s);
            continue;
        }
        if !outside.is_empty() {
            out.push(SourceSet {
                src: outside,
                rest: s.rest,
            });
        }
        // a box minus a product of three short lists: a few pieces, never too many
        let (_, miss) = rest_of.split(&probe, usize::MAX).expect("no limit was set");
        for rest in miss {
            out.push(SourceSet {
                src: inside.clone(),
                rest,
            });
        }
    }
    out
}

/// The shape of what was found, as a reader wants it: protocols, ports, sources, destinations and
/// how many (source, destination, port) combinations it holds. `ends` names the whole source and
/// destination spaces searched (`any in internet`), so an end that covers all of one reads as its
/// name.
fn outline(
    sets: &[SourceSet],
    family: Family,
    beyond: &str,
    ends: [(&[(u128, u128)], &str); 2],
) -> String {
    let proto = sets.iter().fold(0u8, |a, s| a | s.rest.proto);
    let end = |set: Vec<Interval>, (whole, name): (&[(u128, u128)], &str)| {
        let set = normalize(set);
        if set == whole {
            name.to_string()
        } else {
            space_text(&set, family)
        }
    };
    let srcs: Vec<Interval> = sets.iter().flat_map(|s| s.src.iter().copied()).collect();
    let dsts: Vec<Interval> = sets.iter().map(|s| s.rest.dst).collect();
    let p_lo = sets.iter().map(|s| s.rest.port.0).min().unwrap_or(0);
    let p_hi = sets.iter().map(|s| s.rest.port.1).max().unwrap_or(0);
    let distinct = normalize(sets.iter().map(|s| s.rest.port).collect());
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
    let size = sets
        .iter()
        .map(SourceSet::size)
        .fold(0u128, u128::saturating_add);
    let amount = if size > 1u128 << 60 {
        "an enormous number of".to_string()
    } else {
        size.to_string()
    };
    format!(
        "{} {ports} from {} to {} ({amount} address/port combinations {beyond})",
        proto_text(proto),
        end(srcs, ends[0]),
        end(dsts, ends[1]),
    )
}

fn parts_of(pieces: &[Piece], rule: &Rule, whole: &Product) -> Vec<Part> {
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
            verdict: verdict.to_string(),
            what: describe(&region, rule, whole),
            by,
        })
        .collect()
}

/// Audits the plan's rules for `firewall` against `config`.
fn audit_rules(
    plan: &Plan,
    topology: &Topology,
    firewall: &str,
    config: &Config,
    nat: &super::nat::Check,
) -> Vec<RuleAudit> {
    let mut rules = Vec::new();
    for r in plan.rules_for(firewall) {
        let product = rule_product(r, topology);
        let whole = product.region();
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
            parts: parts_of(&pieces, r, &product),
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
        let rules = audit_rules(plan, topology, firewall, config, &nat);
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
        format: config.format.to_string(),
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

/// The search for what `config` allows beyond the plan on its own (the part [`audit`] runs beside
/// the planned rules): the findings and the notes it adds to the configuration's.
pub fn overexposure_of(
    plan: &Plan,
    topology: &Topology,
    firewall: &str,
    config: &Config,
) -> (Vec<Exposure>, Vec<String>) {
    let mut notes = config.notes.clone();
    let found = overexposure(plan, topology, firewall, config, &mut notes);
    (found, notes)
}

/// Sorted, disjoint address intervals of one family.
type Space = Vec<(u128, u128)>;

/// For one ingress interface and family: the sources that belong on its side (`legit`), and those
/// that belong behind the firewall's other interfaces and not on its side (`foreign`).
fn sources_of(
    topology: &Topology,
    fw: &crate::topology::Firewall,
    inp: &crate::topology::FirewallInterface,
    family: Family,
) -> (Space, Space) {
    let legit = side_space(topology, &fw.name, &inp.zone, family);
    let others: Space = normalize(
        fw.interfaces
            .iter()
            .filter(|o| o.name != inp.name)
            .flat_map(|o| side_space(topology, &fw.name, &o.zone, family))
            .collect(),
    );
    let foreign = without(&others, &legit);
    (legit, foreign)
}

/// Addresses on one side of a firewall, as routing sees them: the space of the zone of that leg
/// and of every zone reached from it without crossing this firewall again (sorted, disjoint).
fn side_space(
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
            out.extend(topology.zone_space(&z.name, family));
        }
    }
    normalize(out)
}

/// Fragment budget of the overexposure pass: a configuration that breaks the protected space into
/// more pieces is reported as too fragmented to analyse completely (see the audit's notes). The
/// evaluator indexes pieces by source, so this bounds memory (about 100 bytes a piece), not time.
pub const OVEREXPOSURE_BUDGET: usize = 400_000;

/// Every (source, destination) pair of two interval lists, all protocols and ports.
fn space_region(sources: &[(u128, u128)], destinations: &[(u128, u128)]) -> Region {
    Product {
        src: sources.into(),
        dst: destinations.into(),
        proto: PROTO_ALL,
        port: vec![(0, u16::MAX)].into(),
    }
    .region()
}

/// The rule that lets a piece of the search for openings in, and whether it does so for certain;
/// none when it is denied or nothing says why. A search that stopped (its budget ran out) is handed
/// to `stopped` with the rule it stopped at, and lets nothing in.
fn letting_in(fate: Fate, mut stopped: impl FnMut(&Location)) -> Option<(Location, bool)> {
    match fate {
        Fate::Allowed(by) => Some((by, true)),
        Fate::Uncertain(at) => match at.into_iter().next() {
            Some(first) if first.text.starts_with("evaluation stopped") => {
                stopped(&first);
                None
            }
            Some(first) => Some((first, false)),
            None => None,
        },
        Fate::Denied(_) => None,
    }
}

/// `set − holes` for sorted, disjoint interval lists.
fn without(set: &[(u128, u128)], holes: &[(u128, u128)]) -> Vec<(u128, u128)> {
    let mut out = Vec::new();
    for &(a, b) in set {
        out.extend(super::model::complement(holes, (a, b)));
    }
    out
}

fn space_text(space: &[(u128, u128)], family: Family) -> String {
    const SHOWN: usize = 4;
    let mut parts: Vec<String> = space
        .iter()
        .take(SHOWN)
        .map(|iv| interval_text(*iv, family))
        .collect();
    if space.len() > SHOWN {
        parts.push(format!("and {} more ranges", space.len() - SHOWN));
    }
    parts.join(", ")
}

/// Where the configuration lets packets with sources of another side in through one ingress.
struct Spoofed {
    by: Location,
    certain: bool,
    egress: String,
    egress_zone: String,
    family: Family,
    what: Vec<String>,
}

/// What the configuration allows into each protected zone beyond the plan. For every pair of the
/// firewall's interfaces whose egress is not the internet:
/// - anti-spoofing: new connections arriving on the ingress with a source address that routing
///   puts behind another interface of this firewall; one finding per ingress interface, naming the
///   foreign source space and the first rule that lets such packets in;
/// - openings: new connections from the legitimate sources of the ingress side (its zones'
///   address space) to the egress side that no planned rule stands for, one finding per rule that
///   accepts them.
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
    let mut note_stop = |inp: &str, outp: &str, family: Family, at: &Location| {
        let note = format!(
            "{inp} -> {outp} ({family}): the search for openings beyond the plan stopped at {} (more than {OVEREXPOSURE_BUDGET} fragments); openings after that rule are not listed",
            at.label()
        );
        if !notes.contains(&note) {
            notes.push(note);
        }
    };
    let mut out = Vec::new();
    for inp in &fw.interfaces {
        let mut spoofed: Vec<Spoofed> = Vec::new();
        for &family in &config.families {
            let (legit, foreign) = sources_of(topology, fw, inp, family);
            for outp in &fw.interfaces {
                let protected = topology
                    .zone(&outp.zone)
                    .is_some_and(|z| z.kind != crate::topology::ZoneKind::Internet);
                if inp.name == outp.name || !protected {
                    continue;
                }
                let destinations = side_space(topology, firewall, &outp.zone, family);
                if destinations.is_empty() {
                    continue;
                }
                // sources that belong behind another interface
                if !foreign.is_empty() {
                    let pieces = eval::evaluate_within(
                        config,
                        family,
                        &inp.name,
                        &outp.name,
                        space_region(&foreign, &destinations),
                        OVEREXPOSURE_BUDGET,
                    );
                    let mut allowed: Vec<(Location, bool, Region)> = Vec::new();
                    for piece in pieces {
                        let Some((by, certain)) = letting_in(piece.fate, |at| {
                            note_stop(&inp.name, &outp.name, family, at)
                        }) else {
                            continue;
                        };
                        match allowed
                            .iter_mut()
                            .find(|(b, c, _)| *b == by && *c == certain)
                        {
                            Some(g) => g.2.0.extend(piece.region.0),
                            None => allowed.push((by, certain, piece.region)),
                        }
                    }
                    // the first rule (in the file) that lets them in; a certain one before a maybe
                    let first = allowed
                        .iter()
                        .min_by_key(|(by, certain, _)| (!certain, by.line.unwrap_or(usize::MAX)));
                    if let Some((by, certain, _)) = first {
                        // what is let in for certain (or, when nothing is, what may be)
                        let mut all = Region::default();
                        for (_, c, r) in &allowed {
                            if c == certain {
                                all.0.extend(r.0.iter().copied());
                            }
                        }
                        spoofed.push(Spoofed {
                            by: by.clone(),
                            certain: *certain,
                            egress: outp.name.clone(),
                            egress_zone: outp.zone.clone(),
                            family,
                            what: vec![format!(
                                "{} -> {} ({family}): {}",
                                inp.name,
                                outp.name,
                                outline(
                                    &source_sets(all),
                                    family,
                                    "with a foreign source",
                                    [
                                        (&foreign, "any foreign source"),
                                        (&destinations, &format!("any in {}", outp.zone)),
                                    ]
                                )
                            )],
                        });
                    }
                }
                // openings from the legitimate sources beyond the plan
                if legit.is_empty() {
                    continue;
                }
                let planned: Vec<Product> = plan
                    .rules_for(firewall)
                    .filter(|r| {
                        r.family == family
                            && r.ingress_interface == inp.name
                            && r.egress_interface == outp.name
                    })
                    .map(|r| rule_product(r, topology))
                    .collect();
                let pieces = eval::evaluate_within(
                    config,
                    family,
                    &inp.name,
                    &outp.name,
                    space_region(&legit, &destinations),
                    OVEREXPOSURE_BUDGET,
                );
                let mut found: Vec<(Location, bool, Vec<SourceSet>)> = Vec::new();
                for piece in pieces {
                    let Some((by, certain)) = letting_in(piece.fate, |at| {
                        note_stop(&inp.name, &outp.name, family, at)
                    }) else {
                        continue;
                    };
                    let mut extra = source_sets(piece.region);
                    for p in &planned {
                        extra = minus_planned(extra, p);
                        if extra.is_empty() {
                            break;
                        }
                    }
                    if extra.is_empty() {
                        continue;
                    }
                    match found.iter_mut().find(|(b, c, _)| *b == by && *c == certain) {
                        Some(g) => g.2.extend(extra),
                        None => found.push((by, certain, extra)),
                    }
                }
                for (by, certain, extra) in found {
                    out.push(Exposure {
                        kind: ExposureKind::Opening,
                        ingress: inp.name.clone(),
                        egress: outp.name.clone(),
                        egress_zone: outp.zone.clone(),
                        into_protected_zone: true,
                        family,
                        by,
                        what: vec![outline(
                            &extra,
                            family,
                            "beyond the plan",
                            [
                                (&legit, &format!("any in {}", inp.zone)),
                                (&destinations, &format!("any in {}", outp.zone)),
                            ],
                        )],
                        certain,
                    });
                }
            }
        }
        // one finding per ingress interface: the first rule that lets foreign sources in
        if let Some(first) = spoofed
            .iter()
            .min_by_key(|s| (!s.certain, s.by.line.unwrap_or(usize::MAX)))
        {
            let families: Vec<Family> = {
                let mut f: Vec<Family> = spoofed.iter().map(|s| s.family).collect();
                f.dedup();
                f
            };
            let mut what = Vec::new();
            for &family in &families {
                let (_, foreign) = sources_of(topology, fw, inp, family);
                let behind: Vec<String> = fw
                    .interfaces
                    .iter()
                    .filter(|o| o.name != inp.name)
                    .map(|o| o.name.clone())
                    .collect();
                what.push(format!(
                    "no anti-spoofing on {}: it accepts new connections whose source ({}) belongs behind {} ({family})",
                    inp.name,
                    space_text(&foreign, family),
                    behind.join(", ")
                ));
            }
            what.extend(spoofed.iter().flat_map(|s| s.what.iter().cloned()));
            out.push(Exposure {
                kind: ExposureKind::SpoofedSource,
                ingress: inp.name.clone(),
                egress: first.egress.clone(),
                egress_zone: first.egress_zone.clone(),
                into_protected_zone: true,
                family: first.family,
                by: first.by.clone(),
                what,
                certain: first.certain,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_lists_meet_and_part_in_one_merge() {
        let a = [(0, 9), (20, 29), (40, 49)];
        let b = [(5, 22), (25, 25), (45, 100)];
        let (inside, outside) = meet_and_rest(&a, &b);
        assert_eq!(inside, vec![(5, 9), (20, 22), (25, 25), (45, 49)]);
        assert_eq!(outside, vec![(0, 4), (23, 24), (26, 29), (40, 44)]);
        assert_eq!(meet_and_rest(&a, &[]), (vec![], a.to_vec()));
        assert_eq!(
            meet_and_rest(&[(0, u128::MAX)], &[(0, u128::MAX)]),
            (vec![(0, u128::MAX)], vec![])
        );
    }

    #[test]
    fn subtracting_a_planned_rule_from_source_sets_is_exact() {
        // 1000 single sources × one destination /24 × tcp any port, minus tcp 443 to one host
        let region = Region(
            (0..1000u128)
                .map(|i| PacketBox {
                    src: (i * 2, i * 2),
                    dst: (100, 355),
                    proto: PROTO_TCP,
                    port: (0, u16::MAX),
                })
                .collect(),
        );
        let before = region.size();
        let sets = source_sets(region);
        assert_eq!(
            sets.len(),
            1,
            "boxes that differ only in source are one set"
        );
        let planned = Product {
            src: vec![(0, 999)].into(),
            dst: vec![(200, 200)].into(),
            proto: PROTO_TCP,
            port: vec![(443, 443)].into(),
        };
        let after = minus_planned(sets, &planned);
        let size: u128 = after.iter().map(SourceSet::size).sum();
        // the sources 0..=998 (even: 500 of them) lose exactly one (destination, port) each
        assert_eq!(size, before - 500);
        assert!(after.len() <= 6, "{} sets", after.len());
    }

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
