//! What a pool of each server role may be: the load balancing modes the model (and the catalog's
//! port tables) cover for that role, and the VIPs each mode needs. One table, read by validation
//! and by anything else that has to know which VIPs a pool carries; no role rule lives elsewhere.

use super::{LoadBalancing, VipService};
use crate::catalog::ServerRole;

/// One load balancing mode a role supports.
#[derive(Debug, Clone, Copy)]
pub struct Mode {
    pub mode: LoadBalancing,
    /// The VIPs a pool in this mode must have; any other VIP would carry no traffic.
    pub vips: &'static [VipService],
}

/// A mode a role does not support, what to write instead, and why.
#[derive(Debug, Clone, Copy)]
pub struct Refusal {
    pub mode: LoadBalancing,
    pub instead: &'static str,
}

/// The load balancing rules of one server role.
#[derive(Debug, Clone, Copy)]
pub struct RoleRules {
    pub role: ServerRole,
    pub modes: &'static [Mode],
    /// Why an unsupported mode is refused, with the mode to use instead; a mode missing from both
    /// lists gets a generic hint naming the supported ones.
    pub refusals: &'static [Refusal],
}

const POOL: &[VipService] = &[VipService::Pool];
const NONE: &[VipService] = &[];
const EDGE_HLB: &[VipService] = &[
    VipService::Access,
    VipService::Webconf,
    VipService::Av,
    VipService::Internal,
];

const fn m(mode: LoadBalancing, vips: &'static [VipService]) -> Mode {
    Mode { mode, vips }
}

const fn no(mode: LoadBalancing, instead: &'static str) -> Refusal {
    Refusal { mode, instead }
}

use LoadBalancing::{Dns, DnsHlb, Hlb, None as Single};

/// Role -> supported modes -> required VIPs.
pub const ROLES: &[RoleRules] = &[
    RoleRules {
        role: ServerRole::FrontEnd,
        modes: &[m(Hlb, POOL), m(DnsHlb, POOL), m(Single, NONE)],
        refusals: &[no(
            Dns,
            "a Lync Server 2013 Front End pool needs a hardware load balancer for its web services even when SIP is DNS load balanced: write load_balancing = \"dns-hlb\" and give the pool its `pool` VIP",
        )],
    },
    RoleRules {
        role: ServerRole::Director,
        modes: &[m(Hlb, POOL), m(DnsHlb, POOL), m(Single, NONE)],
        refusals: &[no(
            Dns,
            "a Director pool's web services need a hardware load balancer even when SIP is DNS load balanced: write load_balancing = \"dns-hlb\" and give the pool its `pool` VIP",
        )],
    },
    RoleRules {
        role: ServerRole::Edge,
        modes: &[m(Hlb, EDGE_HLB), m(Dns, NONE), m(Single, NONE)],
        refusals: &[no(
            DnsHlb,
            "the Edge port tables cover hardware load balancers on both sides (`hlb`), DNS load balancing (`dns`) or a single Edge (`none`); a mixed Edge pool has no port table",
        )],
    },
    RoleRules {
        role: ServerRole::OfficeWebApps,
        modes: &[m(Hlb, POOL), m(Single, NONE)],
        refusals: &[
            no(
                Dns,
                "an Office Web Apps farm serves HTTPS only, which DNS load balancing does not cover: write load_balancing = \"hlb\" with a `pool` VIP, or use one server",
            ),
            no(
                DnsHlb,
                "an Office Web Apps farm has no SIP to balance by DNS: write load_balancing = \"hlb\" with a `pool` VIP",
            ),
        ],
    },
    RoleRules {
        role: ServerRole::ReverseProxy,
        modes: &[m(Dns, NONE), m(Single, NONE)],
        refusals: &[
            no(
                Hlb,
                "the model publishes a reverse proxy on its own external addresses and has no VIP for a reverse proxy array: use `none` for one proxy or `dns` for several",
            ),
            no(
                DnsHlb,
                "the model publishes a reverse proxy on its own external addresses and has no VIP for a reverse proxy array: use `none` for one proxy or `dns` for several",
            ),
        ],
    },
    RoleRules {
        role: ServerRole::Mediation,
        modes: &[m(Hlb, POOL), m(Dns, NONE), m(Single, NONE)],
        refusals: &[no(
            DnsHlb,
            "a Mediation pool has no web services: balance it by DNS (`dns`) or by a hardware load balancer (`hlb` with a `pool` VIP)",
        )],
    },
    RoleRules {
        role: ServerRole::PersistentChat,
        modes: &[m(Dns, NONE), m(Single, NONE)],
        refusals: &[],
    },
    RoleRules {
        role: ServerRole::SurvivableBranch,
        modes: &[m(Single, NONE)],
        refusals: &[],
    },
    RoleRules {
        role: ServerRole::PstnGateway,
        modes: &[m(Dns, NONE), m(Single, NONE)],
        refusals: &[no(
            Hlb,
            "Mediation Servers reach each PSTN gateway on its own address; gateways are not behind a VIP: use `none` for one gateway or `dns` for several",
        )],
    },
];

/// The rules of a role (every role has an entry).
pub fn rules(role: ServerRole) -> Option<&'static RoleRules> {
    ROLES.iter().find(|r| r.role == role)
}

impl RoleRules {
    pub fn mode(&self, mode: LoadBalancing) -> Option<&'static Mode> {
        self.modes.iter().find(|m| m.mode == mode)
    }

    /// Why `mode` is refused for this role, and what to write instead.
    pub fn refusal_hint(&self, mode: LoadBalancing) -> String {
        match self.refusals.iter().find(|r| r.mode == mode) {
            Some(r) => r.instead.to_string(),
            None => format!(
                "a {} pool supports {}",
                self.role,
                self.modes
                    .iter()
                    .map(|m| format!("`{}`", m.mode.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// Every VIP service some mode of this role uses.
    pub fn vip_services(&self) -> Vec<VipService> {
        let mut out: Vec<VipService> = Vec::new();
        for m in self.modes {
            for v in m.vips {
                if !out.contains(v) {
                    out.push(*v);
                }
            }
        }
        out
    }

    /// Whether a pool of several servers can use one of this role's modes.
    pub fn balances(&self) -> bool {
        self.modes.iter().any(|m| m.mode != LoadBalancing::None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_has_rules_and_none_refuses_a_mode_it_supports() {
        for role in ServerRole::ALL {
            let r = rules(*role).unwrap_or_else(|| panic!("{role} has no entry"));
            for refusal in r.refusals {
                assert!(r.mode(refusal.mode).is_none(), "{role}");
            }
            assert!(
                r.mode(LoadBalancing::None).is_some(),
                "{role} single server"
            );
        }
    }
}
