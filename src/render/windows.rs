//! Windows Firewall: a PowerShell script per Windows server (Front End, Director, Edge, Office Web
//! Apps) with the rules that server's own host firewall needs: inbound for every flow it receives,
//! outbound for every flow it starts (those only matter where the profile blocks outbound).
//!
//! Host firewalls see flows inside a zone too, so the script is built from the plan's flows, not
//! only its network firewall rules. The script is idempotent: it removes the `portplan` rule group
//! and creates it again. Traffic that reaches a server through a load balancer VIP with SNAT comes
//! from the load balancer, so such rules leave the remote address open and say so.
//!
//! A host rule is not a network firewall rule, so it goes by the ids of the planned rules that carry
//! the same flows: its name and description hold them (`portplan-in-r38-r39`, "plan rules r38 r39"),
//! the ids `portplan plan` shows and every firewall target writes in its comments.

use super::contract::{Piece, RenderError, Renderer, Subject, Unit, banner};
use crate::catalog::ServerRole;
use crate::plan::{Flow, Group, Plan, rule_tag, rule_tags_text};
use crate::topology::{Pool, Server, Topology, Vip};
use crate::view::plan::net_text;
use ipnet::IpNet;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;
use std::net::IpAddr;

pub struct Windows;

const GROUP: &str = "portplan";

/// Roles that run Windows Server.
fn is_windows(role: ServerRole) -> bool {
    matches!(
        role,
        ServerRole::FrontEnd | ServerRole::Director | ServerRole::Edge | ServerRole::OfficeWebApps
    )
}

fn ps_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn ps_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| ps_quote(i)).collect();
    format!("@({})", quoted.join(","))
}

/// The server's addresses behind the pool VIPs a flow is addressed to (landing on it). The flag
/// says whether a VIP that rewrites the source (SNAT) is in the way.
fn vip_addresses(server: &Server, hit: &[&Vip]) -> (Vec<String>, bool) {
    let snat = hit.iter().any(|v| v.snat);
    // after the load balancer, traffic arrives on the server's own address for that service; the
    // VIP itself is listed too for load balancers that deliver it unchanged (direct return)
    let mut local: Vec<String> = Vec::new();
    for v in hit {
        let usage = v.service.address_use();
        for iface in server.interfaces.iter().filter(|i| i.zone == v.zone) {
            local.extend(iface.ips(usage).map(|ip| ip.to_string()));
        }
        local.extend(v.addresses.iter().map(|a| a.to_string()));
    }
    (local, snat)
}

/// Where each host and each destination address appears among the plan's flows, built once per
/// run so that a server's script visits only the flows that concern it instead of all of them.
struct FlowIndex<'p> {
    /// Per host: the flows it is a member of, in plan order, with its own nets at each end.
    by_host: HashMap<&'p str, Vec<(usize, Ends<'p>)>>,
    /// Per destination member address: the flows addressed to it, in plan order.
    by_destination: HashMap<IpAddr, Vec<usize>>,
}

/// One host's own nets in one flow.
#[derive(Default)]
struct Ends<'p> {
    destination: Vec<&'p IpNet>,
    source: Vec<&'p IpNet>,
}

impl<'p> FlowIndex<'p> {
    fn new(plan: &'p Plan) -> FlowIndex<'p> {
        let mut by_host: HashMap<&str, Vec<(usize, Ends)>> = HashMap::new();
        let mut by_destination: HashMap<IpAddr, Vec<usize>> = HashMap::new();
        for (i, f) in plan.flows.iter().enumerate() {
            for (m, inbound) in f
                .destination
                .members
                .iter()
                .map(|m| (m, true))
                .chain(f.source.members.iter().map(|m| (m, false)))
            {
                let flows = by_host.entry(&m.host).or_default();
                if flows.last().is_none_or(|(j, _)| *j != i) {
                    flows.push((i, Ends::default()));
                }
                let ends = &mut flows.last_mut().expect("pushed above").1;
                if inbound {
                    ends.destination.push(&m.net);
                    let flows = by_destination.entry(m.net.addr()).or_default();
                    if flows.last() != Some(&i) {
                        flows.push(i);
                    }
                } else {
                    ends.source.push(&m.net);
                }
            }
        }
        FlowIndex {
            by_host,
            by_destination,
        }
    }

    /// The flows that concern one server, in plan order: its own nets at each end, and the VIPs
    /// of its pool (in the pool's order) each flow is addressed to.
    fn of<'a>(&'a self, pool: &'a Pool, server: &Server) -> BTreeMap<usize, Touch<'a>> {
        let mut out: BTreeMap<usize, Touch> = BTreeMap::new();
        for (i, ends) in self.by_host.get(server.name.as_str()).into_iter().flatten() {
            let touch = out.entry(*i).or_default();
            touch.own_destination = &ends.destination;
            touch.own_source = &ends.source;
        }
        for v in &pool.vips {
            for a in &v.addresses {
                for i in self.by_destination.get(a).into_iter().flatten() {
                    let vips = &mut out.entry(*i).or_default().vips;
                    if !vips.last().is_some_and(|last| std::ptr::eq(*last, v)) {
                        vips.push(v);
                    }
                }
            }
        }
        out
    }
}

/// How one flow concerns one server.
#[derive(Default)]
struct Touch<'a> {
    own_destination: &'a [&'a IpNet],
    own_source: &'a [&'a IpNet],
    vips: Vec<&'a Vip>,
}

fn remote_addresses(g: &Group) -> Vec<String> {
    if g.members.iter().any(|m| m.net.prefix_len() == 0) {
        vec!["Any".into()]
    } else {
        g.members.iter().map(|m| net_text(&m.net)).collect()
    }
}

struct HostRule {
    inbound: bool,
    /// Ids of the planned network firewall rules that carry the same flows (empty when the flows
    /// stay inside one zone and no network firewall sees them).
    rules: Vec<usize>,
    /// Catalog rows of the flows, without repeats.
    rows: Vec<String>,
    service: String,
    protocol: &'static str,
    ports: String,
    local: Vec<String>,
    remote: Vec<String>,
    note: String,
}

/// Equal direction, protocol, ports and addresses make one host rule.
type RuleKey = (bool, &'static str, String, Vec<String>, Vec<String>);

fn host_rules(plan: &Plan, index: &FlowIndex, pool: &Pool, server: &Server) -> Vec<HostRule> {
    let mut out: Vec<HostRule> = Vec::new();
    let mut at: HashMap<RuleKey, usize> = HashMap::new();
    let mut add =
        |inbound: bool, local: Vec<String>, remote: Vec<String>, note: String, f: &Flow| {
            let protocol = match f.transport {
                crate::catalog::Transport::Tcp => "TCP",
                crate::catalog::Transport::Udp => "UDP",
            };
            let key = (inbound, protocol, f.ports.to_string(), local, remote);
            if let Some(&i) = at.get(&key) {
                let existing = &mut out[i];
                for r in rows(f) {
                    if !existing.rows.contains(&r) {
                        existing.rows.push(r);
                    }
                }
                for id in &f.rules {
                    if !existing.rules.contains(id) {
                        existing.rules.push(*id);
                    }
                }
                return;
            }
            let (_, _, ports, local, remote) = key.clone();
            at.insert(key, out.len());
            out.push(HostRule {
                inbound,
                rules: f.rules.clone(),
                rows: rows(f),
                service: f.service.clone(),
                protocol,
                ports,
                local,
                remote,
                note,
            });
        };
    for (i, touch) in index.of(pool, server) {
        let f = &plan.flows[i];
        // the server's own addresses at the destination end, or else its pool's VIPs
        let inbound = if !touch.own_destination.is_empty() {
            let own = touch.own_destination.iter().map(|n| net_text(n)).collect();
            Some((own, false))
        } else if !touch.vips.is_empty() {
            Some(vip_addresses(server, &touch.vips))
        } else {
            None
        };
        if let Some((local, snat)) = inbound {
            let (remote, note) = if snat {
                (vec!["Any".to_string()], "arrives through a load balancer VIP with SNAT, so the source is the load balancer".to_string())
            } else {
                (remote_addresses(&f.source), String::new())
            };
            add(true, local, remote, note, f);
        }
        if !touch.own_source.is_empty() {
            let own = touch.own_source.iter().map(|n| net_text(n)).collect();
            add(
                false,
                own,
                remote_addresses(&f.destination),
                String::new(),
                f,
            );
        }
    }
    out
}

fn rows(f: &Flow) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in &f.rows {
        let r = r.to_string();
        if !out.contains(&r) {
            out.push(r);
        }
    }
    out
}

/// Rule ids shown in a rule name; the description always lists all of them.
const NAMED_IDS: usize = 4;

/// `portplan-in-r38-r39`: the direction and the planned rules the host rule goes with, so
/// `Get-NetFirewallRule -Name portplan-*-r38*` finds what the plan calls r38. Flows that no
/// network firewall sees are `same-zone-tcp-444`. A name taken already gets `-2`, `-3`, …
fn rule_name(r: &HostRule, taken: &mut HashSet<String>) -> String {
    let dir = if r.inbound { "in" } else { "out" };
    let mut ids: Vec<String> = r
        .rules
        .iter()
        .take(NAMED_IDS)
        .map(|&id| rule_tag(id))
        .collect();
    if r.rules.len() > NAMED_IDS {
        ids.push(format!("and-{}-more", r.rules.len() - NAMED_IDS));
    }
    let base = if ids.is_empty() {
        format!(
            "portplan-{dir}-same-zone-{}-{}",
            r.protocol.to_ascii_lowercase(),
            r.ports
        )
    } else {
        format!("portplan-{dir}-{}", ids.join("-"))
    };
    let mut name = base.clone();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{base}-{n}");
        n += 1;
    }
    taken.insert(name.clone());
    name
}

fn script(
    plan: &Plan,
    index: &FlowIndex,
    topology: &Topology,
    pool: &Pool,
    server: &Server,
) -> String {
    let rules = host_rules(plan, index, pool, server);
    let mut s = String::new();
    let what = format!(
        "Windows Firewall rules for {} ({}, pool {})",
        server.name,
        pool.role.description(),
        pool.name
    );
    s.push_str(&banner("#", &what, plan, topology));
    let _ = writeln!(
        s,
        "# run in an elevated PowerShell on {}; idempotent: the `{GROUP}` group is replaced",
        server.name
    );
    s.push_str("#Requires -RunAsAdministrator\n");
    s.push_str("$ErrorActionPreference = 'Stop'\n");
    let _ = writeln!(s, "$group = {}", ps_quote(GROUP));
    s.push_str("Get-NetFirewallRule -Group $group -ErrorAction SilentlyContinue | Remove-NetFirewallRule\n\n");
    let mut taken: HashSet<String> = HashSet::new();
    for r in &rules {
        let dir = if r.inbound { "Inbound" } else { "Outbound" };
        let port_flag = if r.inbound {
            "-LocalPort"
        } else {
            "-RemotePort"
        };
        let name = rule_name(r, &mut taken);
        let display = format!(
            "portplan {} {} {} {}",
            r.service,
            r.protocol,
            r.ports,
            if r.inbound { "in" } else { "out" }
        );
        let planned = if r.rules.is_empty() {
            "no network firewall rule (the flow stays in one zone)".to_string()
        } else {
            format!("plan rules {}", rule_tags_text(&r.rules))
        };
        let mut description = format!(
            "Lync/Skype for Business: {planned}; catalog {}",
            r.rows.join(" ")
        );
        if !r.note.is_empty() {
            description.push_str(&format!("; {}", r.note));
        }
        let remote = if r.remote == ["Any"] {
            "Any".to_string()
        } else {
            ps_list(&r.remote)
        };
        let _ = writeln!(
            s,
            "New-NetFirewallRule -Group $group -Name {} -DisplayName {} -Description {} -Direction {dir} -Action Allow -Profile Any -Protocol {} {port_flag} {} -LocalAddress {} -RemoteAddress {remote} | Out-Null",
            ps_quote(&name),
            ps_quote(&display),
            ps_quote(&description),
            r.protocol,
            r.ports,
            ps_list(&r.local),
        );
    }
    // a single-quoted literal: nothing from the topology is ever expanded by PowerShell
    let _ = writeln!(
        s,
        "\nWrite-Host {}",
        ps_quote(&format!(
            "portplan: {} rule(s) in group {GROUP} on {}",
            rules.len(),
            server.name
        ))
    );
    s
}

impl Renderer for Windows {
    fn name(&self) -> &'static str {
        "windows"
    }
    fn units(&self) -> &'static [Unit] {
        &[Unit::Host]
    }
    fn suffix(&self, _unit: Unit) -> &'static str {
        ".ps1"
    }
    fn scope_hint(&self) -> &'static str {
        "--host NAME (or no scope for every Windows server); it writes host firewalls"
    }
    fn nothing_because(&self) -> &'static str {
        "no Windows server (Front End, Director, Edge, Office Web Apps) in scope"
    }
    /// A reverse proxy, gateway or appliance gets no Windows script.
    fn configures_host(&self, pool: &Pool, _server: &Server) -> bool {
        is_windows(pool.role)
    }
    fn render(
        &self,
        plan: &Plan,
        t: &Topology,
        subject: &Subject<'_>,
        _selected: &[Subject<'_>],
    ) -> Result<Vec<Piece>, RenderError> {
        Ok(one(plan, &FlowIndex::new(plan), t, subject))
    }
    /// The flows are indexed once for all the servers of the run.
    fn render_all(
        &self,
        plan: &Plan,
        t: &Topology,
        selected: &[Subject<'_>],
    ) -> Result<Vec<Vec<Piece>>, RenderError> {
        let index = FlowIndex::new(plan);
        Ok(selected.iter().map(|s| one(plan, &index, t, s)).collect())
    }
}

fn one(plan: &Plan, index: &FlowIndex, t: &Topology, subject: &Subject<'_>) -> Vec<Piece> {
    match subject {
        Subject::Host { pool, server } => vec![Piece::main(script(plan, index, t, pool, server))],
        _ => Vec::new(),
    }
}
