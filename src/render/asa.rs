//! Cisco ASA: network object-groups for address groups, service object-groups where rules differ
//! only in ports, and one extended access-list per ingress interface bound with `access-group … in`.
//! ASA ACLs are unified: IPv4 and IPv6 entries share one list.

use super::address_book::{AddressBook, rule_comment};
use super::contract::{
    FIREWALL_SCOPE, NO_FIREWALL_RULE, Piece, RenderError, Renderer, Subject, Unit, banner,
};
use crate::plan::{Plan, Rule};
use crate::topology::Topology;
use ipnet::IpNet;
use std::fmt::Write;

pub struct Asa;

/// ASA remarks are at most 100 characters.
const REMARK_MAX: usize = 100;

/// ASA object and object-group names are at most 64 characters.
const OBJECT_NAME_MAX: usize = 64;

/// The object-group name of an address book entry: upper case, and when longer than the ASA takes
/// (names at the 63-byte limit make 67-character group names) its head and a hash of the whole,
/// so distinct long names stay distinct.
fn object_name(book_name: &str) -> String {
    let name = book_name.to_ascii_uppercase();
    if name.len() <= OBJECT_NAME_MAX {
        return name;
    }
    // FNV-1a: stable across runs and platforms
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let head = &name[..OBJECT_NAME_MAX - 9];
    format!("{head}_{:08X}", hash as u32)
}

fn network_object(net: &IpNet) -> String {
    match net {
        IpNet::V4(n) if n.prefix_len() == 32 => format!("network-object host {}", n.addr()),
        IpNet::V4(n) => format!("network-object {} {}", n.network(), n.netmask()),
        IpNet::V6(n) if n.prefix_len() == 128 => format!("network-object host {}", n.addr()),
        IpNet::V6(n) => format!("network-object {}", n.trunc()),
    }
}

/// The ACE operand for a group: `any4`/`any6` for the whole space, else its object-group.
fn operand(group: &crate::plan::Group, book: &AddressBook) -> String {
    let nets = group.nets();
    if nets.len() == 1 && nets[0].prefix_len() == 0 {
        return match nets[0] {
            IpNet::V4(_) => "any4".into(),
            IpNet::V6(_) => "any6".into(),
        };
    }
    format!("object-group {}", object_name(book.name(group)))
}

fn port_match(rule: &Rule) -> String {
    if rule.ports.is_single() {
        format!("eq {}", rule.ports.start)
    } else {
        format!("range {} {}", rule.ports.start, rule.ports.end)
    }
}

/// Rules in one ACL that share both groups and the protocol.
fn service_groups<'a>(rules: &[&'a Rule]) -> Vec<Vec<&'a Rule>> {
    let mut groups: Vec<Vec<&Rule>> = Vec::new();
    for r in rules {
        match groups.iter_mut().find(|g| {
            let f = g[0];
            f.transport == r.transport
                && f.family == r.family
                && f.source.nets() == r.source.nets()
                && f.destination.nets() == r.destination.nets()
                && f.egress_interface == r.egress_interface
        }) {
            Some(g) => g.push(r),
            None => groups.push(vec![*r]),
        }
    }
    groups
}

pub fn config(plan: &Plan, topology: &Topology, firewall: &str) -> String {
    let rules: Vec<&Rule> = plan.rules_for(firewall).collect();
    let book = AddressBook::new(rules.iter().copied());
    let mut s = String::new();
    s.push_str(&banner(
        "!",
        &format!("policy for `{firewall}`"),
        plan,
        topology,
    ));
    let _ = writeln!(
        s,
        "! Interface names are the nameif of each interface in the topology."
    );
    s.push_str("!\n");

    // network object-groups (only those an ACE names)
    let mut used: Vec<&str> = Vec::new();
    for r in &rules {
        for g in [&r.source, &r.destination] {
            let whole = g.nets().len() == 1 && g.nets()[0].prefix_len() == 0;
            let name = book.name(g);
            if !whole && !used.contains(&name) {
                used.push(name);
            }
        }
    }
    for (name, nets) in book.all() {
        if !used.contains(&name) {
            continue;
        }
        let _ = writeln!(s, "object-group network {}", object_name(name));
        let _ = writeln!(s, " description portplan address group {name}");
        for n in nets {
            let _ = writeln!(s, " {}", network_object(n));
        }
    }
    s.push_str("!\n");

    // one ACL per ingress interface, in topology order
    let fw = topology.firewall(firewall);
    let interfaces: Vec<String> = fw
        .map(|f| f.interfaces.iter().map(|i| i.name.clone()).collect())
        .unwrap_or_default();
    let mut service_defs = String::new();
    let mut acl_text = String::new();
    let mut bindings = String::new();
    let mut services: Vec<((crate::catalog::Transport, Vec<String>), String)> = Vec::new();
    for iface in &interfaces {
        let acl = format!("{iface}_access_in");
        let mine: Vec<&Rule> = rules
            .iter()
            .copied()
            .filter(|r| &r.ingress_interface == iface)
            .collect();
        if mine.is_empty() {
            continue;
        }
        for group in service_groups(&mine) {
            let first = group[0];
            let src = operand(&first.source, &book);
            let dst = operand(&first.destination, &book);
            for r in &group {
                let _ = writeln!(
                    acl_text,
                    "access-list {acl} remark {}",
                    rule_comment(r, REMARK_MAX)
                );
            }
            if group.len() == 1 {
                let _ = writeln!(
                    acl_text,
                    "access-list {acl} extended permit {} {src} {dst} {}",
                    first.transport,
                    port_match(first)
                );
            } else {
                let ports: Vec<String> = group.iter().map(|r| port_match(r)).collect();
                let key = (first.transport, ports.clone());
                let name = match services.iter().find(|(k, _)| *k == key) {
                    Some((_, name)) => name.clone(),
                    None => {
                        let name = format!(
                            "PP-{}-{}",
                            first.transport.as_str().to_ascii_uppercase(),
                            services.len() + 1
                        );
                        let _ = writeln!(
                            service_defs,
                            "object-group service {name} {}",
                            first.transport
                        );
                        for p in &ports {
                            let _ = writeln!(service_defs, " port-object {p}");
                        }
                        services.push((key, name.clone()));
                        name
                    }
                };
                let _ = writeln!(
                    acl_text,
                    "access-list {acl} extended permit {} {src} {dst} object-group {name}",
                    first.transport
                );
            }
        }
        let _ = writeln!(
            acl_text,
            "access-list {acl} remark portplan: everything else is denied"
        );
        let _ = writeln!(acl_text, "access-list {acl} extended deny ip any any log");
        let _ = writeln!(bindings, "access-group {acl} in interface {iface}");
    }
    s.push_str(&service_defs);
    s.push_str("!\n");
    s.push_str(&static_nat(topology, firewall));
    s.push_str(&acl_text);
    s.push_str("!\n");
    s.push_str(&bindings);
    s
}

/// Static NAT as network objects (ASA 8.3 and later): the access lists use the real (private)
/// addresses, which is what the ASA matches after translation.
fn static_nat(topology: &Topology, firewall: &str) -> String {
    let Some(fw) = topology.firewall(firewall) else {
        return String::new();
    };
    let mut s = String::new();
    for n in &fw.nat {
        let Some(inside) = topology.nat_inside_interface(fw, n) else {
            continue;
        };
        let label = topology.address_label(n.private);
        let name = format!("NAT-{}", label.replace(' ', "-"));
        let _ = writeln!(s, "object network {name}");
        let _ = writeln!(s, " description portplan: static NAT {label}");
        let _ = writeln!(s, " host {}", n.private);
        let _ = writeln!(s, " nat ({inside},{}) static {}", n.interface, n.public);
    }
    if !s.is_empty() {
        s.push_str("!\n");
    }
    s
}

impl Renderer for Asa {
    fn name(&self) -> &'static str {
        "asa"
    }
    fn units(&self) -> &'static [Unit] {
        &[Unit::Firewall]
    }
    fn needs_firewall_paths(&self) -> bool {
        true
    }
    fn scope_hint(&self) -> &'static str {
        FIREWALL_SCOPE
    }
    fn nothing_because(&self) -> &'static str {
        NO_FIREWALL_RULE
    }
    fn suffix(&self, _unit: Unit) -> &'static str {
        ".asa"
    }
    fn render(
        &self,
        plan: &Plan,
        topology: &Topology,
        subject: &Subject<'_>,
        _selected: &[Subject<'_>],
    ) -> Result<Vec<Piece>, RenderError> {
        Ok(vec![Piece::main(config(plan, topology, subject.stem()))])
    }
}
