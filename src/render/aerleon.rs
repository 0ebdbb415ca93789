//! Aerleon: a YAML policy per firewall plus the network and service definitions it names, so
//! Aerleon's `aclgen` can generate any of its platforms from the plan.
//!
//! Files: `def/networks.yaml`, `def/services.yaml`, `policies/<firewall>.yaml`. The plan is a
//! stateful policy (only the opening direction of each flow is a rule; answers ride on the
//! connection), so every filter targets a stateful platform, each in the shape that platform
//! applies policy:
//!
//! - `ciscoasa`: one filter per ingress interface (`<interface>_access_in`, bound with
//!   `access-group … in interface …`);
//! - `srx` (Juniper SRX security policies): one filter per zone pair, `from-zone <ingress zone>
//!   to-zone <egress zone>`, named after the topology's zones (the SRX needs security zones of those
//!   names with the firewall's interfaces in them);
//! - `nftables`: one filter for the firewall on the `forward` hook, each term bound to its
//!   ingress and egress interface (`source-interface`, `destination-interface`: nft `iifname`,
//!   `oifname`). Aerleon makes each nftables filter a base chain with policy drop that accepts
//!   established and related packets, and each accept term matches new connections only, so one
//!   chain per firewall is the only correct shape: two base chains on one hook would each drop
//!   what the other accepts.
//!
//! Stateless Juniper firewall filters (`juniper`) are not a target: without connection tracking a
//! filter needs return terms, and for UDP media (3478, 50000-59999) those would let in anything
//! sent from those source ports, far more than the plan allows.
//!
//! Every filter ends in an explicit deny term.

use super::address_book::{AddressBook, identifier, rule_comment};
use super::contract::{
    Artifact, FIREWALL_SCOPE, NO_FIREWALL_RULE, Piece, RenderError, Renderer, Subject, Unit, banner,
};
use crate::plan::{Plan, Rule};
use crate::topology::Topology;
use crate::view::plan::net_text;
use std::collections::BTreeMap;
use std::fmt::Write;

pub struct Aerleon;

fn network_name(book_name: &str) -> String {
    book_name.to_ascii_uppercase()
}

fn service_name(rule: &Rule) -> String {
    format!(
        "{}_{}",
        rule.transport.as_str().to_ascii_uppercase(),
        rule.ports.to_string().replace('-', "_")
    )
}

/// A YAML double-quoted scalar.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn policy(plan: &Plan, topology: &Topology, firewall: &str, book: &AddressBook) -> String {
    let rules: Vec<&Rule> = plan.rules_for(firewall).collect();
    let mut s = String::new();
    s.push_str(&banner(
        "#",
        &format!("policy for `{firewall}`"),
        plan,
        topology,
    ));
    let _ = writeln!(
        s,
        "# generate with: aclgen --policy_file policies/{firewall}.yaml --definitions_directory def"
    );
    let _ = writeln!(
        s,
        "# writes {firewall}.asa (Cisco ASA), {firewall}.srx (Juniper SRX; its security zones are \
         named as the topology's zones)\n# and {firewall}.nft (nftables, forward hook: `nft -f`, \
         table inet filtering_policies); all three are stateful"
    );
    // Aerleon describes filters only; static NAT has to be configured on the device itself.
    if let Some(fw) = topology.firewall(firewall) {
        for n in &fw.nat {
            let _ = writeln!(
                s,
                "# static NAT (configure on the device): {} <-> {} on `{}` ({}); terms match {}",
                n.public,
                n.private,
                n.interface,
                topology.address_label(n.private),
                n.private
            );
        }
    }
    s.push_str("filters:\n");
    let interfaces: Vec<String> = topology
        .firewall(firewall)
        .map(|f| f.interfaces.iter().map(|i| i.name.clone()).collect())
        .unwrap_or_default();
    // Cisco ASA: an access list per ingress interface
    for iface in &interfaces {
        let mine: Vec<&Rule> = rules
            .iter()
            .copied()
            .filter(|r| &r.ingress_interface == iface)
            .collect();
        if mine.is_empty() {
            continue;
        }
        filter_header(
            &mut s,
            &format!("portplan: traffic entering {firewall} on {iface} (Cisco ASA)"),
            "ciscoasa",
            &identifier(&format!("{iface}_access_in")),
        );
        terms(&mut s, &mine, book, false);
    }
    // Juniper SRX: a security policy per zone pair
    let mut pairs: Vec<(&str, &str)> = rules
        .iter()
        .map(|r| (r.ingress_zone.as_str(), r.egress_zone.as_str()))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    for (from, to) in pairs {
        let mine: Vec<&Rule> = rules
            .iter()
            .copied()
            .filter(|r| r.ingress_zone == from && r.egress_zone == to)
            .collect();
        filter_header(
            &mut s,
            &format!("portplan: {firewall} from zone {from} to zone {to} (Juniper SRX)"),
            "srx",
            &format!("from-zone {} to-zone {}", srx_zone(from), srx_zone(to)),
        );
        terms(&mut s, &mine, book, false);
    }
    // nftables: one forward chain for the whole firewall, every term bound to its interfaces
    if !rules.is_empty() {
        filter_header(
            &mut s,
            &format!("portplan: traffic forwarded by {firewall} (nftables)"),
            "nftables",
            "mixed forward",
        );
        terms(&mut s, &rules, book, true);
    }
    s
}

/// A SRX zone name: the topology's zone name, with `.` (valid in topology names, not in Junos
/// zone names) as `_`.
/// Term comments end up as nft rule comments, which nft caps at 128 characters (a term naming
/// many catalog rows made aclgen's nftables output unloadable).
const NFT_COMMENT_MAX: usize = 120;

fn srx_zone(zone: &str) -> String {
    zone.replace('.', "_")
}

fn filter_header(s: &mut String, comment: &str, platform: &str, options: &str) {
    s.push_str("  - header:\n");
    let _ = writeln!(s, "      comment: {}", quoted(comment));
    s.push_str("      targets:\n");
    let _ = writeln!(s, "        {platform}: {options}");
}

/// The accept terms of `rules` and the closing deny; with `interfaces`, each accept term names
/// the rule's ingress and egress interface.
fn terms(s: &mut String, rules: &[&Rule], book: &AddressBook, interfaces: bool) {
    s.push_str("    terms:\n");
    for r in rules {
        let _ = writeln!(
            s,
            "      - name: r{}-{}",
            r.id,
            identifier(&r.service).replace('_', "-")
        );
        let _ = writeln!(
            s,
            "        comment: {}",
            quoted(&rule_comment(r, NFT_COMMENT_MAX))
        );
        if interfaces {
            let _ = writeln!(
                s,
                "        source-interface: {}",
                quoted(&r.ingress_interface)
            );
            let _ = writeln!(
                s,
                "        destination-interface: {}",
                quoted(&r.egress_interface)
            );
        }
        let _ = writeln!(
            s,
            "        source-address: {}",
            network_name(book.name(&r.source))
        );
        let _ = writeln!(
            s,
            "        destination-address: {}",
            network_name(book.name(&r.destination))
        );
        let _ = writeln!(s, "        protocol: {}", r.transport);
        let _ = writeln!(s, "        destination-port: {}", service_name(r));
        s.push_str("        action: accept\n");
    }
    s.push_str("      - name: default-deny\n");
    let _ = writeln!(
        s,
        "        comment: {}",
        quoted("portplan: everything the plan does not allow")
    );
    s.push_str("        action: deny\n");
}

/// The rules of the selected firewalls, in plan order.
fn rules<'a>(plan: &'a Plan, selected: &'a [Subject<'_>]) -> impl Iterator<Item = &'a Rule> {
    plan.rules.iter().filter(move |r| {
        selected
            .iter()
            .any(|s| matches!(s, Subject::Firewall(fw) if *fw == r.firewall))
    })
}

/// The address groups of the selected firewalls' rules: the definitions and every policy of one
/// run name groups from the same book.
fn book(plan: &Plan, selected: &[Subject<'_>]) -> AddressBook {
    AddressBook::new(rules(plan, selected))
}

impl Renderer for Aerleon {
    fn name(&self) -> &'static str {
        "aerleon"
    }
    fn units(&self) -> &'static [Unit] {
        &[Unit::Firewall]
    }
    fn suffix(&self, _unit: Unit) -> &'static str {
        ".yaml"
    }
    fn directory(&self) -> &'static str {
        "policies/"
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
    /// The definitions every policy of the run refers to: the address groups and ports of the
    /// rules of the selected firewalls.
    fn shared(
        &self,
        plan: &Plan,
        _topology: &Topology,
        selected: &[Subject<'_>],
    ) -> Result<Vec<Artifact>, RenderError> {
        let rules: Vec<&Rule> = rules(plan, selected).collect();
        let book = AddressBook::new(rules.iter().copied());
        let mut networks = String::from("# portplan: address groups of the plan\nnetworks:\n");
        for (name, nets) in book.all() {
            let _ = writeln!(networks, "  {}:", network_name(name));
            networks.push_str("    values:\n");
            for n in nets {
                let _ = writeln!(networks, "      - address: {}", n.trunc());
                let _ = writeln!(
                    networks,
                    "        comment: {}",
                    quoted(&format!("{name} {}", net_text(n)))
                );
            }
        }
        let mut services: BTreeMap<String, &Rule> = BTreeMap::new();
        for r in &rules {
            services.entry(service_name(r)).or_insert(r);
        }
        let mut svc = String::from("# portplan: ports of the plan\nservices:\n");
        for (name, r) in &services {
            let _ = writeln!(svc, "  {name}:");
            let port = if r.ports.is_single() {
                r.ports.start.to_string()
            } else {
                quoted(&r.ports.to_string())
            };
            let _ = writeln!(svc, "    - port: {port}");
            let _ = writeln!(svc, "      protocol: {}", r.transport);
        }
        Ok(vec![
            Artifact {
                file: "def/networks.yaml".into(),
                text: networks,
            },
            Artifact {
                file: "def/services.yaml".into(),
                text: svc,
            },
        ])
    }
    fn render(
        &self,
        plan: &Plan,
        topology: &Topology,
        subject: &Subject<'_>,
        selected: &[Subject<'_>],
    ) -> Result<Vec<Piece>, RenderError> {
        // the policy names groups as the shared definitions do, so it uses the same book
        let book = book(plan, selected);
        Ok(vec![Piece::main(policy(
            plan,
            topology,
            subject.stem(),
            &book,
        ))])
    }
}
