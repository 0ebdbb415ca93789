//! What a pool of each server role may be, and which catalog scenarios a deployment plans: the
//! load balancing modes the model (and the catalog's port tables) cover for each role, the VIPs
//! each mode needs, the interface legs a server of the role has, and the catalog slots a pool in a
//! mode fills (the topology's version then picks the scenario of each slot). One table, read by
//! validation, by [`scenarios`] and by anything else that has to know what a pool carries; no role
//! or scenario-selection rule lives elsewhere.

use super::{AddressUse, Leg, LoadBalancing, Pool, Topology, VipService};
use crate::catalog::{Catalog, Feature, ServerRole};

/// When a pool in some mode fills a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Always,
    /// Some external service address of the pool is published through a static NAT.
    Natted,
    /// No external service address of the pool is translated.
    Public,
    /// The deployment has this feature on.
    With(Feature),
}

/// A catalog slot (see `slots` in catalog.toml) a pool asks for, and when.
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    pub id: &'static str,
    pub when: When,
}

/// One load balancing mode a role supports.
#[derive(Debug, Clone, Copy)]
pub struct Mode {
    pub mode: LoadBalancing,
    /// The VIPs a pool in this mode must have; any other VIP would carry no traffic.
    pub vips: &'static [VipService],
    /// The catalog slots a pool in this mode fills.
    pub slots: &'static [Slot],
}

/// An interface a server of a multi-homed role must have, and the kinds of address on it.
#[derive(Debug, Clone, Copy)]
pub struct LegRule {
    pub leg: Leg,
    pub uses: &'static [AddressUse],
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
    /// The legs every server of the role has; empty for a single-homed role (one interface, or
    /// several that are all plain host addresses).
    pub legs: &'static [LegRule],
    /// Whether a pool of this role can hold the Central Management store.
    pub cms: bool,
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

const fn m(mode: LoadBalancing, vips: &'static [VipService], slots: &'static [Slot]) -> Mode {
    Mode { mode, vips, slots }
}

const fn slot(id: &'static str, when: When) -> Slot {
    Slot { id, when }
}

const NO_SLOTS: &[Slot] = &[];
const SINGLE_HOMED: &[LegRule] = &[];
const EDGE_LEGS: &[LegRule] = &[
    LegRule {
        leg: Leg::External,
        uses: &[AddressUse::Access, AddressUse::Webconf, AddressUse::Av],
    },
    LegRule {
        leg: Leg::Internal,
        uses: &[AddressUse::Host],
    },
];
const PROXY_LEGS: &[LegRule] = &[
    LegRule {
        leg: Leg::External,
        uses: &[AddressUse::Host],
    },
    LegRule {
        leg: Leg::Internal,
        uses: &[AddressUse::Host],
    },
];
const REVERSE_PROXY: &[Slot] = &[slot("reverse-proxy", When::Always)];

/// Features that fill a slot of their own, whatever the pools.
pub const FEATURE_SLOTS: &[(Feature, &str)] = &[
    (Feature::InternalServers, "internal-servers"),
    (Feature::VideoScreenSharing, "video-screen-sharing"),
    (Feature::Hybrid, "hybrid"),
];

/// Whether a VIP a mode lists may be left out on this product release. Only the internal VIP of a
/// hardware balanced Edge pool on Skype for Business: its Edge page routes through that VIP only for
/// Exchange 2007/2010 Unified Messaging or legacy clients, the Central Management store sending the
/// rest to the individual Edge servers (the `edge.internal.pool` rows). Lync Server 2013's tables
/// send all internal traffic to the VIP, so it stays required there.
pub fn vip_optional(
    role: ServerRole,
    mode: LoadBalancing,
    vip: VipService,
    version: crate::catalog::Version,
) -> bool {
    role == ServerRole::Edge
        && mode == LoadBalancing::Hlb
        && vip == VipService::Internal
        && version != crate::catalog::Version::Lync2013
}

const fn no(mode: LoadBalancing, instead: &'static str) -> Refusal {
    Refusal { mode, instead }
}

use LoadBalancing::{Dns, DnsHlb, Hlb, None as Single};

/// Role -> supported modes -> required VIPs.
pub const ROLES: &[RoleRules] = &[
    RoleRules {
        role: ServerRole::FrontEnd,
        modes: &[
            m(Hlb, POOL, NO_SLOTS),
            m(DnsHlb, POOL, NO_SLOTS),
            m(Single, NONE, NO_SLOTS),
        ],
        legs: SINGLE_HOMED,
        cms: true,
        refusals: &[no(
            Dns,
            "a Lync Server 2013 Front End pool needs a hardware load balancer for its web services even when SIP is DNS load balanced: write load_balancing = \"dns-hlb\" and give the pool its `pool` VIP",
        )],
    },
    RoleRules {
        role: ServerRole::Director,
        modes: &[
            m(Hlb, POOL, &[slot("director-pool-hlb", When::Always)]),
            m(DnsHlb, POOL, &[slot("director-dns-hlb", When::Always)]),
            m(Single, NONE, &[slot("director-single", When::Always)]),
        ],
        legs: SINGLE_HOMED,
        cms: false,
        refusals: &[no(
            Dns,
            "a Director pool's web services need a hardware load balancer even when SIP is DNS load balanced: write load_balancing = \"dns-hlb\" and give the pool its `pool` VIP",
        )],
    },
    RoleRules {
        role: ServerRole::Edge,
        modes: &[
            // the HLB page has no public IM table; the public IM page supplies it
            m(
                Hlb,
                EDGE_HLB,
                &[
                    slot("edge-consolidated-hlb", When::Always),
                    slot("public-im", When::With(Feature::PublicIm)),
                ],
            ),
            m(
                Dns,
                NONE,
                &[
                    slot("edge-dns-nat", When::Natted),
                    slot("edge-dns-public", When::Public),
                ],
            ),
            m(
                Single,
                NONE,
                &[
                    slot("edge-single-nat", When::Natted),
                    slot("edge-single-public", When::Public),
                ],
            ),
        ],
        legs: EDGE_LEGS,
        cms: false,
        refusals: &[no(
            DnsHlb,
            "the Edge port tables cover hardware load balancers on both sides (`hlb`), DNS load balancing (`dns`) or a single Edge (`none`); a mixed Edge pool has no port table",
        )],
    },
    RoleRules {
        role: ServerRole::OfficeWebApps,
        modes: &[m(Hlb, POOL, NO_SLOTS), m(Single, NONE, NO_SLOTS)],
        legs: SINGLE_HOMED,
        cms: false,
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
        modes: &[m(Dns, NONE, REVERSE_PROXY), m(Single, NONE, REVERSE_PROXY)],
        legs: PROXY_LEGS,
        cms: false,
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
        modes: &[
            m(Hlb, POOL, NO_SLOTS),
            m(Dns, NONE, NO_SLOTS),
            m(Single, NONE, NO_SLOTS),
        ],
        legs: SINGLE_HOMED,
        cms: false,
        refusals: &[no(
            DnsHlb,
            "a Mediation pool has no web services: balance it by DNS (`dns`) or by a hardware load balancer (`hlb` with a `pool` VIP)",
        )],
    },
    RoleRules {
        role: ServerRole::PersistentChat,
        modes: &[m(Dns, NONE, NO_SLOTS), m(Single, NONE, NO_SLOTS)],
        legs: SINGLE_HOMED,
        cms: false,
        refusals: &[],
    },
    RoleRules {
        role: ServerRole::SurvivableBranch,
        modes: &[m(Single, NONE, NO_SLOTS)],
        legs: SINGLE_HOMED,
        cms: false,
        refusals: &[],
    },
    RoleRules {
        role: ServerRole::PstnGateway,
        modes: &[m(Dns, NONE, NO_SLOTS), m(Single, NONE, NO_SLOTS)],
        legs: SINGLE_HOMED,
        cms: false,
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

    /// The rule of one leg, for a multi-homed role.
    pub fn leg(&self, leg: Leg) -> Option<&'static LegRule> {
        self.legs.iter().find(|l| l.leg == leg)
    }

    /// Whether the role's servers carry per-service addresses (access, webconf, av) anywhere.
    pub fn has_service_addresses(&self) -> bool {
        self.legs
            .iter()
            .any(|l| l.uses.iter().any(|u| *u != AddressUse::Host))
    }
}

/// The mode of a pool that names none: one server needs no balancing, several are balanced by DNS.
pub fn default_mode(servers: usize) -> LoadBalancing {
    if servers <= 1 {
        LoadBalancing::None
    } else {
        LoadBalancing::Dns
    }
}

/// The catalog slots a pool asks for, in the order of its mode's table.
pub fn pool_slots(t: &Topology, pool: &Pool) -> Vec<&'static str> {
    let Some(mode) = rules(pool.role).and_then(|r| r.mode(pool.load_balancing)) else {
        return Vec::new();
    };
    let natted = t.pool_is_natted(pool);
    mode.slots
        .iter()
        .filter(|s| match s.when {
            When::Always => true,
            When::Natted => natted,
            When::Public => !natted,
            When::With(f) => t.has_feature(f),
        })
        .map(|s| s.id)
        .collect()
}

/// The catalog scenarios a deployment plans, in catalog order: its pools and features ask for
/// slots, `[options] scenarios` adds the slots of the scenarios it names, and the topology's
/// version picks the scenario of each slot.
pub fn scenarios(t: &Topology, catalog: &'static Catalog) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    let mut add = |slot: &str| {
        if let Some(s) = catalog.scenario_for(slot, t.version)
            && !out.contains(&s.id.as_str())
        {
            out.push(&s.id)
        }
    };
    for pool in &t.pools {
        for slot in pool_slots(t, pool) {
            add(slot);
        }
    }
    for (feature, slot) in FEATURE_SLOTS {
        if t.has_feature(*feature) {
            add(slot);
        }
    }
    for extra in &t.extra_scenarios {
        if let Some(s) = catalog.scenario(extra).filter(|s| s.applies_to(t.version)) {
            for slot in s.slot_ids() {
                add(slot);
            }
        }
    }
    out.sort_by_key(|id| catalog.scenarios.iter().position(|s| s.id == *id));
    out
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

    #[test]
    fn every_slot_a_role_or_feature_asks_for_is_filled_by_some_version() {
        // a slot spelled wrong would silently plan nothing
        let catalog = Catalog::builtin();
        let filled = |id: &str| {
            crate::catalog::Version::ALL
                .iter()
                .any(|v| catalog.scenario_for(id, *v).is_some())
        };
        for r in ROLES {
            for m in r.modes {
                for s in m.slots {
                    assert!(filled(s.id), "{} {}: slot `{}`", r.role, m.mode, s.id);
                }
            }
        }
        for (f, id) in FEATURE_SLOTS {
            assert!(filled(id), "{f}: slot `{id}`");
        }
    }
}
