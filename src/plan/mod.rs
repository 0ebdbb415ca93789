//! Compile a topology and the catalog into concrete firewall rules.
//!
//! For every catalog row of a scenario the topology uses: resolve both roles to addresses, find the
//! firewalls between their zones, and emit one rule per firewall hop and address family. `any` is
//! relative: it stands for the networks on the far side of the firewalls the other end can reach.
//! Roles that name a pool or its VIP resolve to the address the traffic really goes to (see
//! `reach.rs`). A rule that lies inside another rule of the same hop is folded into it, and every
//! flow keeps the ids of the rules that carry it: the id (`r12`, [`rule_tag`]) is how every output
//! names a planned rule.
//! Rows whose feature is off, or whose role the deployment lacks, are kept as [`Skipped`] with the
//! reason, so `plan --explain` can say why a port is not open.

pub mod between;
mod reach;
mod route;

use crate::catalog::Leg;
use crate::catalog::{Catalog, Feature, PortRange, Role, Row, RowId, Transport};
use crate::topology::{Endpoint, PartnerKind, Topology, ZoneKind};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

pub use route::{Hop, Router};

/// IP version of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Family {
    #[serde(rename = "ipv4")]
    V4,
    #[serde(rename = "ipv6")]
    V6,
}

impl Family {
    pub fn of(net: &IpNet) -> Family {
        match net {
            IpNet::V4(_) => Family::V4,
            IpNet::V6(_) => Family::V6,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Family::V4 => "ipv4",
            Family::V6 => "ipv6",
        }
    }
}

/// One address of a group, with the host (or network) it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Member {
    pub host: String,
    pub net: IpNet,
    /// The address the far side of a static NAT knows this host by (rules match `net`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public: Option<std::net::IpAddr>,
}

/// What the addresses of a group stand for: a catalog role, or the listed partners of one kind
/// that take the place of a row's `any` end (shown as `xmpp-partner`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Player {
    Role(Role),
    Partners(PartnerKind),
}

impl Player {
    /// The leg of a multi-homed server the addresses sit on, when the role names one.
    pub fn leg(self) -> Option<Leg> {
        match self {
            Player::Role(r) => r.leg(),
            Player::Partners(_) => None,
        }
    }

    /// What is left of `text` after this player's written form, if it starts with it.
    fn strip(self, text: &str) -> Option<&str> {
        match self {
            Player::Role(r) => text.strip_prefix(r.as_str()),
            Player::Partners(k) => text
                .strip_prefix(k.as_str())
                .and_then(|t| t.strip_prefix("-partner")),
        }
    }
}

impl fmt::Display for Player {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Player::Role(r) => f.write_str(r.as_str()),
            Player::Partners(k) => write!(f, "{k}-partner"),
        }
    }
}

/// The roles a group plays: one, or several when an `any` end is narrowed to a list of roles or
/// rules of different rows are merged. Built only from [`Player`]s; written (and serialized) joined
/// by `+`, and readable as that text (`Deref<Target = str>`) where a name is all that is needed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Roles {
    players: Vec<Player>,
    /// The players joined by `+`, kept in step with `players`.
    label: String,
}

impl Roles {
    pub fn one(player: Player) -> Roles {
        Roles {
            players: vec![player],
            label: player.to_string(),
        }
    }

    pub fn role(role: Role) -> Roles {
        Roles::one(Player::Role(role))
    }

    pub fn iter(&self) -> impl Iterator<Item = Player> + '_ {
        self.players.iter().copied()
    }

    pub fn as_str(&self) -> &str {
        &self.label
    }

    /// Adds a player this group lacks, at the end.
    pub fn add(&mut self, player: Player) {
        if !self.players.contains(&player) {
            if !self.players.is_empty() {
                self.label.push('+');
            }
            self.label.push_str(&player.to_string());
            self.players.push(player);
        }
    }

    /// Adds the players of `other` this one lacks, keeping the order.
    pub fn merge(&mut self, other: &Roles) {
        for p in other.iter() {
            self.add(p);
        }
    }

    /// Whether one of the players is written `name`.
    pub fn names(&self, name: &str) -> bool {
        self.iter().any(|p| p.strip(name) == Some(""))
    }

    /// The leg the group's addresses sit on, when every player agrees on one.
    pub fn leg(&self) -> Option<Leg> {
        let first = self.players.first()?.leg()?;
        self.iter().all(|p| p.leg() == Some(first)).then_some(first)
    }
}

impl FromIterator<Player> for Roles {
    fn from_iter<I: IntoIterator<Item = Player>>(iter: I) -> Roles {
        let mut out = Roles {
            players: Vec::new(),
            label: String::new(),
        };
        for p in iter {
            out.add(p);
        }
        out
    }
}

impl std::ops::Deref for Roles {
    type Target = str;
    fn deref(&self) -> &str {
        &self.label
    }
}

impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

impl PartialEq<&str> for Roles {
    fn eq(&self, other: &&str) -> bool {
        self.label == *other
    }
}

impl PartialEq<str> for Roles {
    fn eq(&self, other: &str) -> bool {
        self.label == other
    }
}

impl Serialize for Roles {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.label)
    }
}

/// The addresses one end of a flow stands for, all in one zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// The catalog role (or roles) the addresses play.
    pub role: Roles,
    pub zone: String,
    pub members: Vec<Member>,
}

impl Group {
    pub fn nets(&self) -> Vec<IpNet> {
        self.members.iter().map(|m| m.net).collect()
    }
    fn family(&self, family: Family) -> Group {
        Group {
            role: self.role.clone(),
            zone: self.zone.clone(),
            members: self
                .members
                .iter()
                .filter(|m| Family::of(&m.net) == family)
                .cloned()
                .collect(),
        }
    }
}

/// A catalog row made concrete between two groups, with the firewalls it crosses.
#[derive(Debug, Clone, Serialize)]
pub struct Flow {
    pub rows: Vec<RowId>,
    pub service: String,
    pub transport: Transport,
    pub ports: PortRange,
    pub condition: Option<Feature>,
    pub reason: String,
    pub source: Group,
    pub destination: Group,
    /// Firewalls in order from source to destination; empty when both ends share a zone.
    pub path: Vec<Hop>,
    /// False when the zones differ and no firewall path joins them.
    pub routed: bool,
    /// The planned rules that carry this flow (one per firewall hop and address family, fewer when
    /// rules are shared), as their ids; empty when the flow crosses no firewall.
    #[serde(serialize_with = "rule_tags")]
    pub rules: Vec<usize>,
}

/// One concrete rule on one firewall.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    /// 1-based, in plan order; every output shows it as [`rule_tag`] (`r12`).
    #[serde(serialize_with = "rule_tag_of")]
    pub id: usize,
    pub firewall: String,
    pub ingress_interface: String,
    pub ingress_zone: String,
    pub egress_interface: String,
    pub egress_zone: String,
    pub family: Family,
    pub source: Group,
    pub destination: Group,
    pub transport: Transport,
    pub ports: PortRange,
    pub service: String,
    /// Catalog rows this rule implements.
    pub rows: Vec<RowId>,
    /// Features that required it; empty when at least one row is unconditional.
    pub features: Vec<Feature>,
    pub reason: String,
}

/// The identifier of planned rule `id` as the plan, every target, probe, audit and report show it.
pub fn rule_tag(id: usize) -> String {
    format!("r{id}")
}

/// Several rule ids, space separated (`r38 r39`).
pub fn rule_tags_text(ids: &[usize]) -> String {
    ids.iter()
        .map(|&id| rule_tag(id))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Serialises a rule id as its tag (`"r12"`), for JSON outputs that name planned rules.
pub fn rule_tag_of<S: serde::Serializer>(id: &usize, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rule_tag(*id))
}

/// Serialises rule ids as a list of tags (`["r38", "r39"]`).
pub fn rule_tags<S: serde::Serializer>(ids: &[usize], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(ids.iter().map(|&id| rule_tag(id)))
}

/// A rule id as JSON outputs hold it: the tag (`"r12"`), or the bare number older outputs wrote.
#[derive(Deserialize)]
#[serde(untagged)]
enum RuleRef {
    Number(usize),
    Tag(String),
}

impl RuleRef {
    fn id<E: serde::de::Error>(self) -> Result<usize, E> {
        match self {
            RuleRef::Number(n) => Ok(n),
            RuleRef::Tag(t) => t
                .strip_prefix('r')
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| E::custom(format!("`{t}` is not a rule id (r<number>)"))),
        }
    }
}

/// Reads what [`rule_tag_of`] writes.
pub fn rule_tag_from<'de, D: serde::Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    RuleRef::deserialize(d)?.id()
}

/// Reads what [`rule_tags`] writes.
pub fn rule_tags_from<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<usize>, D::Error> {
    Vec::<RuleRef>::deserialize(d)?
        .into_iter()
        .map(RuleRef::id)
        .collect()
}

impl Rule {
    /// The id as every output shows it (`r12`).
    pub fn tag(&self) -> String {
        rule_tag(self.id)
    }

    /// The features that required the rule, space separated (empty when unconditional).
    pub fn features_text(&self) -> String {
        self.features
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The catalog rows of the rule, space separated.
    pub fn rows_text(&self) -> String {
        rows_text(&self.rows)
    }
}

/// Catalog row ids as every table shows them: space separated, in order.
fn rows_text(rows: &[RowId]) -> String {
    rows.iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

impl Flow {
    /// The catalog rows of the flow, space separated.
    pub fn rows_text(&self) -> String {
        rows_text(&self.rows)
    }
}

/// A catalog row the plan does not implement, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub row: RowId,
    pub service: String,
    pub transport: Transport,
    pub ports: PortRange,
    pub reason: String,
    /// Set when the row was left out because the zone at its known end is joined to no firewall:
    /// a broken topology rather than a design choice, so `check` reports it as an error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isolated_zone: Option<String>,
}

/// The compiled plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub topology: String,
    pub scenarios: Vec<String>,
    pub features: Vec<Feature>,
    pub rules: Vec<Rule>,
    pub flows: Vec<Flow>,
    pub skipped: Vec<Skipped>,
}

impl Plan {
    /// Rules of one firewall.
    pub fn rules_for<'a>(&'a self, firewall: &'a str) -> impl Iterator<Item = &'a Rule> + 'a {
        self.rules.iter().filter(move |r| r.firewall == firewall)
    }

    /// Flows between different zones that no firewall path joins.
    pub fn unrouted_flows(&self) -> impl Iterator<Item = &Flow> {
        self.flows.iter().filter(|f| !f.routed)
    }

    /// One error per pair of zones that planned flows must cross but no firewall joins, naming the
    /// catalog rows that would otherwise vanish from every firewall target without a word.
    pub fn path_findings(&self) -> Vec<crate::topology::Finding> {
        let mut pairs: std::collections::BTreeMap<(&str, &str), Vec<&Flow>> = Default::default();
        for f in self.unrouted_flows() {
            pairs
                .entry((f.source.zone.as_str(), f.destination.zone.as_str()))
                .or_default()
                .push(f);
        }
        pairs
            .into_iter()
            .map(|((from, to), flows)| {
                let mut rows: Vec<String> = flows
                    .iter()
                    .map(|f| {
                        let rows: Vec<String> = f.rows.iter().map(|r| r.to_string()).collect();
                        format!("{} {} {} ({})", f.service, f.transport, f.ports, rows.join(", "))
                    })
                    .collect();
                rows.dedup();
                crate::topology::Finding::error(
                    crate::topology::Code::NoFirewallPath,
                    format!(
                        "{} planned flow(s) from zone `{from}` to zone `{to}` cross no firewall, because no firewall joins the two zones: {}",
                        flows.len(),
                        rows.join("; ")
                    ),
                )
                .help("add the firewall between these zones (with an interface in each), or put both sides in one zone if nothing filters between them")
            })
            .chain(self.isolated_findings())
            .collect()
    }

    fn isolated_findings(&self) -> Vec<crate::topology::Finding> {
        let mut zones: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
        for s in &self.skipped {
            if let Some(zone) = &s.isolated_zone {
                zones.entry(zone).or_default().push(format!(
                    "{} {} {} ({})",
                    s.service, s.transport, s.ports, s.row
                ));
            }
        }
        zones
            .into_iter()
            .map(|(zone, rows)| {
                crate::topology::Finding::error(
                    crate::topology::Code::NoFirewallPath,
                    format!(
                        "zone `{zone}` is joined to no firewall, so {} catalog row(s) that reach it from `any` would be missing from every firewall: {}",
                        rows.len(),
                        rows.join("; ")
                    ),
                )
                .help("give a firewall an interface in this zone, or merge it with the zone it is really part of")
            })
            .collect()
    }
}

/// Planning failed: the topology and the catalog do not fit together.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("firewall `{name}` is not in the topology (it has: {known})")]
    UnknownFirewall { name: String, known: String },
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compiles `topology` × the built-in catalog.
pub fn compile(topology: &Topology) -> Plan {
    compile_with(topology, Catalog::builtin())
}

/// Compiles `topology` × `catalog`.
pub fn compile_with(topology: &Topology, catalog: &Catalog) -> Plan {
    let router = Router::new(topology);
    let scenarios = topology.scenarios();
    let mut flows: Vec<Flow> = Vec::new();
    let mut skipped = Vec::new();
    for (id, row) in catalog.rows_with_ids() {
        if !scenarios.contains(&row.scenario.as_str()) {
            continue;
        }
        let skip = |reason: String| Skipped {
            row: id.clone(),
            service: row.service.clone(),
            transport: row.transport,
            ports: row.ports,
            reason,
            isolated_zone: None,
        };
        if let Some(scenario) = catalog.scenario(&row.scenario)
            && !row.applies_to(topology.version, scenario)
        {
            skipped.push(skip(version_skip_reason(catalog, topology.version, row)));
            continue;
        }
        if let Some(feature) = row.condition
            && !topology.has_feature(feature)
        {
            skipped.push(skip(format!("feature `{feature}` is off")));
            continue;
        }
        match expand_row(topology, catalog, &router, &id, row) {
            Ok(mut row_flows) => flows.append(&mut row_flows),
            Err(Unplanned::Reason(reason)) => skipped.push(skip(reason)),
            Err(Unplanned::Isolated(zone)) => skipped.push(Skipped {
                isolated_zone: Some(zone.clone()),
                ..skip(format!(
                    "zone `{zone}` is joined to no firewall, so nothing reaches it from `any`"
                ))
            }),
        }
    }
    let (rules, flow_rules) = rules_from_flows(topology, &flows);
    for (flow, ids) in flows.iter_mut().zip(flow_rules) {
        flow.rules = ids;
    }
    Plan {
        topology: topology.name.clone(),
        scenarios: scenarios.iter().map(|s| s.to_string()).collect(),
        features: topology.features.iter().copied().collect(),
        rules,
        flows,
        skipped,
    }
}

/// Checks a firewall name given on the command line.
pub fn check_firewall(topology: &Topology, name: &str) -> Result<(), PlanError> {
    if topology.firewall(name).is_some() {
        Ok(())
    } else {
        Err(PlanError::UnknownFirewall {
            name: name.to_string(),
            known: topology
                .firewalls
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }
}

/// The concrete side of a row end, grouped by zone.
fn concrete(
    topology: &Topology,
    catalog: &Catalog,
    row: &Row,
    end: reach::End,
    role: Role,
    narrow: &[Role],
) -> Result<Vec<Group>, String> {
    let resolve = |r: Role| reach::endpoints(topology, catalog, row, r, end);
    let (label, endpoints): (Roles, Vec<Endpoint>) = if role == Role::Any {
        if topology.narrow_any && !narrow.is_empty() {
            let mut labels: Vec<Player> = Vec::new();
            let mut eps: Vec<Endpoint> = Vec::new();
            for r in narrow {
                let (as_role, mut found) = resolve(*r);
                labels.push(Player::Role(as_role));
                eps.append(&mut found);
            }
            (labels.into_iter().collect(), eps)
        } else {
            return Ok(Vec::new());
        }
    } else {
        let (as_role, eps) = resolve(role);
        (Roles::role(as_role), eps)
    };
    if endpoints.is_empty() {
        return if matches!(
            role,
            Role::FederatedPartner
                | Role::PublicImPartner
                | Role::RemoteClients
                | Role::MessengerClients
        ) {
            Ok(Vec::new())
        } else {
            Err(format!(
                "the topology has no `{label}` ({})",
                role_hint(role)
            ))
        };
    }
    let mut by_zone: BTreeMap<String, Vec<Member>> = BTreeMap::new();
    for ep in endpoints {
        let members = by_zone.entry(ep.zone.clone()).or_default();
        let public = (ep.net.prefix_len() == ep.net.max_prefix_len())
            .then(|| topology.nat_of(ep.net.addr()).map(|(_, n)| n.public))
            .flatten();
        let m = Member {
            host: ep.host,
            net: ep.net,
            public,
        };
        if !members.contains(&m) {
            members.push(m);
        }
    }
    Ok(by_zone
        .into_iter()
        .map(|(zone, members)| Group {
            role: label.clone(),
            zone,
            members,
        })
        .collect())
}

fn role_hint(role: Role) -> &'static str {
    role.description()
}

/// Which kinds of zone `any` may stand for, seen from the row's known end: a table about an
/// external leg (the Edge's public services and VIPs, the reverse proxy's listener) talks to the
/// internet, a table about an internal leg (the Edge's internal interface and VIP, the reverse
/// proxy's internal side) talks to the internal networks, and a server inside to the internal
/// networks and the perimeter, never the internet. With the two firewalls of the reference design
/// the zones reached already say this; with one firewall joining every zone (or three in a row)
/// they do not, and `any` took in the internet for the Edge's internal interface.
fn far_kinds(other: &Group, topology: &Topology) -> Option<&'static [ZoneKind]> {
    match other.role.leg() {
        Some(Leg::External) => return Some(&[ZoneKind::Internet]),
        Some(Leg::Internal) => return Some(&[ZoneKind::Internal]),
        None => {}
    }
    match topology.zone(&other.zone).map(|z| z.kind) {
        Some(ZoneKind::Internal) => Some(&[ZoneKind::Internal, ZoneKind::Perimeter]),
        // a partner or client on the internet, or a role of the perimeter this rule does not
        // classify: every zone reached through a firewall, as before
        _ => None,
    }
}

/// `any` (or a partner list left empty) seen from `other`: one group per zone reachable through at
/// least one firewall, of the kinds the known end's side talks to ([`far_kinds`]). `any` of a zone means its address space as routing sees it
/// ([`Topology::zone_space`]: more specific networks of other zones are not part of it). The
/// group lists the zone's own networks that hold some of that space, as they are written: every
/// firewall rule the plan makes also matches the interface the zone lies behind, and that match is
/// what keeps the other zones' addresses out (the audit measures a rule by the space itself).
fn far_side(topology: &Topology, router: &Router, other: &Group, label: Role) -> Vec<Group> {
    let kinds = far_kinds(other, topology);
    router
        .reachable_from(&other.zone)
        .into_iter()
        .filter_map(|zone| topology.zone(&zone))
        .filter(|zone| kinds.is_none_or(|k| k.contains(&zone.kind)))
        .map(|zone| Group {
            role: Roles::role(label),
            zone: zone.name.clone(),
            members: zone
                .networks
                .iter()
                .filter(|n| topology.zone_holds_some_of(&zone.name, n))
                .map(|n| Member {
                    host: zone.name.clone(),
                    net: *n,
                    public: None,
                })
                .collect(),
        })
        .collect()
}

/// An `any` end that listed partners stand for (XMPP partners on the Access Edge XMPP rows, see
/// [`crate::topology::partner_kind_for_any`]) becomes their networks, grouped by zone.
fn partner_ends(
    topology: &Topology,
    row: &Row,
    sources: Vec<Group>,
    destinations: Vec<Group>,
) -> (Vec<Group>, Vec<Group>) {
    let Some(kind) = crate::topology::partner_kind_for_any(row) else {
        return (sources, destinations);
    };
    let mut by_zone: BTreeMap<String, Vec<Member>> = BTreeMap::new();
    for ep in topology.partner_endpoints(kind) {
        by_zone.entry(ep.zone).or_default().push(Member {
            host: ep.host,
            net: ep.net,
            public: None,
        });
    }
    let partners: Vec<Group> = by_zone
        .into_iter()
        .map(|(zone, members)| Group {
            role: Roles::one(Player::Partners(kind)),
            zone,
            members,
        })
        .collect();
    match (sources.is_empty(), destinations.is_empty()) {
        _ if partners.is_empty() => (sources, destinations),
        (true, false) if row.source == Role::Any => (partners, destinations),
        (false, true) if row.destination == Role::Any => (sources, partners),
        _ => (sources, destinations),
    }
}

/// Why a row gives no flows.
enum Unplanned {
    Reason(String),
    /// The row's known end sits in this zone, which no firewall interface joins.
    Isolated(String),
}

fn expand_row(
    topology: &Topology,
    catalog: &Catalog,
    router: &Router,
    id: &RowId,
    row: &Row,
) -> Result<Vec<Flow>, Unplanned> {
    let sources = concrete(
        topology,
        catalog,
        row,
        reach::End::Source,
        row.source,
        &row.narrow_source,
    )
    .map_err(Unplanned::Reason)?;
    let destinations = concrete(
        topology,
        catalog,
        row,
        reach::End::Destination,
        row.destination,
        &row.narrow_destination,
    )
    .map_err(Unplanned::Reason)?;
    let (sources, destinations) = partner_ends(topology, row, sources, destinations);
    let mut pairs: Vec<(Group, Group)> = Vec::new();
    match (sources.is_empty(), destinations.is_empty()) {
        (false, false) => {
            for s in &sources {
                for d in &destinations {
                    pairs.push((s.clone(), d.clone()));
                }
            }
        }
        (true, false) => {
            for d in &destinations {
                for s in far_side(topology, router, d, row.source) {
                    pairs.push((s, d.clone()));
                }
            }
        }
        (false, true) => {
            for s in &sources {
                for d in far_side(topology, router, s, row.destination) {
                    pairs.push((s.clone(), d));
                }
            }
        }
        (true, true) => {
            return Err(Unplanned::Reason(
                "both ends are `any`; nothing to anchor the flow".into(),
            ));
        }
    }
    if pairs.is_empty() {
        let anchored = sources.iter().chain(&destinations);
        let joined = |zone: &str| {
            topology
                .firewalls
                .iter()
                .any(|f| f.interfaces.iter().any(|i| i.zone == zone))
        };
        if let Some(lonely) = anchored.clone().find(|g| !joined(&g.zone))
            && topology.zones.len() > 1
        {
            return Err(Unplanned::Isolated(lonely.zone.clone()));
        }
        return Err(Unplanned::Reason(
            "no zone is reachable through a firewall from the other end".into(),
        ));
    }
    Ok(pairs
        .into_iter()
        .map(|(source, destination)| {
            let path = router.path(&source.zone, &destination.zone);
            let routed = path.is_some() || source.zone == destination.zone;
            Flow {
                rows: vec![id.clone()],
                service: row.service.clone(),
                transport: row.transport,
                ports: row.ports,
                condition: row.condition,
                reason: row.note.clone(),
                source,
                destination,
                path: path.unwrap_or_default(),
                routed,
                rules: Vec::new(),
            }
        })
        .collect())
}

/// The rules of the flows, one per firewall hop and family, with the rules each flow became
/// (`flows[i]` -> ids). Flows with the same hop, family, transport, ports and address sets share a
/// rule; then a rule whose match lies inside another rule of the same hop is folded into it (see
/// [`contains`]), so no firewall carries a rule another of its rules already allows.
fn rules_from_flows(topology: &Topology, flows: &[Flow]) -> (Vec<Rule>, Vec<Vec<usize>>) {
    type Key = (
        String,
        String,
        String,
        Family,
        Transport,
        PortRange,
        Vec<IpNet>,
        Vec<IpNet>,
    );
    let mut rules: Vec<Rule> = Vec::new();
    let mut index: BTreeMap<Key, usize> = BTreeMap::new();
    // for every flow, the indexes into `rules` it went to
    let mut carried: Vec<Vec<usize>> = Vec::with_capacity(flows.len());
    for flow in flows {
        let mut mine = Vec::new();
        for hop in &flow.path {
            for family in [Family::V4, Family::V6] {
                let source = flow.source.family(family);
                let destination = flow.destination.family(family);
                if source.members.is_empty() || destination.members.is_empty() {
                    continue;
                }
                let mut snets = source.nets();
                snets.sort();
                let mut dnets = destination.nets();
                dnets.sort();
                let key = (
                    hop.firewall.clone(),
                    hop.ingress_interface.clone(),
                    hop.egress_interface.clone(),
                    family,
                    flow.transport,
                    flow.ports,
                    snets,
                    dnets,
                );
                if let Some(&i) = index.get(&key) {
                    let rule = &mut rules[i];
                    merge_rows(rule, &flow.rows, flow.condition.into_iter().collect());
                    rule.source.role.merge(&source.role);
                    rule.destination.role.merge(&destination.role);
                    mine.push(i);
                    continue;
                }
                index.insert(key, rules.len());
                mine.push(rules.len());
                rules.push(Rule {
                    id: 0,
                    firewall: hop.firewall.clone(),
                    ingress_interface: hop.ingress_interface.clone(),
                    ingress_zone: hop.ingress_zone.clone(),
                    egress_interface: hop.egress_interface.clone(),
                    egress_zone: hop.egress_zone.clone(),
                    family,
                    source,
                    destination,
                    transport: flow.transport,
                    ports: flow.ports,
                    service: flow.service.clone(),
                    rows: flow.rows.clone(),
                    features: flow.condition.into_iter().collect(),
                    reason: flow.reason.clone(),
                });
            }
        }
        carried.push(mine);
    }
    // Fold every rule into a surviving rule that contains it. Survivors never change their match,
    // so the result does not depend on the order rules are looked at; of two rules with the same
    // match (different address lists for the same space) the earlier one survives.
    // Only rules of one hop, family and transport can contain each other: compare inside those.
    let mut hops: BTreeMap<(&str, &str, &str, Family, Transport), Vec<usize>> = BTreeMap::new();
    for (i, r) in rules.iter().enumerate() {
        hops.entry((
            r.firewall.as_str(),
            r.ingress_interface.as_str(),
            r.egress_interface.as_str(),
            r.family,
            r.transport,
        ))
        .or_default()
        .push(i);
    }
    let buckets: Vec<Vec<usize>> = hops.into_values().collect();
    let mut bucket_of = vec![0usize; rules.len()];
    for (b, same) in buckets.iter().enumerate() {
        for &i in same {
            bucket_of[i] = b;
        }
    }
    let mut into: Vec<usize> = (0..rules.len()).collect();
    for i in 0..rules.len() {
        let host = buckets[bucket_of[i]].iter().copied().find(|&j| {
            j != i
                && into[j] == j
                && contains(&rules[j], &rules[i])
                && (j < i || !contains(&rules[i], &rules[j]))
        });
        if let Some(j) = host {
            into[i] = j;
            let (rows, features) = (rules[i].rows.clone(), rules[i].features.clone());
            merge_rows(&mut rules[j], &rows, features);
        }
    }
    // Group by firewall in topology order; keep catalog order inside a firewall.
    let order = |name: &str| topology.firewalls.iter().position(|f| f.name == name);
    let mut kept: Vec<usize> = (0..rules.len()).filter(|&i| into[i] == i).collect();
    kept.sort_by_key(|&i| order(&rules[i].firewall));
    let mut id_of = vec![0usize; rules.len()];
    for (n, &i) in kept.iter().enumerate() {
        id_of[i] = n + 1;
    }
    let flow_ids = carried
        .into_iter()
        .map(|mine| {
            let mut ids: Vec<usize> = Vec::new();
            for i in mine {
                let id = id_of[into[i]];
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            ids
        })
        .collect();
    let mut slots: Vec<Option<Rule>> = rules.into_iter().map(Some).collect();
    let out = kept
        .iter()
        .filter_map(|&i| {
            let mut rule = slots[i].take()?;
            rule.id = id_of[i];
            Some(rule)
        })
        .collect();
    (out, flow_ids)
}

/// Whether `outer` allows every packet `inner` allows: same firewall, interfaces, family and
/// transport; `inner`'s ports inside `outer`'s; every source and destination network of `inner`
/// inside one network of `outer`'s (a network covered only by several is not detected, which
/// leaves two rules where one would do, never a wrong one).
fn contains(outer: &Rule, inner: &Rule) -> bool {
    let nets_in = |a: &Group, b: &Group| {
        a.members
            .iter()
            .all(|m| b.members.iter().any(|n| n.net.contains(&m.net)))
    };
    outer.firewall == inner.firewall
        && outer.ingress_interface == inner.ingress_interface
        && outer.egress_interface == inner.egress_interface
        && outer.family == inner.family
        && outer.transport == inner.transport
        && outer.ports.start <= inner.ports.start
        && inner.ports.end <= outer.ports.end
        && nets_in(&inner.source, &outer.source)
        && nets_in(&inner.destination, &outer.destination)
}

/// Adds catalog rows (and the features that required them; none = unconditional) to a rule.
fn merge_rows(rule: &mut Rule, rows: &[RowId], features: Vec<Feature>) {
    for r in rows {
        if !rule.rows.contains(r) {
            rule.rows.push(r.clone());
        }
    }
    if features.is_empty() {
        rule.features.clear();
    } else if !rule.features.is_empty() {
        for f in features {
            if !rule.features.contains(&f) {
                rule.features.push(f);
            }
        }
    }
}

/// Why a row of a planned scenario is left out for `version`: the version is named first, then the
/// catalog's reason (the version's note on the row's feature), else the versions the row belongs to.
fn version_skip_reason(catalog: &Catalog, version: crate::catalog::Version, row: &Row) -> String {
    let why = row
        .condition
        .and_then(|f| catalog.feature_unavailable(version, f))
        .map(|u| format!("{} (source: {})", u.reason, u.reference))
        .unwrap_or_else(|| {
            let only: Vec<&str> = row.versions.iter().map(|v| v.as_str()).collect();
            format!("the row is listed for {} only", only.join(", "))
        });
    format!("not in {version}: {why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_roles_are_written_joined_by_plus_once_each() {
        let mut roles = Roles::role(Role::EdgeAccessVip);
        let mut other: Roles = [
            Player::Role(Role::EdgeAvVip),
            Player::Role(Role::EdgeAccessVip),
        ]
        .into_iter()
        .collect();
        assert_eq!(other.as_str(), "edge.av.vip+edge.access.vip");
        roles.merge(&other);
        roles.merge(&other);
        assert_eq!(roles, "edge.access.vip+edge.av.vip");
        assert_eq!(
            serde_json::to_string(&roles).unwrap(),
            "\"edge.access.vip+edge.av.vip\""
        );
        assert!(roles.names("edge.av.vip") && !roles.names("edge.av"));
        assert!(roles != "edge.access.vip");
        assert_eq!(roles.leg(), Some(Leg::External));
        other.add(Player::Role(Role::EdgeInternal));
        assert_eq!(other.leg(), None, "players on both legs agree on none");
        let xmpp = Roles::one(Player::Partners(PartnerKind::Xmpp));
        assert_eq!(xmpp, "xmpp-partner");
        assert!(xmpp.names("xmpp-partner"));
    }
}
