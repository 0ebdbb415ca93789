//! Raw file → validated [`Topology`]. Every problem is collected (not just the first) and points at
//! the text that caused it, with a hint on how to fix it.

use super::file::{OneOrMany, RawInterface, RawPool, RawTopology};
use super::*;
use std::collections::{BTreeMap, HashMap};
use toml::Spanned;

pub(super) fn parse(source: SourceFile) -> Result<Topology, TopologyError> {
    let raw: RawTopology = match toml::from_str(&source.text) {
        Ok(raw) => raw,
        Err(e) => {
            let finding = Finding::error(Code::Syntax, e.message().trim().to_string())
                .help(syntax_hint(e.message()))
                .at(&source, e.span());
            return Err(TopologyError {
                file: source.name.clone(),
                problems: vec![finding],
            });
        }
    };
    let mut v = Validator {
        source,
        problems: Vec::new(),
        version: Default::default(),
    };
    let topology = v.topology(raw);
    if v.problems.is_empty() {
        Ok(topology)
    } else {
        Err(TopologyError {
            file: v.source.name.clone(),
            problems: v.problems,
        })
    }
}

fn syntax_hint(message: &str) -> String {
    if message.contains("unknown field") {
        "check the spelling; the topology format is described in the README (`portplan check --help`)"
            .into()
    } else if message.contains("missing field") {
        "add the field; every zone, firewall interface, pool, server and VIP needs it".into()
    } else if message.contains("invalid type") {
        "the value has the wrong type: addresses and names are quoted strings, switches are true/false"
            .into()
    } else if message.contains("IP") || message.contains("address") || message.contains("prefix") {
        "write IPv4 as 192.0.2.10, IPv6 as 2001:db8::10, networks with a prefix length (192.0.2.0/24)"
            .into()
    } else {
        "fix the TOML syntax at this position".into()
    }
}

struct Validator {
    source: SourceFile,
    problems: Vec<Finding>,
    /// The file's product release (read before the pools: some of their rules depend on it).
    version: crate::catalog::Version,
}

type AddressField = Option<Spanned<OneOrMany<IpAddr>>>;

fn span_of<T>(s: &Spanned<T>) -> Span {
    s.span()
}

impl Validator {
    fn error(&mut self, code: Code, span: Span, message: String, help: impl Into<String>) {
        let f = Finding::error(code, message)
            .help(help)
            .at(&self.source, Some(span));
        self.problems.push(f);
    }

    fn parse_enum<T: FromStr<Err = String>>(
        &mut self,
        code: Code,
        value: &Spanned<String>,
    ) -> Option<T> {
        match value.get_ref().parse::<T>() {
            Ok(t) => Some(t),
            Err(e) => {
                self.error(code, span_of(value), e, "use one of the listed values");
                None
            }
        }
    }

    fn topology(&mut self, raw: RawTopology) -> Topology {
        let name = raw
            .name
            .as_ref()
            .map(|n| n.get_ref().clone())
            .unwrap_or_else(|| "topology".into());

        let mut features = BTreeSet::new();
        let mut feature_spans = Vec::new();
        for (key, on) in &raw.features {
            match key.get_ref().parse::<Feature>() {
                Ok(f) => {
                    feature_spans.push((f, span_of(key)));
                    if *on.get_ref() {
                        features.insert(f);
                    }
                }
                Err(e) => self.error(
                    Code::UnknownFeature,
                    span_of(key),
                    e,
                    "features are switched on with `name = true` under [features]",
                ),
            }
        }

        let mut extra_scenarios = Vec::new();
        if let Some(list) = &raw.options.scenarios {
            for id in list {
                if crate::catalog::Catalog::builtin()
                    .scenario(id.get_ref())
                    .is_some()
                {
                    extra_scenarios.push(id.get_ref().clone());
                } else {
                    self.error(
                        Code::UnknownScenario,
                        span_of(id),
                        format!("`{}` is not a catalog scenario", id.get_ref()),
                        "`portplan catalog --scenario` lists them (e.g. autodiscover, public-im)",
                    );
                }
            }
        }

        self.version = super::version::version_of(&raw);
        let zones = self.zones(&raw);
        let zone_names: Vec<String> = zones.iter().map(|z| z.name.clone()).collect();
        let firewalls = self.firewalls(&raw, &zones);
        let pools: Vec<Pool> = raw
            .pools
            .iter()
            .filter_map(|p| self.pool(p, &zones))
            .collect();
        self.unique_names(&raw);
        for bad in super::names::check(&raw) {
            self.error(bad.code, bad.span, bad.message, bad.help);
        }

        let mut clients = Vec::new();
        for c in &raw.clients {
            let c = c.get_ref();
            if self.known_zone(&c.zone, &zone_names) {
                let zone = zones.iter().find(|z| &z.name == c.zone.get_ref());
                for net in &c.networks.get_ref().0 {
                    if let Some(zone) = zone
                        && !zone.networks.iter().any(|n| n.contains(net))
                    {
                        self.error(
                            Code::OutsideZone,
                            span_of(&c.networks),
                            format!(
                                "client network {net} is outside zone `{}` ({})",
                                zone.name,
                                join(&zone.networks)
                            ),
                            "move the network into the zone's address space or pick the right zone",
                        );
                    }
                }
            }
            clients.push(ClientNetwork {
                name: c.name.get_ref().clone(),
                zone: c.zone.get_ref().clone(),
                networks: c.networks.get_ref().0.clone(),
            });
        }

        let mut partners = Vec::new();
        for p in &raw.partners {
            let p = p.get_ref();
            let kind = match &p.kind {
                Some(k) => k.get_ref().parse::<PartnerKind>().unwrap_or_else(|_| {
                    self.error(
                        Code::PartnerKind,
                        span_of(k),
                        format!("unknown partner kind `{}`", k.get_ref()),
                        "use `sip` for SIP federation, `xmpp` for XMPP federation or `public-im` for a public IM provider",
                    );
                    PartnerKind::Sip
                }),
                None => PartnerKind::Sip,
            };
            partners.push(Partner {
                name: p.name.get_ref().clone(),
                kind,
                networks: p.networks.get_ref().0.clone(),
            });
        }

        let mut topology = Topology {
            name,
            description: raw.description.as_ref().map(|d| d.get_ref().clone()),
            version: super::version::version_of(&raw),
            features,
            narrow_any: raw
                .options
                .narrow_any
                .as_ref()
                .map(|b| *b.get_ref())
                .unwrap_or(false),
            extra_scenarios,
            zones,
            firewalls,
            pools,
            clients,
            partners,
            source: self.source.clone(),
            feature_spans,
            narrow_any_span: raw.options.narrow_any.as_ref().map(span_of),
            hybrid: None,
        };
        self.duplicate_addresses(&topology);
        self.features_need_roles(&topology, &raw);
        self.problems
            .extend(super::version::check(&self.source, &raw, &topology));
        self.nat_entries(&topology);
        self.most_specific_zone(&topology);
        self.duplicate_networks(&topology, &raw);
        self.gateways(&topology, &raw);
        self.partners(&topology, &raw);
        self.used_fields(&topology, &raw);
        self.problems
            .extend(super::hybrid::resolve(&self.source, &raw, &mut topology));
        topology
    }

    fn zones(&mut self, raw: &RawTopology) -> Vec<Zone> {
        if raw.zones.is_empty() {
            self.error(
                Code::NoZones,
                0..0,
                "the topology defines no [[zone]]".into(),
                "add the networks: an internet zone, the perimeter zone(s) and the internal zone",
            );
        }
        let mut zones = Vec::new();
        for z in &raw.zones {
            let z_span = span_of(z);
            let z = z.get_ref();
            let kind = self.parse_enum::<ZoneKind>(Code::ZoneKind, &z.kind);
            let networks = z.networks.get_ref().0.clone();
            if networks.is_empty() {
                self.error(
                    Code::EmptyZone,
                    span_of(&z.networks),
                    format!("zone `{}` has no networks", z.name.get_ref()),
                    "list the zone's address ranges, e.g. networks = [\"10.0.0.0/16\"]",
                );
            }
            for net in &networks {
                if net.trunc() != *net {
                    self.error(
                        Code::HostBits,
                        span_of(&z.networks),
                        format!("network {net} has host bits set"),
                        format!("did you mean {}?", net.trunc()),
                    );
                }
            }
            zones.push(Zone {
                name: z.name.get_ref().clone(),
                kind: kind.unwrap_or(ZoneKind::Internal),
                networks,
                span: z_span,
            });
        }
        zones
    }

    fn known_zone(&mut self, zone: &Spanned<String>, zones: &[String]) -> bool {
        if zones.iter().any(|z| z == zone.get_ref()) {
            return true;
        }
        self.error(
            Code::UnknownZone,
            span_of(zone),
            format!("zone `{}` is not defined", zone.get_ref()),
            format!("defined zones: {}", zones.join(", ")),
        );
        false
    }

    /// Reports server and VIP addresses that a more specific network of another zone holds: routing
    /// (and the plan's `any`) puts them in that zone, whatever the interface says.
    fn most_specific_zone(&mut self, t: &Topology) {
        let mut found = Vec::new();
        for (_, server) in t.servers() {
            for i in &server.interfaces {
                for a in &i.addresses {
                    found.push((
                        format!("`{}` address", server.name),
                        a.ip,
                        i.zone.clone(),
                        i.span.clone(),
                    ));
                }
            }
        }
        for pool in &t.pools {
            for vip in &pool.vips {
                for ip in &vip.addresses {
                    found.push((
                        format!("`{}` VIP", pool.name),
                        *ip,
                        vip.zone.clone(),
                        vip.span.clone(),
                    ));
                }
            }
        }
        for (what, ip, declared, span) in found {
            let Some(zone) = t.zone_of_net(&IpNet::from(ip)) else {
                continue; // outside every zone: reported as outside-zone already
            };
            if zone != declared
                && t.zone(&declared)
                    .is_some_and(|z| z.networks.iter().any(|n| n.contains(&ip)))
            {
                self.error(
                    Code::InOtherZone,
                    span,
                    format!(
                        "{what} {ip} is declared in zone `{declared}`, but zone `{zone}` holds it by a more specific network"
                    ),
                    "routing follows the most specific network: put the address in that zone, or take the network out of it",
                );
            }
        }
    }

    /// Reports addresses that fall outside the zone they are declared in.
    fn inside_zone(&mut self, what: &str, ips: &[IpNet], zone: Option<&Zone>, span: Span) {
        let Some(zone) = zone else { return };
        for ip in ips {
            if !zone.networks.iter().any(|n| n.contains(ip)) {
                let ip = if ip.prefix_len() == ip.max_prefix_len() {
                    ip.addr().to_string()
                } else {
                    ip.to_string()
                };
                self.error(
                    Code::OutsideZone,
                    span.clone(),
                    format!(
                        "{what} {ip} is outside zone `{}` ({})",
                        zone.name,
                        join(&zone.networks)
                    ),
                    "fix the address, or put it in the zone whose network contains it",
                );
            }
        }
    }

    fn firewalls(&mut self, raw: &RawTopology, zones: &[Zone]) -> Vec<Firewall> {
        let zone_names: Vec<String> = zones.iter().map(|z| z.name.clone()).collect();
        let mut out = Vec::new();
        for fw in &raw.firewalls {
            let fw_span = span_of(fw);
            let fw = fw.get_ref();
            if fw.interfaces.len() < 2 {
                self.error(
                    Code::FirewallLegs,
                    span_of(&fw.name),
                    format!(
                        "firewall `{}` has {} interface(s); a firewall joins at least two zones",
                        fw.name.get_ref(),
                        fw.interfaces.len()
                    ),
                    "add an [[firewall.interface]] for each zone it connects",
                );
            }
            let mut seen: HashMap<String, Span> = HashMap::new();
            let mut interfaces = Vec::new();
            for i in &fw.interfaces {
                let i = i.get_ref();
                if seen
                    .insert(i.name.get_ref().clone(), span_of(&i.name))
                    .is_some()
                {
                    self.error(
                        Code::DuplicateName,
                        span_of(&i.name),
                        format!(
                            "firewall `{}` has two interfaces named `{}`",
                            fw.name.get_ref(),
                            i.name.get_ref()
                        ),
                        "interface names must be unique within a firewall",
                    );
                }
                let addresses: Vec<IpNet> = i
                    .address
                    .as_ref()
                    .map(|a| a.get_ref().0.clone())
                    .unwrap_or_default();
                if self.known_zone(&i.zone, &zone_names) {
                    let zone = zones.iter().find(|z| &z.name == i.zone.get_ref());
                    if let Some(a) = &i.address {
                        let hosts: Vec<IpNet> =
                            addresses.iter().map(|n| IpNet::from(n.addr())).collect();
                        self.inside_zone("firewall address", &hosts, zone, span_of(a));
                    }
                }
                interfaces.push(FirewallInterface {
                    name: i.name.get_ref().clone(),
                    zone: i.zone.get_ref().clone(),
                    addresses,
                });
            }
            let mut nat = Vec::new();
            for n in &fw.nat {
                let n_span = span_of(n);
                let n = n.get_ref();
                let interface = match &n.interface {
                    Some(name) => {
                        if !interfaces.iter().any(|i| &i.name == name.get_ref()) {
                            self.error(
                                Code::NatInterface,
                                span_of(name),
                                format!(
                                    "firewall `{}` has no interface `{}`",
                                    fw.name.get_ref(),
                                    name.get_ref()
                                ),
                                format!(
                                    "use one of: {}",
                                    interfaces
                                        .iter()
                                        .map(|i| i.name.as_str())
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                            );
                        }
                        name.get_ref().clone()
                    }
                    None => {
                        let outside = interfaces.iter().find(|i| {
                            zones
                                .iter()
                                .any(|z| z.name == i.zone && z.kind == ZoneKind::Internet)
                        });
                        match outside {
                            Some(i) => i.name.clone(),
                            None => {
                                self.error(
                                    Code::NatInterface,
                                    n_span.clone(),
                                    format!(
                                        "firewall `{}` has no interface in an internet zone for this NAT entry",
                                        fw.name.get_ref()
                                    ),
                                    "name the public side with interface = \"...\"",
                                );
                                String::new()
                            }
                        }
                    }
                };
                let (public, private) = (*n.public.get_ref(), *n.private.get_ref());
                if public.is_ipv4() != private.is_ipv4() {
                    self.error(
                        Code::NatFamily,
                        n_span.clone(),
                        format!("NAT maps {private} to {public}: the address families differ"),
                        "static NAT keeps the family: pair IPv4 with IPv4",
                    );
                }
                nat.push(StaticNat {
                    public,
                    private,
                    interface,
                    span: n_span,
                });
            }
            out.push(Firewall {
                name: fw.name.get_ref().clone(),
                interfaces,
                nat,
                span: fw_span,
            });
        }
        out
    }

    fn pool(&mut self, raw_pool: &Spanned<RawPool>, zones: &[Zone]) -> Option<Pool> {
        let pool_span = span_of(raw_pool);
        let p = raw_pool.get_ref();
        let role = self.parse_enum::<ServerRole>(Code::PoolRole, &p.role)?;
        let pool_name = p.name.get_ref().clone();
        let load_balancing = match &p.load_balancing {
            Some(lb) => self.parse_enum::<LoadBalancing>(Code::LoadBalancing, lb)?,
            None => super::roles::default_mode(p.servers.len()),
        };
        let lb_span = p
            .load_balancing
            .as_ref()
            .map(span_of)
            .unwrap_or_else(|| span_of(&p.name));
        let rules = super::roles::rules(role);
        let mode = rules.and_then(|r| r.mode(load_balancing));
        if let (Some(rules), None) = (rules, mode) {
            let defaulted = if p.load_balancing.is_none() {
                format!(
                    " (no load_balancing is given, and a pool of {} servers defaults to `dns`)",
                    p.servers.len()
                )
            } else {
                String::new()
            };
            self.error(
                Code::UnsupportedLoadBalancing,
                lb_span.clone(),
                format!(
                    "{role} pool `{pool_name}` uses load balancing `{}`, which a {role} pool does not support{defaulted}",
                    load_balancing.as_str()
                ),
                rules.refusal_hint(load_balancing),
            );
        }
        if load_balancing == LoadBalancing::None && p.servers.len() > 1 {
            let hint = match rules {
                Some(r) if !r.balances() => {
                    format!("a {role} pool holds one server: give each {role} its own [[pool]]")
                }
                Some(r) => format!(
                    "a pool of several servers is balanced: {}",
                    r.modes
                        .iter()
                        .filter(|m| m.mode != LoadBalancing::None)
                        .map(|m| format!("`{}`", m.mode.as_str()))
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
                None => "a pool of several servers is balanced".into(),
            };
            self.error(
                Code::SingleServerPool,
                lb_span.clone(),
                format!(
                    "pool `{pool_name}` has {} servers but load balancing `none`",
                    p.servers.len()
                ),
                hint,
            );
        }
        if p.servers.is_empty() {
            self.error(
                Code::EmptyPool,
                span_of(&p.name),
                format!("pool `{pool_name}` has no servers"),
                "add at least one [[pool.server]] with its interface(s)",
            );
        }
        if let Some(cms) = &p.cms
            && *cms.get_ref()
            && !rules.is_some_and(|r| r.cms)
        {
            self.error(
                Code::CmsRole,
                span_of(cms),
                format!("pool `{pool_name}` is a {role} pool; only a Front End pool holds the Central Management store"),
                "remove `cms`, or set it on the Front End pool",
            );
        }

        let zone_names: Vec<String> = zones.iter().map(|z| z.name.clone()).collect();
        let allowed: Vec<VipService> = rules.map(|r| r.vip_services()).unwrap_or_default();
        let mut vips = Vec::new();
        for v in &p.vips {
            let v_span = span_of(v);
            let v = v.get_ref();
            let Some(service) = self.parse_enum::<VipService>(Code::VipService, &v.service) else {
                continue;
            };
            if !allowed.contains(&service) {
                self.error(
                    Code::VipService,
                    span_of(&v.service),
                    format!("a {role} pool has no `{}` VIP", service.as_str()),
                    if allowed.is_empty() {
                        format!("a {role} pool has no VIPs; remove the [[pool.vip]]")
                    } else {
                        format!(
                            "use {}",
                            allowed
                                .iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    },
                );
            }
            if vips.iter().any(|x: &Vip| x.service == service) {
                self.error(
                    Code::DuplicateVip,
                    span_of(&v.service),
                    format!("pool `{pool_name}` has two `{}` VIPs", service.as_str()),
                    "list every address of one VIP in its `address` array",
                );
            }
            let addresses = v.address.get_ref().0.clone();
            if addresses.is_empty() {
                self.error(
                    Code::EmptyVip,
                    span_of(&v.address),
                    "the VIP has no address".into(),
                    "give the VIP its address, e.g. address = \"203.0.113.10\"",
                );
            }
            if self.known_zone(&v.zone, &zone_names) {
                let zone = zones.iter().find(|z| &z.name == v.zone.get_ref());
                let nets: Vec<IpNet> = addresses.iter().map(|a| IpNet::from(*a)).collect();
                self.inside_zone("VIP", &nets, zone, span_of(&v.address));
            }
            vips.push(Vip {
                service,
                zone: v.zone.get_ref().clone(),
                addresses,
                snat: v.snat.as_ref().map(|s| *s.get_ref()).unwrap_or(false),
                span: v_span,
                snat_span: v.snat.as_ref().map(span_of),
            });
        }
        if let Some(mode) = mode {
            for need in mode.vips {
                if super::roles::vip_optional(role, load_balancing, *need, self.version) {
                    continue; // its absence is a note of the lint (lint_sfb)
                }
                if !vips.iter().any(|v| v.service == *need) {
                    self.error(
                        Code::MissingVip,
                        span_of(&p.name),
                        format!(
                            "{role} pool `{pool_name}` with load balancing `{}` needs a `{}` VIP",
                            load_balancing.as_str(),
                            need.as_str()
                        ),
                        format!(
                            "add [[pool.vip]] with service = \"{}\", its zone and address (the address the load balancer answers on)",
                            need.as_str()
                        ),
                    );
                }
            }
            for vip in vips.iter().filter(|v| !mode.vips.contains(&v.service)) {
                if !allowed.contains(&vip.service) {
                    continue; // already refused as a service the role lacks
                }
                let modes: Vec<String> = rules
                    .map(|r| {
                        r.modes
                            .iter()
                            .filter(|m| m.vips.contains(&vip.service))
                            .map(|m| format!("`{}`", m.mode.as_str()))
                            .collect()
                    })
                    .unwrap_or_default();
                self.error(
                    Code::UnusedVip,
                    vip.span.clone(),
                    format!(
                        "{role} pool `{pool_name}` uses load balancing `{}`, so its `{}` VIP would carry no traffic",
                        load_balancing.as_str(),
                        vip.service.as_str()
                    ),
                    format!(
                        "remove the [[pool.vip]], or set load_balancing to {}",
                        modes.join(" or ")
                    ),
                );
            }
        }

        let mut servers = Vec::new();
        for s in &p.servers {
            let s_span = span_of(s);
            let s = s.get_ref();
            let mut interfaces = Vec::new();
            if s.interfaces.is_empty() {
                self.error(
                    Code::NoInterface,
                    span_of(&s.name),
                    format!("server `{}` has no interface", s.name.get_ref()),
                    "add [[pool.server.interface]] with its name, zone and address",
                );
            }
            for i in &s.interfaces {
                if let Some(iface) = self.interface(role, s.name.get_ref(), i, zones) {
                    interfaces.push(iface);
                }
            }
            self.role_interfaces(role, s.name.get_ref(), &s.name, &interfaces);
            servers.push(Server {
                name: s.name.get_ref().clone(),
                interfaces,
                span: s_span,
            });
        }
        Some(Pool {
            name: pool_name,
            role,
            load_balancing,
            cms: p.cms.as_ref().map(|c| *c.get_ref()).unwrap_or(false),
            published: p
                .published
                .as_ref()
                .map(|n| n.get_ref().0.clone())
                .unwrap_or_default(),
            vips,
            servers,
            span: pool_span,
        })
    }

    fn interface(
        &mut self,
        role: ServerRole,
        server: &str,
        i: &Spanned<RawInterface>,
        zones: &[Zone],
    ) -> Option<Interface> {
        let i_span = span_of(i);
        let i = i.get_ref();
        let zone_names: Vec<String> = zones.iter().map(|z| z.name.clone()).collect();
        let zone_ok = self.known_zone(&i.zone, &zone_names);
        let zone = zones.iter().find(|z| &z.name == i.zone.get_ref());
        let mut addresses = Vec::new();
        let groups: [(&AddressField, AddressUse, &str); 4] = [
            (&i.address, AddressUse::Host, "address"),
            (&i.access, AddressUse::Access, "access"),
            (&i.webconf, AddressUse::Webconf, "webconf"),
            (&i.av, AddressUse::Av, "av"),
        ];
        let leg = i.name.get_ref().as_str();
        let rules = super::roles::rules(role);
        let legs = rules.map(|r| r.legs).unwrap_or_default();
        let leg_rule = legs.iter().find(|l| l.leg.as_str() == leg);
        if !legs.is_empty() && leg_rule.is_none() {
            self.error(
                Code::UnusedInterface,
                span_of(&i.name),
                format!("{role} server `{server}` has an interface `{leg}`, which no rule would use"),
                format!("a {role} server's rules come from its `external` and `internal` legs only: rename or remove this one"),
            );
        }
        for (field, usage, key) in groups {
            let Some(field) = field else { continue };
            let service_addresses = rules.is_some_and(|r| r.has_service_addresses());
            let leg_mismatch =
                service_addresses && leg_rule.is_some_and(|l| !l.uses.contains(&usage));
            if leg_mismatch {
                self.error(
                    Code::UnusedAddress,
                    span_of(field),
                    format!("`{key}` on the `{leg}` interface of Edge server `{server}` would be used by nothing"),
                    if leg == Leg::External.as_str() {
                        "the external leg is addressed per service: use access, webconf and av"
                    } else {
                        "the internal leg has one `address`; the service addresses belong on the external leg"
                    },
                );
                continue;
            }
            if usage != AddressUse::Host && !service_addresses {
                self.error(
                    Code::EdgeOnlyKey,
                    span_of(field),
                    format!("`{key}` addresses only exist on an Edge server's external interface"),
                    "use `address` for this server",
                );
                continue;
            }
            if zone_ok {
                let nets: Vec<IpNet> = field.get_ref().0.iter().map(|a| IpNet::from(*a)).collect();
                self.inside_zone("address", &nets, zone, span_of(field));
            }
            for ip in &field.get_ref().0 {
                addresses.push(InterfaceAddress { ip: *ip, usage });
            }
        }
        self.shared_service_addresses(server, &addresses, i_span.clone());
        if addresses.is_empty() {
            self.error(
                Code::NoAddress,
                span_of(&i.name),
                format!(
                    "interface `{}` of server `{server}` has no address",
                    i.name.get_ref()
                ),
                if role == ServerRole::Edge {
                    "an Edge external interface lists access, webconf and av; the internal one lists address"
                } else {
                    "add address = \"<ip>\" (or a list with IPv4 and IPv6)"
                },
            );
        }
        let _ = zone_ok;
        Some(Interface {
            name: i.name.get_ref().clone(),
            zone: i.zone.get_ref().clone(),
            addresses,
            gateway: i
                .gateway
                .as_ref()
                .map(|g| g.get_ref().0.clone())
                .unwrap_or_default(),
            routes: i
                .routes
                .as_ref()
                .map(|r| r.get_ref().0.clone())
                .unwrap_or_default(),
            span: i_span,
        })
    }

    /// One address for several Edge services is the Edge page's single-address design: the services
    /// then differ by port, which the topology cannot say and the catalog's rows do not carry (every
    /// row gives its service the default port, 443 for all three), so planning it would merge three
    /// services into one rule on the wrong ports. Refused, naming the services, rather than planned.
    fn shared_service_addresses(
        &mut self,
        server: &str,
        addresses: &[InterfaceAddress],
        span: Span,
    ) {
        let mut seen: Vec<(IpAddr, Vec<&'static str>)> = Vec::new();
        for a in addresses {
            let key = match a.usage {
                AddressUse::Access => "access",
                AddressUse::Webconf => "webconf",
                AddressUse::Av => "av",
                AddressUse::Host => continue,
            };
            match seen.iter_mut().find(|(ip, _)| *ip == a.ip) {
                Some((_, keys)) if !keys.contains(&key) => keys.push(key),
                Some(_) => {}
                None => seen.push((a.ip, vec![key])),
            }
        }
        for (ip, keys) in seen.into_iter().filter(|(_, k)| k.len() > 1) {
            self.error(
                Code::SharedServiceAddress,
                span.clone(),
                format!(
                    "Edge server `{server}` uses {ip} for {}: with one address the Edge services must listen on different ports, and portplan plans every service on its default port (443), so it would open one rule for all of them",
                    keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(" and ")
                ),
                "give access, webconf and av an address each (the design the port tables describe and Microsoft recommends); portplan does not plan the single-address, per-service-port design",
            );
        }
    }

    /// Multi-homed roles need their two named legs.
    fn role_interfaces(
        &mut self,
        role: ServerRole,
        server: &str,
        name: &Spanned<String>,
        interfaces: &[Interface],
    ) {
        let needs = super::roles::rules(role)
            .map(|r| r.legs)
            .unwrap_or_default();
        for super::roles::LegRule { leg, uses } in needs {
            match interfaces.iter().find(|i| i.name == leg.as_str()) {
                None => self.error(
                    Code::MissingInterface,
                    span_of(name),
                    format!("{role} server `{server}` has no `{leg}` interface"),
                    format!(
                        "{role} servers are multi-homed: add interfaces named `external` and `internal`"
                    ),
                ),
                Some(iface) => {
                    for usage in *uses {
                        if iface.ips(*usage).next().is_none() {
                            let key = match usage {
                                AddressUse::Host => "address",
                                AddressUse::Access => "access",
                                AddressUse::Webconf => "webconf",
                                AddressUse::Av => "av",
                            };
                            self.error(
                                Code::MissingAddress,
                                iface.span.clone(),
                                format!("`{leg}` interface of `{server}` lacks `{key}`"),
                                format!("add {key} = \"<ip>\" to this interface"),
                            );
                        }
                    }
                }
            }
        }
    }

    fn unique_names(&mut self, raw: &RawTopology) {
        // compared without case: the names become file names (`render -o DIR`), and Windows and
        // macOS file systems would let FW-EDGE.nft and fw-edge.nft overwrite each other
        let mut seen: BTreeMap<(&str, String), String> = BTreeMap::new();
        let mut check =
            |kind: &'static str, name: &Spanned<String>, problems: &mut Vec<(Span, String)>| {
                let key = (kind, name.get_ref().to_lowercase());
                match seen.get(&key) {
                    Some(first) => problems.push((span_of(name), first.clone())),
                    None => {
                        seen.insert(key, name.get_ref().clone());
                    }
                }
            };
        let mut dup: Vec<((Span, String), &'static str)> = Vec::new();
        let mut spans = Vec::new();
        for z in &raw.zones {
            check("zone", &z.get_ref().name, &mut spans);
        }
        dup.extend(spans.drain(..).map(|s| (s, "zone")));
        for f in &raw.firewalls {
            check("firewall", &f.get_ref().name, &mut spans);
        }
        dup.extend(spans.drain(..).map(|s| (s, "firewall")));
        for p in &raw.pools {
            check("pool", &p.get_ref().name, &mut spans);
            for s in &p.get_ref().servers {
                check("server", &s.get_ref().name, &mut spans);
            }
        }
        dup.extend(spans.drain(..).map(|s| (s, "pool or server")));
        for ((span, first), kind) in dup {
            let name = self.source.text[span.clone()].trim_matches('"').to_string();
            if name == first {
                self.error(
                    Code::DuplicateName,
                    span,
                    format!("{kind} name {name} is used twice"),
                    "names identify things in rules and reports; give each its own",
                );
            } else {
                self.error(
                    Code::DuplicateName,
                    span,
                    format!("{kind} name {name} differs from {first} only in case"),
                    "the names become file names, and Windows and macOS file systems do not tell \
                     them apart: give each a name of its own",
                );
            }
        }
        // `between`, `probe --from` and the report look names up across zones, pools, servers,
        // client networks and partners: one name, one thing (a pool may share its name with its
        // only server, which stands for the same addresses)
        let mut owner: BTreeMap<String, (&'static str, Option<String>)> = BTreeMap::new();
        let mut clashes: Vec<(Span, String, &'static str, &'static str)> = Vec::new();
        let mut claim = |kind: &'static str, pool: Option<String>, name: &Spanned<String>| {
            let key = name.get_ref().clone();
            match owner.get(&key) {
                Some((k, _)) if *k == kind => {} // same kind: duplicate-name above
                Some((k, p))
                    if (*k == "pool" && kind == "server" && p.as_ref() == Some(&key))
                        || (*k == "server" && kind == "pool" && pool.as_ref() == Some(&key)) => {}
                Some((k, _)) => clashes.push((span_of(name), key, k, kind)),
                None => {
                    owner.insert(key, (kind, pool));
                }
            }
        };
        for z in &raw.zones {
            claim("zone", None, &z.get_ref().name);
        }
        for p in &raw.pools {
            let pool = p.get_ref();
            let only = (pool.servers.len() == 1).then(|| pool.name.get_ref().clone());
            claim("pool", only.clone(), &pool.name);
            for s in &pool.servers {
                claim("server", only.clone(), &s.get_ref().name);
            }
        }
        for c in &raw.clients {
            claim("client network", None, &c.get_ref().name);
        }
        for p in &raw.partners {
            claim("partner", None, &p.get_ref().name);
        }
        for (span, name, first, second) in clashes {
            self.error(
                Code::AmbiguousName,
                span,
                format!("{second} `{name}` has the name of a {first}"),
                "between, probe --from and the report find things by name: give each its own",
            );
        }
    }

    fn duplicate_addresses(&mut self, t: &Topology) {
        let mut owners: HashMap<IpAddr, String> = HashMap::new();
        let mut clashes = Vec::new();
        let mut claim = |ip: IpAddr, owner: String, span: Span| {
            if let Some(prev) = owners.get(&ip) {
                if *prev != owner {
                    clashes.push((span, ip, prev.clone(), owner));
                }
            } else {
                owners.insert(ip, owner);
            }
        };
        for pool in &t.pools {
            for s in &pool.servers {
                for i in &s.interfaces {
                    for a in &i.addresses {
                        claim(a.ip, format!("server {}", s.name), i.span.clone());
                    }
                }
            }
            for v in &pool.vips {
                for ip in &v.addresses {
                    claim(
                        *ip,
                        format!("VIP {}/{}", pool.name, v.service.as_str()),
                        v.span.clone(),
                    );
                }
            }
        }
        for fw in &t.firewalls {
            for i in &fw.interfaces {
                for a in &i.addresses {
                    claim(a.addr(), format!("firewall {}", fw.name), fw.span.clone());
                }
            }
        }
        for (span, ip, a, b) in clashes {
            self.error(
                Code::DuplicateAddress,
                span,
                format!("address {ip} is used by both {a} and {b}"),
                "every server interface, service address and VIP needs its own address",
            );
        }
    }

    /// A static NAT entry must publish an address the topology has, on another side of its firewall.
    fn nat_entries(&mut self, t: &Topology) {
        let mut seen: HashMap<IpAddr, Span> = HashMap::new();
        for fw in &t.firewalls {
            for n in &fw.nat {
                for ip in [n.public, n.private] {
                    if seen.insert(ip, n.span.clone()).is_some() {
                        self.error(
                            Code::DuplicateNat,
                            n.span.clone(),
                            format!("address {ip} appears in two NAT entries"),
                            "static NAT is one-to-one: every public and private address once",
                        );
                    }
                }
                let owner = t.servers().find_map(|(_, s)| {
                    s.interfaces
                        .iter()
                        .find(|i| i.addresses.iter().any(|a| a.ip == n.private))
                        .map(|i| (s, i))
                });
                let Some((server, iface)) = owner else {
                    self.error(
                        Code::NatPrivate,
                        n.span.clone(),
                        format!("private address {} belongs to no server interface", n.private),
                        "NAT publishes a server's own address: use one from a [[pool.server.interface]]",
                    );
                    continue;
                };
                let on_firewall = fw
                    .interfaces
                    .iter()
                    .any(|i| i.zone == iface.zone && i.name != n.interface);
                if !on_firewall {
                    self.error(
                        Code::NatPrivate,
                        n.span.clone(),
                        format!(
                            "{}'s address {} is in zone `{}`, which firewall `{}` does not reach on an inside interface",
                            server.name, n.private, iface.zone, fw.name
                        ),
                        "put the NAT entry on the firewall in front of that zone",
                    );
                }
                // the public side must be an address the internet can reach: not unspecified,
                // loopback, multicast or link-local, not in a perimeter or internal zone (by the
                // most specific network that holds it), and not the firewall's own address
                let p = n.public;
                let reserved = p.is_unspecified()
                    || p.is_loopback()
                    || p.is_multicast()
                    || matches!(p, IpAddr::V4(v) if v.is_link_local() || v.is_broadcast())
                    || matches!(p, IpAddr::V6(v) if v.is_unicast_link_local());
                let zone = t.zone_of_net(&IpNet::from(p));
                let inner = zone
                    .as_deref()
                    .and_then(|z| t.zone(z))
                    .filter(|z| z.kind != ZoneKind::Internet);
                let firewall_own = t.firewalls.iter().find(|f| {
                    f.interfaces
                        .iter()
                        .any(|i| i.addresses.iter().any(|a| a.addr() == p))
                });
                if reserved {
                    self.error(
                        Code::NatPublic,
                        n.span.clone(),
                        format!("public address {p} cannot be reached from the internet"),
                        "use the address the internet side of the NAT publishes",
                    );
                } else if let Some(z) = inner {
                    self.error(
                        Code::NatPublic,
                        n.span.clone(),
                        format!(
                            "public address {p} lies in zone `{}` ({}), not on the internet side",
                            z.name,
                            if z.kind == ZoneKind::Internal { "internal" } else { "perimeter" }
                        ),
                        "the public side of a static NAT is an internet address (the private side is the server's)",
                    );
                } else if let Some(f) = firewall_own {
                    self.error(
                        Code::NatPublic,
                        n.span.clone(),
                        format!("public address {p} is firewall `{}`'s own interface address", f.name),
                        "publish the server on an address of its own (port forwarding from the firewall's address is not static NAT)",
                    );
                }
                if t.servers().any(|(_, s)| {
                    s.interfaces
                        .iter()
                        .any(|i| i.addresses.iter().any(|a| a.ip == n.public))
                }) {
                    self.error(
                        Code::NatPublic,
                        n.span.clone(),
                        format!("public address {} is also a server address", n.public),
                        "the public side of a static NAT lives on the firewall only",
                    );
                }
            }
        }
    }

    fn features_need_roles(&mut self, t: &Topology, raw: &RawTopology) {
        let has = |r: ServerRole| t.pools.iter().any(|p| p.role == r);
        for (feature, span) in &t.feature_spans {
            if !t.features.contains(feature) {
                continue;
            }
            let needs: &[ServerRole] = match feature {
                Feature::Federation | Feature::Ocs2007Federation => &[ServerRole::Edge],
                Feature::Xmpp => &[ServerRole::Edge, ServerRole::FrontEnd],
                Feature::MobilityAutodiscoverHttp => &[ServerRole::ReverseProxy],
                Feature::OfficeWebApps => &[ServerRole::OfficeWebApps, ServerRole::ReverseProxy],
                Feature::CentralizedLogging | Feature::InternalServers | Feature::SipTcp5060 => &[],
                Feature::PublicIm => &[ServerRole::Edge],
                Feature::CollocatedMediation => &[ServerRole::FrontEnd],
                Feature::VideoScreenSharing => &[ServerRole::FrontEnd],
                // checked with the [hybrid] section (hybrid.rs)
                Feature::Hybrid => &[],
            };
            for need in needs {
                if !has(*need) {
                    self.error(
                        Code::FeatureNeedsRole,
                        span.clone(),
                        format!(
                            "feature `{feature}` needs {}, and the topology has none",
                            super::finding::with_article(need.description())
                        ),
                        format!(
                            "add a [[pool]] with role = \"{need}\", or set `{feature} = false`"
                        ),
                    );
                }
            }
        }
        if t.has_feature(Feature::Ocs2007Federation)
            && !t.has_feature(Feature::Federation)
            && let Some((_, span)) = t
                .feature_spans
                .iter()
                .find(|(f, _)| *f == Feature::Ocs2007Federation)
        {
            self.error(
                Code::FeatureNeedsFeature,
                span.clone(),
                "`ocs2007-federation` adds media ranges to federation, but `federation` is off"
                    .into(),
                "set federation = true as well",
            );
        }
        let _ = raw;
    }
}

fn join(nets: &[IpNet]) -> String {
    nets.iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The longest `description` accepted; it is shown in the HTML report.
const MAX_DESCRIPTION: usize = 2_000;

/// Checks that need the whole model: networks shared by zones, gateways, partners, and fields that
/// only mean something on some roles (so a value nothing reads is refused, not silently dropped).
impl Validator {
    /// Zones may nest (the more specific one wins), but one network in two zones has no owner.
    fn duplicate_networks(&mut self, t: &Topology, raw: &RawTopology) {
        let mut seen: Vec<(IpNet, String)> = Vec::new();
        for (zone, rz) in t.zones.iter().zip(&raw.zones) {
            let span = span_of(&rz.get_ref().networks);
            let mut own = 0;
            for net in &zone.networks {
                match seen.iter().find(|(n, _)| n == net) {
                    Some((_, other)) => {
                        let what = if other == &zone.name {
                            format!("zone `{}` lists network {net} twice", zone.name)
                        } else {
                            format!(
                                "network {net} of zone `{}` is also a network of zone `{other}`",
                                zone.name
                            )
                        };
                        self.error(
                            Code::DuplicateNetwork,
                            span.clone(),
                            what,
                            "a network belongs to one zone; a more specific network (a longer prefix) may sit inside another zone's, and wins for its addresses",
                        );
                    }
                    None => {
                        own += 1;
                        seen.push((*net, zone.name.clone()));
                    }
                }
            }
            if own == 0 && !zone.networks.is_empty() {
                self.error(
                    Code::DuplicateZone,
                    span,
                    format!(
                        "zone `{}` has no network of its own: every one is another zone's",
                        zone.name
                    ),
                    "merge the two zones, or give this zone its own (possibly more specific) networks",
                );
            }
        }
    }

    /// A gateway is an address of the interface's zone that something in the topology answers on:
    /// a firewall interface in that zone or a VIP in that zone.
    fn gateways(&mut self, t: &Topology, raw: &RawTopology) {
        for rp in &raw.pools {
            for rs in &rp.get_ref().servers {
                for ri in &rs.get_ref().interfaces {
                    let ri = ri.get_ref();
                    let Some(gw) = &ri.gateway else { continue };
                    let Some(zone) = t.zone(ri.zone.get_ref()) else {
                        continue; // unknown zone, already reported
                    };
                    let firewalls: Vec<IpAddr> = t
                        .firewalls
                        .iter()
                        .flat_map(|f| f.interfaces.iter())
                        .filter(|i| i.zone == zone.name)
                        .flat_map(|i| i.addresses.iter().map(|a| a.addr()))
                        .collect();
                    let vips: Vec<IpAddr> = t
                        .pools
                        .iter()
                        .flat_map(|p| p.vips.iter())
                        .filter(|v| v.zone == zone.name)
                        .flat_map(|v| v.addresses.iter().copied())
                        .collect();
                    for ip in &gw.get_ref().0 {
                        if !zone.networks.iter().any(|n| n.contains(ip)) {
                            self.error(
                                Code::GatewayOutsideZone,
                                span_of(gw),
                                format!(
                                    "gateway {ip} of `{}` interface `{}` is outside its zone `{}` ({})",
                                    rs.get_ref().name.get_ref(),
                                    ri.name.get_ref(),
                                    zone.name,
                                    join(&zone.networks)
                                ),
                                if matches!(ip, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80) {
                                    "a link-local gateway cannot be checked against the topology: give the firewall's global address in this zone, or leave `gateway` out"
                                } else {
                                    "a gateway is on the interface's own network: use the address of the firewall (or load balancer VIP) in that zone"
                                },
                            );
                        } else if !firewalls.contains(ip) && !vips.contains(ip) {
                            let known: Vec<String> = firewalls
                                .iter()
                                .map(|a| format!("firewall {a}"))
                                .chain(vips.iter().map(|a| format!("VIP {a}")))
                                .collect();
                            self.error(
                                Code::GatewayUnknown,
                                span_of(gw),
                                format!(
                                    "gateway {ip} of `{}` interface `{}` is neither a firewall interface address nor a VIP of zone `{}`",
                                    rs.get_ref().name.get_ref(),
                                    ri.name.get_ref(),
                                    zone.name
                                ),
                                if known.is_empty() {
                                    "no firewall interface in this zone has an address and no VIP lives here: add the firewall's `address`, or leave `gateway` out".to_string()
                                } else {
                                    format!(
                                        "use one of the addresses the topology has in this zone ({}), or leave `gateway` out",
                                        known.join(", ")
                                    )
                                },
                            );
                        }
                    }
                }
            }
        }
    }

    /// Partner networks are internet addresses, and each listed partner narrows some planned row.
    fn partners(&mut self, t: &Topology, raw: &RawTopology) {
        let catalog = crate::catalog::Catalog::builtin();
        let scenarios = t.scenarios();
        for (partner, rp) in t.partners.iter().zip(&raw.partners) {
            let rp = rp.get_ref();
            let span = span_of(&rp.networks);
            if partner.networks.is_empty() {
                self.error(
                    Code::EmptyPartner,
                    span.clone(),
                    format!("partner `{}` lists no networks", partner.name),
                    "list the partner's server addresses; a partner without networks would leave its rows open to any address",
                );
            }
            for net in &partner.networks {
                if net.trunc() != *net {
                    self.error(
                        Code::HostBits,
                        span.clone(),
                        format!("partner network {net} has host bits set"),
                        format!("did you mean {}?", net.trunc()),
                    );
                }
                match t.zone_of_net(net).and_then(|z| t.zone(&z)) {
                    Some(z) if z.kind == ZoneKind::Internet => {}
                    found => self.error(
                        Code::PartnerZone,
                        span.clone(),
                        match found {
                            Some(z) => format!(
                                "partner network {net} falls in zone `{}`, which is not an internet zone",
                                z.name
                            ),
                            None => format!("partner network {net} is in no zone"),
                        },
                        "partners are reached through the internet: their networks must lie in a zone of kind \"internet\" (e.g. 0.0.0.0/0 and ::/0)",
                    ),
                }
            }
            let (feature, narrows) = match partner.kind {
                PartnerKind::Xmpp => (Feature::Xmpp, "the XMPP rows of the Access Edge (5269)"),
                PartnerKind::PublicIm => (
                    Feature::PublicIm,
                    "the public IM rows (`public-im-partner`)",
                ),
                PartnerKind::Sip => (
                    Feature::Federation,
                    "the federation rows that name `federated-partner` (outbound 5061 from a hardware-balanced Edge pool's Access VIP)",
                ),
            };
            let used = catalog.rows.iter().any(|row| {
                scenarios.contains(&row.scenario.as_str())
                    && row.condition.is_none_or(|f| t.has_feature(f))
                    && partner_role_of(row) == Some(partner.kind)
            });
            if !used {
                let kind_span = rp.kind.as_ref().map(span_of).unwrap_or(span.clone());
                let why = if t.has_feature(feature) {
                    format!(
                        "no planned row uses them: the port tables of this topology's scenarios ({}) leave that end open to any address",
                        scenarios.join(", ")
                    )
                } else {
                    format!("feature `{feature}` is off")
                };
                self.error(
                    Code::UnusedPartner,
                    kind_span,
                    format!(
                        "the networks of {} partner `{}` would change nothing: {why}",
                        partner.kind, partner.name
                    ),
                    format!(
                        "{} partner networks narrow {narrows}; remove the [[partner]], or turn on what it needs",
                        partner.kind
                    ),
                );
            }
        }
    }

    /// Fields that only some roles read: refused where nothing would use them.
    fn used_fields(&mut self, t: &Topology, raw: &RawTopology) {
        if let Some(d) = &raw.description {
            let text = d.get_ref();
            if let Some(c) = text
                .chars()
                .find(|c| c.is_control() && !matches!(c, '\n' | '\t'))
            {
                self.error(
                    Code::BadDescription,
                    span_of(d),
                    format!(
                        "the description contains the control character U+{:04X}",
                        c as u32
                    ),
                    "the description is shown in the HTML report, which cannot carry control characters: remove it",
                );
            }
            if text.chars().count() > MAX_DESCRIPTION {
                self.error(
                    Code::BadDescription,
                    span_of(d),
                    format!(
                        "the description is {} characters long; the limit is {MAX_DESCRIPTION}",
                        text.chars().count()
                    ),
                    "keep the description to a paragraph; put longer notes in a TOML comment",
                );
            }
        }
        let has_proxy = t.pools.iter().any(|p| p.role == ServerRole::ReverseProxy);
        let mut published: Vec<(String, String)> = Vec::new();
        let mut cms: Option<String> = None;
        for rp in &raw.pools {
            let rp = rp.get_ref();
            let Some(pool) = t.pools.iter().find(|p| &p.name == rp.name.get_ref()) else {
                continue;
            };
            if let Some(c) = &rp.cms
                && *c.get_ref()
                && pool.role == ServerRole::FrontEnd
            {
                match &cms {
                    Some(first) => self.error(
                        Code::DuplicateCms,
                        span_of(c),
                        format!(
                            "pools `{first}` and `{}` both hold the Central Management store",
                            pool.name
                        ),
                        "a deployment has one Central Management store: set cms = true on one Front End pool",
                    ),
                    None => cms = Some(pool.name.clone()),
                }
            }
            if let Some(names) = &rp.published {
                let reader = match pool.role {
                    ServerRole::FrontEnd | ServerRole::Director => None,
                    ServerRole::OfficeWebApps if !t.has_feature(Feature::OfficeWebApps) => Some(
                        "feature `office-web-apps` is off, so the reverse proxy does not publish this farm: turn it on, or remove `published`",
                    ),
                    ServerRole::OfficeWebApps => None,
                    _ => Some(
                        "only Front End, Director and Office Web Apps pools are published by the reverse proxy: remove `published`",
                    ),
                };
                if let Some(why) = reader {
                    self.error(
                        Code::UnusedPublished,
                        span_of(names),
                        format!(
                            "the published names of {} pool `{}` would be written nowhere",
                            pool.role, pool.name
                        ),
                        why,
                    );
                } else if !has_proxy && !names.get_ref().0.is_empty() {
                    self.error(
                        Code::UnusedPublished,
                        span_of(names),
                        format!(
                            "pool `{}` has published names, but the topology has no reverse proxy to publish them",
                            pool.name
                        ),
                        "add the [[pool]] with role = \"reverse-proxy\", or remove `published`",
                    );
                }
                for name in &names.get_ref().0 {
                    let key = name.to_ascii_lowercase();
                    match published.iter().find(|(n, _)| *n == key) {
                        Some((_, other)) => {
                            let what = if other == &pool.name {
                                format!("pool `{}` lists published name `{name}` twice", pool.name)
                            } else {
                                format!(
                                    "published name `{name}` of pool `{}` is also published for pool `{other}`",
                                    pool.name
                                )
                            };
                            self.error(
                                Code::DuplicatePublished,
                                span_of(names),
                                what,
                                "the reverse proxy picks the pool by name: each published name belongs to one pool",
                            )
                        }
                        None => published.push((key, pool.name.clone())),
                    }
                }
            }
            for rs in &rp.servers {
                for ri in &rs.get_ref().interfaces {
                    let ri = ri.get_ref();
                    let Some(routes) = &ri.routes else { continue };
                    if pool.role != ServerRole::Edge || ri.name.get_ref() != Leg::Internal.as_str()
                    {
                        self.error(
                            Code::UnusedRoutes,
                            span_of(routes),
                            format!(
                                "`routes` on `{}` interface `{}` would be used by nothing",
                                rs.get_ref().name.get_ref(),
                                ri.name.get_ref()
                            ),
                            "persistent routes are checked on an Edge server's `internal` interface (its default gateway is on the external side); remove them here",
                        );
                    }
                    for net in &routes.get_ref().0 {
                        if net.trunc() != *net {
                            self.error(
                                Code::HostBits,
                                span_of(routes),
                                format!("route {net} has host bits set"),
                                format!("did you mean {}?", net.trunc()),
                            );
                        }
                    }
                }
            }
        }
    }
}

/// The partner kind whose networks stand for one end of a catalog row, if any.
fn partner_role_of(row: &crate::catalog::Row) -> Option<PartnerKind> {
    use crate::catalog::Role;
    if row.source == Role::FederatedPartner || row.destination == Role::FederatedPartner {
        Some(PartnerKind::Sip)
    } else if row.source == Role::PublicImPartner || row.destination == Role::PublicImPartner {
        Some(PartnerKind::PublicIm)
    } else {
        super::partner_kind_for_any(row)
    }
}
