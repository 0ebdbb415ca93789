//! Windows Firewall: a PowerShell script per Windows server (Front End, Director, Edge, Office Web
//! Apps) with the rules that server's own host firewall needs: inbound for every flow it receives,
//! outbound for every flow it starts (those only matter where the profile blocks outbound).
//!
//! Host firewalls see flows inside a zone too, so the script is built from the plan's flows, not
//! only its network firewall rules. The script is idempotent: it removes the `portplan` rule group
//! and creates it again. Traffic that reaches a server through a load balancer VIP with SNAT comes
//! from the load balancer, so such rules leave the remote address open and say so.

use super::{Artifact, RenderError, Renderer, Scope, banner, net_text};
use crate::catalog::ServerRole;
use crate::plan::{Flow, Group, Plan};
use crate::topology::{Pool, Server, Topology, Vip};
use std::fmt::Write;

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

/// The server's addresses that a group reaches: its own, or its pool's VIPs (landing on it). The
/// flag says whether a VIP that rewrites the source (SNAT) is in the way.
fn local_addresses(pool: &Pool, server: &Server, g: &Group) -> Option<(Vec<String>, bool)> {
    let own: Vec<String> = g
        .members
        .iter()
        .filter(|m| m.host == server.name)
        .map(|m| net_text(&m.net))
        .collect();
    if !own.is_empty() {
        return Some((own, false));
    }
    let hit: Vec<&Vip> = pool
        .vips
        .iter()
        .filter(|v| {
            v.addresses
                .iter()
                .any(|a| g.members.iter().any(|m| m.net.addr() == *a))
        })
        .collect();
    if hit.is_empty() {
        return None;
    }
    let snat = hit.iter().any(|v| v.snat);
    // after the load balancer, traffic arrives on the server's own address for that service; the
    // VIP itself is listed too for load balancers that deliver it unchanged (direct return)
    let mut local: Vec<String> = Vec::new();
    for v in &hit {
        let usage = v.service.address_use();
        for iface in server.interfaces.iter().filter(|i| i.zone == v.zone) {
            local.extend(iface.ips(usage).map(|ip| ip.to_string()));
        }
        local.extend(v.addresses.iter().map(|a| a.to_string()));
    }
    Some((local, snat))
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
    flow: usize,
    flow_ref: String,
    service: String,
    protocol: &'static str,
    ports: String,
    local: Vec<String>,
    remote: Vec<String>,
    note: String,
}

fn host_rules(plan: &Plan, pool: &Pool, server: &Server) -> Vec<HostRule> {
    let mut out: Vec<HostRule> = Vec::new();
    for (i, f) in plan.flows.iter().enumerate() {
        let mut add =
            |inbound: bool, local: Vec<String>, remote: Vec<String>, note: String, f: &Flow| {
                let protocol = match f.transport {
                    crate::catalog::Transport::Tcp => "TCP",
                    crate::catalog::Transport::Udp => "UDP",
                };
                if let Some(existing) = out.iter_mut().find(|r| {
                    r.inbound == inbound
                        && r.protocol == protocol
                        && r.ports == f.ports.to_string()
                        && r.local == local
                        && r.remote == remote
                }) {
                    existing.flow_ref.push_str(&format!(" {}", rows(f)));
                    return;
                }
                out.push(HostRule {
                    inbound,
                    flow: i + 1,
                    flow_ref: rows(f),
                    service: f.service.clone(),
                    protocol,
                    ports: f.ports.to_string(),
                    local,
                    remote,
                    note,
                });
            };
        if let Some((local, snat)) = local_addresses(pool, server, &f.destination) {
            let (remote, note) = if snat {
                (vec!["Any".to_string()], "arrives through a load balancer VIP with SNAT, so the source is the load balancer".to_string())
            } else {
                (remote_addresses(&f.source), String::new())
            };
            add(true, local, remote, note, f);
        }
        let own_source: Vec<String> = f
            .source
            .members
            .iter()
            .filter(|m| m.host == server.name)
            .map(|m| net_text(&m.net))
            .collect();
        if !own_source.is_empty() {
            add(
                false,
                own_source,
                remote_addresses(&f.destination),
                String::new(),
                f,
            );
        }
    }
    out
}

fn rows(f: &Flow) -> String {
    f.rows
        .iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn script(plan: &Plan, topology: &Topology, pool: &Pool, server: &Server) -> String {
    let rules = host_rules(plan, pool, server);
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
    for (n, r) in rules.iter().enumerate() {
        let dir = if r.inbound { "Inbound" } else { "Outbound" };
        let port_flag = if r.inbound {
            "-LocalPort"
        } else {
            "-RemotePort"
        };
        let name = format!(
            "portplan-{}-{}",
            if r.inbound { "in" } else { "out" },
            n + 1
        );
        let display = format!(
            "portplan {} {} {} {}",
            r.service,
            r.protocol,
            r.ports,
            if r.inbound { "in" } else { "out" }
        );
        let mut description = format!("Lync/Skype for Business: {} (flow {})", r.flow_ref, r.flow);
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
    fn render(
        &self,
        plan: &Plan,
        topology: &Topology,
        scope: &Scope,
    ) -> Result<Vec<Artifact>, RenderError> {
        let servers: Vec<(&Pool, &Server)> = match scope {
            // a reverse proxy, gateway or appliance named by --host gets no Windows script
            Scope::Host(name) => topology
                .servers()
                .filter(|(p, s)| &s.name == name && is_windows(p.role))
                .collect(),
            Scope::All => topology
                .servers()
                .filter(|(p, _)| is_windows(p.role))
                .collect(),
            Scope::Firewall(_) => {
                return Err(RenderError::NeedsScope {
                    target: "windows",
                    what: "--host NAME (or no scope for every Windows server); it writes host firewalls",
                });
            }
        };
        Ok(servers
            .into_iter()
            .map(|(pool, server)| Artifact {
                file: format!("{}.ps1", server.name),
                text: script(plan, topology, pool, server),
            })
            .collect())
    }
}
