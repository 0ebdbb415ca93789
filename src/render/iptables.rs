//! iptables: `iptables-restore` / `ip6tables-restore` files per firewall, plus an `ipset restore`
//! file for the address groups with more than one member.
//!
//! Each file replaces the filter table: FORWARD drops by default and jumps to the `PORTPLAN` chain,
//! which accepts established/related traffic and dispatches to one chain per interface pair. Rules
//! that differ only in their destination ports are joined with `multiport` (at most 15 ports).
//! Load order: `ipset restore -exist < FW.ipset`, then `iptables-restore < FW.iptables`.

use super::address_book::{AddressBook, identifier, merged_comment, rule_comment};
use super::contract::{
    FIREWALL_SCOPE, NO_FIREWALL_RULE, Piece, RenderError, Renderer, Subject, Unit, banner,
};
use crate::plan::{Family, Group, Plan, Rule};
use crate::topology::Topology;
use crate::view::plan::net_text;
use std::collections::BTreeMap;
use std::fmt::Write;

pub struct Iptables;

/// xt_comment allows 255 characters.
const COMMENT_MAX: usize = 250;
/// Chain names are at most 28 characters.
const CHAIN_MAX: usize = 28;
/// ipset names are at most 31 characters.
const SET_MAX: usize = 31;
/// multiport takes 15 ports, a range counting as two.
const MULTIPORT_SLOTS: usize = 15;

/// ipset names per (book name, family), unique and short enough.
struct SetNames(BTreeMap<(String, Family), String>);

impl SetNames {
    fn new(book: &AddressBook) -> SetNames {
        let mut names = BTreeMap::new();
        let mut taken: Vec<String> = Vec::new();
        for family in [Family::V4, Family::V6] {
            let prefix = match family {
                Family::V4 => "pp4-",
                Family::V6 => "pp6-",
            };
            for (name, _) in book.entries(family) {
                let mut candidate: String =
                    format!("{prefix}{name}").chars().take(SET_MAX).collect();
                let mut n = 2;
                while taken.contains(&candidate) {
                    let suffix = format!("-{n}");
                    candidate = format!("{prefix}{name}")
                        .chars()
                        .take(SET_MAX - suffix.len())
                        .collect::<String>()
                        + &suffix;
                    n += 1;
                }
                taken.push(candidate.clone());
                names.insert((name.to_string(), family), candidate);
            }
        }
        SetNames(names)
    }
    fn get(&self, book_name: &str, family: Family) -> &str {
        &self.0[&(book_name.to_string(), family)]
    }
}

fn chain_name(rule: &Rule, taken: &mut Vec<(String, String)>) -> String {
    let key = format!("{}>{}", rule.ingress_interface, rule.egress_interface);
    if let Some((_, name)) = taken.iter().find(|(k, _)| *k == key) {
        return name.clone();
    }
    let mut name = format!("PP-{}-{}", rule.ingress_interface, rule.egress_interface);
    if name.len() > CHAIN_MAX || taken.iter().any(|(_, n)| *n == name) {
        name = format!("PP-{}", taken.len() + 1);
    }
    taken.push((key, name.clone()));
    name
}

/// `-s`/`-d` match for a group: nothing for the whole address space, the address for one member,
/// an ipset for several.
fn address_match(
    g: &Group,
    dir: &str,
    book: &AddressBook,
    sets: &SetNames,
    family: Family,
) -> String {
    let nets = g.nets();
    if nets.len() == 1 {
        if nets[0].prefix_len() == 0 {
            return String::new();
        }
        let flag = if dir == "src" { "-s" } else { "-d" };
        return format!(" {flag} {}", nets[0]);
    }
    format!(
        " -m set --match-set {} {dir}",
        sets.get(book.name(g), family)
    )
}

/// Rules that differ only in ports, split so each part fits in one multiport match.
fn port_groups<'a>(rules: &[&'a Rule]) -> Vec<Vec<&'a Rule>> {
    let mut groups: Vec<Vec<&Rule>> = Vec::new();
    for r in rules {
        let slots = |g: &Vec<&Rule>| -> usize {
            g.iter()
                .map(|r| if r.ports.is_single() { 1 } else { 2 })
                .sum()
        };
        let need = if r.ports.is_single() { 1 } else { 2 };
        match groups.iter_mut().find(|g| {
            let f = g[0];
            f.transport == r.transport
                && f.source.nets() == r.source.nets()
                && f.destination.nets() == r.destination.nets()
                && f.ingress_interface == r.ingress_interface
                && f.egress_interface == r.egress_interface
                && slots(g) + need <= MULTIPORT_SLOTS
        }) {
            Some(g) => g.push(r),
            None => groups.push(vec![*r]),
        }
    }
    groups
}

fn restore_file(
    plan: &Plan,
    topology: &Topology,
    firewall: &str,
    family: Family,
    book: &AddressBook,
    sets: &SetNames,
) -> String {
    let rules: Vec<&Rule> = plan
        .rules_for(firewall)
        .filter(|r| r.family == family)
        .collect();
    let tool = match family {
        Family::V4 => "iptables-restore",
        Family::V6 => "ip6tables-restore",
    };
    let mut s = String::new();
    s.push_str(&banner(
        "#",
        &format!("firewall policy for `{firewall}` ({family})"),
        plan,
        topology,
    ));
    let _ = writeln!(
        s,
        "# Load: ipset restore -exist < {firewall}.ipset (if present), then {tool} < this file."
    );
    let _ = writeln!(
        s,
        "# This replaces the filter table (and the nat table when the firewall has static NAT);"
    );
    let _ = writeln!(s, "# FORWARD drops what the plan does not allow.");
    s.push_str("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:PORTPLAN - [0:0]\n");
    let mut chains: Vec<(String, String)> = Vec::new();
    let mut by_chain: Vec<(String, String, String, Vec<&Rule>)> = Vec::new();
    for r in &rules {
        let name = chain_name(r, &mut chains);
        match by_chain.iter_mut().find(|(n, _, _, _)| *n == name) {
            Some(entry) => entry.3.push(r),
            None => by_chain.push((
                name,
                r.ingress_interface.clone(),
                r.egress_interface.clone(),
                vec![r],
            )),
        }
    }
    for (name, _, _, _) in &by_chain {
        let _ = writeln!(s, ":{name} - [0:0]");
    }
    s.push_str("-A FORWARD -j PORTPLAN\n");
    s.push_str("-A PORTPLAN -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n");
    s.push_str("-A PORTPLAN -m conntrack --ctstate INVALID -j DROP\n");
    for (name, i, o, _) in &by_chain {
        let _ = writeln!(s, "-A PORTPLAN -i {i} -o {o} -j {name}");
    }
    for (name, _, _, chain_rules) in &by_chain {
        for group in port_groups(chain_rules) {
            let first = group[0];
            let src = address_match(&first.source, "src", book, sets, family);
            let dst = address_match(&first.destination, "dst", book, sets, family);
            let proto = first.transport.as_str();
            let ports = if group.len() == 1 {
                format!(
                    "-m {proto} --dport {}",
                    first.ports.to_string().replace('-', ":")
                )
            } else {
                let list: Vec<String> = group
                    .iter()
                    .map(|r| r.ports.to_string().replace('-', ":"))
                    .collect();
                format!("-m multiport --dports {}", list.join(","))
            };
            let comment = if group.len() == 1 {
                rule_comment(first, COMMENT_MAX)
            } else {
                merged_comment(&group, COMMENT_MAX)
            };
            let _ = writeln!(
                s,
                "-A {name}{src}{dst} -p {proto} {ports} -m comment --comment \"{comment}\" -j ACCEPT"
            );
        }
    }
    s.push_str("COMMIT\n");
    s.push_str(&nat_table(topology, firewall, family));
    s
}

/// Static NAT as a `*nat` table (replaced like the filter table): DNAT in through the public
/// interface, SNAT out of it. FORWARD above matches the private addresses (it runs after DNAT).
fn nat_table(topology: &Topology, firewall: &str, family: Family) -> String {
    let entries: Vec<_> = topology
        .firewall(firewall)
        .map(|fw| {
            fw.nat
                .iter()
                .filter(|n| n.private.is_ipv4() == (family == Family::V4))
                .collect()
        })
        .unwrap_or_default();
    if entries.is_empty() {
        return String::new();
    }
    let host = if family == Family::V4 { 32 } else { 128 };
    let mut s = String::from(
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n",
    );
    for n in &entries {
        let _ = writeln!(
            s,
            "-A PREROUTING -i {} -d {}/{host} -m comment --comment \"static NAT {}\" -j DNAT --to-destination {}",
            n.interface,
            n.public,
            topology.address_label(n.private),
            n.private
        );
    }
    for n in &entries {
        let _ = writeln!(
            s,
            "-A POSTROUTING -o {} -s {}/{host} -m comment --comment \"static NAT {}\" -j SNAT --to-source {}",
            n.interface,
            n.private,
            topology.address_label(n.private),
            n.public
        );
    }
    s.push_str("COMMIT\n");
    s
}

fn ipset_file(firewall: &str, plan: &Plan, book: &AddressBook, sets: &SetNames) -> Option<String> {
    let mut used: Vec<(String, Family)> = Vec::new();
    for r in plan.rules_for(firewall) {
        for g in [&r.source, &r.destination] {
            if g.members.len() > 1 {
                let key = (book.name(g).to_string(), r.family);
                if !used.contains(&key) {
                    used.push(key);
                }
            }
        }
    }
    if used.is_empty() {
        return None;
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# portplan: address groups for `{firewall}`; load with `ipset restore -exist < {firewall}.ipset`"
    );
    for (name, family) in &used {
        let set = sets.get(name, *family);
        let fam = match family {
            Family::V4 => "inet",
            Family::V6 => "inet6",
        };
        let _ = writeln!(s, "create {set} hash:net family {fam} comment");
        let _ = writeln!(s, "flush {set}");
        for (entry, nets) in book.entries(*family) {
            if entry == name {
                for n in nets {
                    let _ = writeln!(
                        s,
                        "add {set} {} comment \"{}\"",
                        net_text(&n),
                        identifier(name)
                    );
                }
            }
        }
    }
    Some(s)
}

/// The files for one firewall: ipset (`.ipset`, when needed), IPv4 (`.iptables`), and IPv6
/// (`.ip6tables`) when the topology has IPv6 anywhere (see [`uses_ipv6`]).
pub fn files(plan: &Plan, topology: &Topology, firewall: &str) -> Vec<Piece> {
    let book = AddressBook::new(plan.rules_for(firewall));
    let sets = SetNames::new(&book);
    let mut out = Vec::new();
    if let Some(text) = ipset_file(firewall, plan, &book, &sets) {
        out.push(Piece::companion(".ipset", text));
    }
    out.push(Piece::main(restore_file(
        plan,
        topology,
        firewall,
        Family::V4,
        &book,
        &sets,
    )));
    if uses_ipv6(topology) {
        out.push(Piece::companion(
            ".ip6tables",
            restore_file(plan, topology, firewall, Family::V6, &book, &sets),
        ));
    }
    out
}

/// Whether the deployment carries IPv6 anywhere: a server address, a firewall leg, a zone or a
/// client network. IPv6 legs with only IPv4 servers behind them still need the IPv6 file: without
/// it ip6tables keeps its accept-all default and the firewall forwards every IPv6 packet.
fn uses_ipv6(t: &Topology) -> bool {
    let servers = t
        .servers()
        .flat_map(|(_, s)| s.interfaces.iter())
        .flat_map(|i| i.addresses.iter())
        .any(|a| a.ip.is_ipv6());
    let legs = t
        .firewalls
        .iter()
        .flat_map(|f| f.interfaces.iter())
        .flat_map(|i| i.addresses.iter())
        .any(|a| a.addr().is_ipv6());
    let networks = t
        .zones
        .iter()
        .flat_map(|z| z.networks.iter())
        .chain(t.clients.iter().flat_map(|c| c.networks.iter()))
        .any(|n| n.addr().is_ipv6());
    servers || legs || networks
}

impl Renderer for Iptables {
    fn name(&self) -> &'static str {
        "iptables"
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
        ".iptables"
    }
    fn render(
        &self,
        plan: &Plan,
        topology: &Topology,
        subject: &Subject<'_>,
        _selected: &[Subject<'_>],
    ) -> Result<Vec<Piece>, RenderError> {
        Ok(files(plan, topology, subject.stem()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_legs_without_ipv6_servers_still_get_a_dropping_ip6tables_file() {
        // IPv6 routed through both firewalls, every server on IPv4: without an ip6tables file the
        // firewall would forward all IPv6 (ip6tables' default policy is ACCEPT)
        let text = Topology::reference_source()
            .replace(
                "networks = [\"0.0.0.0/0\"]",
                "networks = [\"0.0.0.0/0\", \"::/0\"]",
            )
            .replace(
                "networks = [\"10.10.0.0/16\"]",
                "networks = [\"10.10.0.0/16\", \"fd00:10::/48\"]",
            )
            .replace(
                "address = \"198.51.100.1/24\"",
                "address = [\"198.51.100.1/24\", \"2001:db8:1::1/64\"]",
            )
            .replace(
                "address = \"10.10.0.1/16\"",
                "address = [\"10.10.0.1/16\", \"fd00:10::1/48\"]",
            );
        let t = Topology::parse("v6legs.toml", &text).unwrap();
        let plan = crate::plan::compile(&t);
        for fw in ["fw-external", "fw-internal"] {
            let out = files(&plan, &t, fw);
            let v6 = out
                .iter()
                .find(|a| a.companion == Some(".ip6tables"))
                .unwrap_or_else(|| panic!("{fw}: no ip6tables file"));
            assert!(v6.text.contains(":FORWARD DROP"), "{}", v6.text);
        }
    }
}
