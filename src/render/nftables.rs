//! nftables: one `table inet portplan` per firewall, loaded atomically with `nft -f`.
//!
//! The forward chain drops by default, accepts established/related traffic, and jumps to one chain
//! per (ingress, egress) interface pair. Address groups are named interval sets, so the rule count
//! follows the plan's rules, not the number of servers. The file first creates and deletes the table
//! so that loading it replaces any previous version in one transaction.

use super::address_book::{AddressBook, merged_comment, rule_comment};
use super::contract::{
    FIREWALL_SCOPE, NO_FIREWALL_RULE, Piece, RenderError, Renderer, Subject, Unit, banner,
};
use crate::plan::{Family, Plan, Rule};
use crate::topology::Topology;
use crate::view::plan::net_text;
use std::fmt::Write;

pub struct Nftables;

/// nft limits rule comments to 128 bytes.
const COMMENT_MAX: usize = 127;

fn set_name(base: &str, family: Family) -> String {
    format!(
        "{base}_{}",
        match family {
            Family::V4 => "v4",
            Family::V6 => "v6",
        }
    )
}

/// The chain of an interface pair. Interface names keep their letters and digits; `_`, `-` and
/// `.` are written `__`, `_d` and `_p`, so two pairs never share a chain (`out-side` and `out_side`
/// once collapsed into one chain and the other direction's rules were never reached).
fn chain_name(rule: &Rule) -> String {
    let part = |name: &str| {
        let mut out = String::new();
        if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            out.push_str("if_");
        }
        for c in name.chars() {
            match c {
                '_' => out.push_str("__"),
                '-' => out.push_str("_d"),
                '.' => out.push_str("_p"),
                c if c.is_ascii_alphanumeric() => out.push(c),
                // names are checked to hold nothing else; keep the chain name valid regardless
                c => out.push_str(&format!("_u{:x}_", u32::from(c))),
            }
        }
        out
    };
    format!(
        "{}_to_{}",
        part(&rule.ingress_interface),
        part(&rule.egress_interface)
    )
}

/// Rules that share chain, family, both address sets and the protocol, in plan order, with the
/// ordinal of the group among groups of the same key (interval sets refuse overlapping elements,
/// so a rule whose ports overlap a member's starts another group).
fn port_groups<'a>(rules: impl Iterator<Item = &'a Rule>) -> Vec<(usize, Vec<&'a Rule>)> {
    let same_key = |f: &Rule, r: &Rule| {
        f.family == r.family
            && f.transport == r.transport
            && f.source.nets() == r.source.nets()
            && f.destination.nets() == r.destination.nets()
            && f.ingress_interface == r.ingress_interface
            && f.egress_interface == r.egress_interface
    };
    let overlap = |a: &Rule, b: &Rule| a.ports.start <= b.ports.end && b.ports.start <= a.ports.end;
    let mut groups: Vec<(usize, Vec<&Rule>)> = Vec::new();
    for r in rules {
        match groups
            .iter_mut()
            .find(|(_, g)| same_key(g[0], r) && !g.iter().any(|m| overlap(m, r)))
        {
            Some((_, g)) => g.push(r),
            None => {
                let ordinal = groups.iter().filter(|(_, g)| same_key(g[0], r)).count();
                groups.push((ordinal, vec![r]));
            }
        }
    }
    groups
}

fn port_set_name(rule: &Rule, src: &str, dst: &str, ordinal: usize) -> String {
    let base = format!("{}_{}_{}_from_{src}", chain_name(rule), dst, rule.transport);
    if ordinal == 0 {
        base
    } else {
        format!("{base}_{}", ordinal + 1)
    }
}

/// The ruleset for one firewall.
pub fn ruleset(plan: &Plan, topology: &Topology, firewall: &str) -> String {
    let rules: Vec<&Rule> = plan.rules_for(firewall).collect();
    let book = AddressBook::new(rules.iter().copied());
    let mut s = String::new();
    let _ = writeln!(s, "#!/usr/sbin/nft -f");
    s.push_str(&banner(
        "#",
        &format!("firewall policy for `{firewall}`"),
        plan,
        topology,
    ));
    let _ = writeln!(
        s,
        "# Load with `nft -f {firewall}.nft`: the table is replaced in one transaction."
    );
    let _ = writeln!(
        s,
        "# Interface names are the firewall's interface names in the topology."
    );
    s.push('\n');
    s.push_str("table inet portplan\ndelete table inet portplan\n\n");
    s.push_str("table inet portplan {\n");
    for family in [Family::V4, Family::V6] {
        let used: Vec<&str> = rules
            .iter()
            .filter(|r| r.family == family)
            .flat_map(|r| [book.name(&r.source), book.name(&r.destination)])
            .collect();
        for (name, nets) in book.entries(family) {
            if !used.contains(&name) {
                continue;
            }
            let elements: Vec<String> = nets.iter().map(net_text).collect();
            let _ = writeln!(s, "\tset {} {{", set_name(name, family));
            let _ = writeln!(
                s,
                "\t\ttype {}",
                match family {
                    Family::V4 => "ipv4_addr",
                    Family::V6 => "ipv6_addr",
                }
            );
            s.push_str("\t\tflags interval\n\t\tauto-merge\n");
            let _ = writeln!(s, "\t\telements = {{ {} }}", elements.join(", "));
            s.push_str("\t}\n\n");
        }
    }

    // port sets: rules that differ only in their ports share one rule over a named set whose
    // elements keep each rule's catalog rows as comments
    let mut chain_order: Vec<String> = Vec::new();
    for r in &rules {
        let c = chain_name(r);
        if !chain_order.contains(&c) {
            chain_order.push(c);
        }
    }
    for chain in &chain_order {
        for (ordinal, group) in
            port_groups(rules.iter().copied().filter(|r| chain_name(r) == *chain))
        {
            if group.len() < 2 {
                continue;
            }
            let first = group[0];
            let src = set_name(book.name(&first.source), first.family);
            let dst = set_name(book.name(&first.destination), first.family);
            let _ = writeln!(s, "\tset {} {{", port_set_name(first, &src, &dst, ordinal));
            s.push_str("\t\ttype inet_service\n\t\tflags interval\n\t\telements = {\n");
            for (i, r) in group.iter().enumerate() {
                let sep = if i + 1 == group.len() { "" } else { "," };
                let _ = writeln!(
                    s,
                    "\t\t\t{} comment \"{}\"{sep}",
                    r.ports,
                    rule_comment(r, COMMENT_MAX)
                );
            }
            s.push_str("\t\t}\n\t}\n\n");
        }
    }

    // dispatch: one chain per interface pair, in plan order
    let mut chains: Vec<(String, &str, &str)> = Vec::new();
    for r in &rules {
        let name = chain_name(r);
        if !chains.iter().any(|(n, _, _)| *n == name) {
            chains.push((name, &r.ingress_interface, &r.egress_interface));
        }
    }
    s.push_str("\tchain forward {\n");
    s.push_str("\t\ttype filter hook forward priority filter; policy drop;\n");
    s.push_str("\t\tct state established,related accept\n");
    s.push_str("\t\tct state invalid drop\n");
    for (name, i, o) in &chains {
        let _ = writeln!(s, "\t\tiifname \"{i}\" oifname \"{o}\" jump {name}");
    }
    s.push_str("\t}\n");
    for (name, _, _) in &chains {
        let _ = writeln!(s, "\n\tchain {name} {{");
        for (ordinal, group) in
            port_groups(rules.iter().copied().filter(|r| chain_name(r) == *name))
        {
            let first = group[0];
            let ip = match first.family {
                Family::V4 => "ip",
                Family::V6 => "ip6",
            };
            let src = set_name(book.name(&first.source), first.family);
            let dst = set_name(book.name(&first.destination), first.family);
            let (ports, comment) = if group.len() == 1 {
                (first.ports.to_string(), rule_comment(first, COMMENT_MAX))
            } else {
                (
                    format!("@{}", port_set_name(first, &src, &dst, ordinal)),
                    merged_comment(&group, COMMENT_MAX),
                )
            };
            let _ = writeln!(
                s,
                "\t\t{ip} saddr @{src} {ip} daddr @{dst} {} dport {ports} counter accept comment \"{comment}\"",
                first.transport
            );
        }
        s.push_str("\t}\n");
    }
    s.push_str(&nat_chains(topology, firewall));
    s.push_str("}\n");
    s
}

/// Static NAT: destination NAT on the way in through the public interface, source NAT on the way
/// out; the forward chains above already match the private addresses (they run after DNAT).
fn nat_chains(topology: &Topology, firewall: &str) -> String {
    let Some(fw) = topology.firewall(firewall) else {
        return String::new();
    };
    if fw.nat.is_empty() {
        return String::new();
    }
    let mut pre = String::new();
    let mut post = String::new();
    for n in &fw.nat {
        let ip = if n.private.is_ipv4() { "ip" } else { "ip6" };
        let label = topology.address_label(n.private);
        let _ = writeln!(
            pre,
            "\t\tiifname \"{}\" {ip} daddr {} dnat {ip} to {} comment \"static NAT {label}\"",
            n.interface, n.public, n.private
        );
        let _ = writeln!(
            post,
            "\t\toifname \"{}\" {ip} saddr {} snat {ip} to {} comment \"static NAT {label}\"",
            n.interface, n.private, n.public
        );
    }
    format!(
        "\n\tchain prerouting {{\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n{pre}\t}}\n\n\tchain postrouting {{\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n{post}\t}}\n"
    )
}

impl Renderer for Nftables {
    fn name(&self) -> &'static str {
        "nftables"
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
        ".nft"
    }
    fn render(
        &self,
        plan: &Plan,
        topology: &Topology,
        subject: &Subject<'_>,
        _selected: &[Subject<'_>],
    ) -> Result<Vec<Piece>, RenderError> {
        Ok(vec![Piece::main(ruleset(plan, topology, subject.stem()))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_pairs_whose_names_fold_alike_get_chains_of_their_own() {
        // `In-side` and `in_side` are two interfaces to Linux, one identifier to a naive chain name:
        // both directions through fw-internal must keep a jump to a chain of their own
        let text = Topology::reference_source()
            .replace(
                "name = \"dmz\"\n  zone = \"perimeter-internal\"",
                "name = \"In-side\"\n  zone = \"perimeter-internal\"",
            )
            .replace("name = \"inside\"", "name = \"in_side\"");
        let t = Topology::parse("fold.toml", &text).unwrap();
        let plan = crate::plan::compile(&t);
        let out = ruleset(&plan, &t, "fw-internal");
        let jumps: Vec<&str> = out
            .lines()
            .filter(|l| l.contains(" jump "))
            .map(|l| l.rsplit(' ').next().unwrap())
            .collect();
        assert_eq!(jumps.len(), 2, "{out}");
        assert_ne!(jumps[0], jumps[1], "{out}");
        for j in &jumps {
            assert!(out.contains(&format!("\tchain {j} {{")), "{j}: {out}");
        }
    }
}
