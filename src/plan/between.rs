//! "Which ports between these two, in which direction, and why": the catalog rows between two roles
//! (or server roles), and — with a topology — the planned flows between two servers, pools, roles
//! or zones, with their addresses and firewalls.

use super::{Flow, Plan};
use crate::catalog::{Catalog, Role, Row, RowId, ServerRole, role_belongs_to};
use crate::topology::Topology;

/// A role id (`edge.internal`) or a server role (`edge`: every role the Edge plays).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleQuery {
    Role(Role),
    Server(ServerRole),
}

impl RoleQuery {
    /// A server role wins where a name is both (`director`: everything the Directors play).
    pub fn parse(text: &str) -> Result<RoleQuery, String> {
        if let Ok(s) = text.parse::<ServerRole>() {
            return Ok(RoleQuery::Server(s));
        }
        text.parse::<Role>().map(RoleQuery::Role).map_err(|_| {
            format!(
                "`{text}` is neither a role ({}) nor a server role ({})",
                Role::ALL
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                ServerRole::ALL
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    }

    fn matches(self, role: Role, narrow: &[Role]) -> bool {
        let hit = |r: Role| match self {
            RoleQuery::Role(q) => q == r,
            RoleQuery::Server(s) => role_belongs_to(r, s),
        };
        // `any` rows count when the document suggests narrowing them to this role
        hit(role) || (role == Role::Any && narrow.iter().any(|r| hit(*r)))
    }
}

/// Catalog rows from `a` to `b` (first) and from `b` to `a`.
pub fn catalog_rows(catalog: &Catalog, a: RoleQuery, b: RoleQuery) -> Vec<(bool, RowId, &Row)> {
    let mut out = Vec::new();
    for forward in [true, false] {
        let (from, to) = if forward { (a, b) } else { (b, a) };
        for (id, row) in catalog.rows_with_ids() {
            if from.matches(row.source, &row.narrow_source)
                && to.matches(row.destination, &row.narrow_destination)
            {
                out.push((forward, id, row));
            }
        }
    }
    out
}

/// The addresses a named thing of the topology owns: a server's, a pool's servers and VIPs, a
/// client network's or a zone's networks.
/// Each address comes with its zone: an `any` end covers it only in that zone (the internet's
/// 0.0.0.0/0 does not stand for an internal server).
fn addresses_of(t: &Topology, name: &str) -> Vec<(ipnet::IpNet, String)> {
    let mut out = Vec::new();
    for pool in &t.pools {
        let whole = pool.name == name;
        for s in pool.servers.iter().filter(|s| whole || s.name == name) {
            for i in &s.interfaces {
                out.extend(
                    i.addresses
                        .iter()
                        .map(|a| (ipnet::IpNet::from(a.ip), i.zone.clone())),
                );
            }
        }
        if whole {
            for v in &pool.vips {
                out.extend(
                    v.addresses
                        .iter()
                        .map(|a| (ipnet::IpNet::from(*a), v.zone.clone())),
                );
            }
        }
    }
    for c in t.clients.iter().filter(|c| c.name == name) {
        out.extend(c.networks.iter().map(|n| (*n, c.zone.clone())));
    }
    out
}

/// Whether a flow end stands for `name`: a server, pool, role, client network or zone, or an
/// `any` end whose networks hold the addresses of that server, pool or client network.
fn end_is(t: &Topology, g: &super::Group, name: &str, owned: &[(ipnet::IpNet, String)]) -> bool {
    if g.role.names(name) || g.zone == name {
        return true;
    }
    let pool_servers: Vec<&str> = t
        .pools
        .iter()
        .filter(|p| p.name == name)
        .flat_map(|p| p.servers.iter().map(|s| s.name.as_str()))
        .collect();
    g.members.iter().any(|m| {
        m.host == name
            || pool_servers.contains(&m.host.as_str())
            || m.host.starts_with(&format!("{name}/"))
            || owned
                .iter()
                .any(|(a, zone)| *zone == g.zone && m.net.contains(a))
    })
}

/// Every name `between` understands for this topology and plan, for suggestions.
pub fn known_names(plan: &Plan, t: &Topology) -> Vec<String> {
    let mut names: Vec<String> = t.zones.iter().map(|z| z.name.clone()).collect();
    for p in &t.pools {
        names.push(p.name.clone());
        names.extend(p.servers.iter().map(|s| s.name.clone()));
    }
    names.extend(t.clients.iter().map(|c| c.name.clone()));
    for f in &plan.flows {
        for g in [&f.source, &f.destination] {
            names.extend(g.role.iter().map(|p| p.to_string()));
        }
    }
    names.sort();
    names.dedup();
    names
}

/// The known names closest to `name` (by edit distance), best first.
pub fn closest(name: &str, known: &[String]) -> Vec<String> {
    let distance = |a: &str, b: &str| -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut prev = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let cur = row[j + 1];
                row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
                prev = cur;
            }
        }
        row[b.len()]
    };
    let mut scored: Vec<(usize, &String)> = known
        .iter()
        .map(|k| (distance(name, k), k))
        .filter(|(d, k)| d * 3 <= name.chars().count().max(3) || k.contains(name))
        .collect();
    scored.sort();
    scored.into_iter().take(5).map(|(_, k)| k.clone()).collect()
}

/// Planned flows from `a` to `b` (first) and from `b` to `a`.
pub fn flows<'p>(plan: &'p Plan, t: &Topology, a: &str, b: &str) -> Vec<(bool, &'p Flow)> {
    let (owned_a, owned_b) = (addresses_of(t, a), addresses_of(t, b));
    let mut out = Vec::new();
    for forward in [true, false] {
        let (from, to, owned_from, owned_to) = if forward {
            (a, b, &owned_a, &owned_b)
        } else {
            (b, a, &owned_b, &owned_a)
        };
        for f in &plan.flows {
            if end_is(t, &f.source, from, owned_from) && end_is(t, &f.destination, to, owned_to) {
                out.push((forward, f));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_and_director_talk_sip_both_ways() {
        let c = Catalog::builtin();
        let rows = catalog_rows(
            c,
            RoleQuery::parse("edge").unwrap(),
            RoleQuery::parse("director").unwrap(),
        );
        // edge.internal -> director.vip / director 5061 (both Director scenarios)
        assert!(rows.iter().any(|(fwd, _, r)| *fwd && r.ports.start == 5061));
        // director -> edge internal VIP 5061 ("any", narrowed to the Director) and PSOM 8057
        assert!(
            rows.iter()
                .any(|(fwd, _, r)| !*fwd && r.ports.start == 8057)
        );
        assert!(RoleQuery::parse("nonsense").is_err());
    }

    #[test]
    fn topology_flows_between_servers_and_pools() {
        let t = Topology::reference();
        let p = crate::plan::compile(&t);
        let f = flows(&p, &t, "rp01", "fepool");
        assert!(!f.is_empty() && f.iter().all(|(fwd, fl)| *fwd && fl.ports.start != 0));
        assert!(f.iter().any(|(_, fl)| fl.ports.start == 4443));
        let back = flows(&p, &t, "fepool", "rp01");
        assert!(back.iter().all(|(fwd, _)| !*fwd));
    }
}
