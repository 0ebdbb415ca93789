//! Which firewalls a flow crosses: zones are nodes, a firewall joins every pair of zones it has an
//! interface in, and a flow takes the path through the fewest firewalls (breadth-first, in file
//! order, so the result is deterministic).

use crate::topology::Topology;
use serde::Serialize;
use std::collections::{BTreeSet, VecDeque};

/// One firewall on a flow's path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hop {
    pub firewall: String,
    pub ingress_interface: String,
    pub ingress_zone: String,
    pub egress_interface: String,
    pub egress_zone: String,
}

/// Zone graph of a topology.
pub struct Router {
    /// (zone, firewall, interface) for every firewall leg, in file order.
    legs: Vec<(String, String, String)>,
}

impl Router {
    pub fn new(t: &Topology) -> Router {
        let mut legs = Vec::new();
        for fw in &t.firewalls {
            for i in &fw.interfaces {
                legs.push((i.zone.clone(), fw.name.clone(), i.name.clone()));
            }
        }
        Router { legs }
    }

    /// Hops leaving `zone` through one firewall.
    fn next_hops(&self, zone: &str) -> Vec<Hop> {
        let mut out = Vec::new();
        for (in_zone, fw, in_iface) in self.legs.iter().filter(|l| l.0 == zone) {
            for (out_zone, _, out_iface) in
                self.legs.iter().filter(|l| &l.1 == fw && l.0 != *in_zone)
            {
                out.push(Hop {
                    firewall: fw.clone(),
                    ingress_interface: in_iface.clone(),
                    ingress_zone: in_zone.clone(),
                    egress_interface: out_iface.clone(),
                    egress_zone: out_zone.clone(),
                });
            }
        }
        out
    }

    /// The firewalls from `from` to `to`; `None` when no path exists, `Some([])` for the same zone.
    pub fn path(&self, from: &str, to: &str) -> Option<Vec<Hop>> {
        if from == to {
            return Some(Vec::new());
        }
        let mut seen: BTreeSet<String> = BTreeSet::from([from.to_string()]);
        let mut queue: VecDeque<(String, Vec<Hop>)> = VecDeque::from([(from.to_string(), vec![])]);
        while let Some((zone, path)) = queue.pop_front() {
            for hop in self.next_hops(&zone) {
                if !seen.insert(hop.egress_zone.clone()) {
                    continue;
                }
                let mut next = path.clone();
                let reached = hop.egress_zone.clone();
                next.push(hop);
                if reached == to {
                    return Some(next);
                }
                queue.push_back((reached, next));
            }
        }
        None
    }

    /// Every other zone reachable from `zone` through at least one firewall, nearest first.
    pub fn reachable_from(&self, zone: &str) -> Vec<String> {
        let mut seen: Vec<String> = vec![zone.to_string()];
        let mut queue: VecDeque<String> = VecDeque::from([zone.to_string()]);
        while let Some(z) = queue.pop_front() {
            for hop in self.next_hops(&z) {
                if !seen.contains(&hop.egress_zone) {
                    seen.push(hop.egress_zone.clone());
                    queue.push_back(hop.egress_zone);
                }
            }
        }
        seen.remove(0);
        seen
    }
}
