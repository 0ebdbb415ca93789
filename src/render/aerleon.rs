//! Aerleon: a YAML policy per firewall plus the network and service definitions it names, so
//! Aerleon's `aclgen` can generate any of its platforms from the plan.
//!
//! Files: `def/networks.yaml`, `def/services.yaml`, `policies/<firewall>.yaml`. Each firewall policy
//! has one filter per ingress interface (traffic entering there), ending in an explicit deny term.
//! The header targets Juniper (mixed IPv4/IPv6 filter) and Cisco ASA; add others as you need.

use super::address_book::{AddressBook, identifier, rule_comment};
use super::{Artifact, RenderError, Renderer, Scope, banner, firewalls_in_scope, net_text};
use crate::plan::{Plan, Rule};
use crate::topology::Topology;
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
    for iface in interfaces {
        let mine: Vec<&&Rule> = rules
            .iter()
            .filter(|r| r.ingress_interface == iface)
            .collect();
        if mine.is_empty() {
            continue;
        }
        let filter = identifier(&format!("{firewall}-{iface}-in")).replace('_', "-");
        s.push_str("  - header:\n");
        let _ = writeln!(
            s,
            "      comment: {}",
            quoted(&format!("portplan: traffic entering {firewall} on {iface}"))
        );
        s.push_str("      targets:\n");
        let _ = writeln!(s, "        juniper: {filter} mixed");
        let _ = writeln!(
            s,
            "        ciscoasa: {}",
            identifier(&format!("{iface}_access_in"))
        );
        s.push_str("    terms:\n");
        for r in mine {
            let _ = writeln!(
                s,
                "      - name: r{}-{}",
                r.id,
                identifier(&r.service).replace('_', "-")
            );
            let _ = writeln!(s, "        comment: {}", quoted(&rule_comment(r, 200)));
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
    s
}

impl Renderer for Aerleon {
    fn name(&self) -> &'static str {
        "aerleon"
    }
    fn render(
        &self,
        plan: &Plan,
        topology: &Topology,
        scope: &Scope,
    ) -> Result<Vec<Artifact>, RenderError> {
        let firewalls = firewalls_in_scope(topology, scope, self.name())?;
        let rules: Vec<&Rule> = plan
            .rules
            .iter()
            .filter(|r| firewalls.contains(&r.firewall))
            .collect();
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
        let mut out = vec![
            Artifact {
                file: "def/networks.yaml".into(),
                text: networks,
            },
            Artifact {
                file: "def/services.yaml".into(),
                text: svc,
            },
        ];
        for fw in &firewalls {
            out.push(Artifact {
                file: format!("policies/{fw}.yaml"),
                text: policy(plan, topology, fw, &book),
            });
        }
        Ok(out)
    }
}
