//! The port catalog: every row of the Lync Server 2013 and Skype for Business Server port tables, as
//! typed data.
//!
//! The rows live in `catalog.toml` next to this file and are compiled into the binary with
//! `include_str!`. This module owns the row model (roles, transports, port ranges, features), the
//! product versions each scenario and row applies to (and what a version lacks), the comparison of
//! two versions' tables ([`compare`]), and the load balancer facts the topology linter checks; it
//! knows nothing about a concrete deployment.

pub mod compare;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

const CATALOG_TOML: &str = include_str!("catalog.toml");

/// Layer 4 protocol of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Tcp,
    Udp,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An inclusive port range; a single port has `start == end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct PortRange {
    pub start: u16,
    pub end: u16,
}

impl PortRange {
    pub fn new(start: u16, end: u16) -> Result<Self, String> {
        if start == 0 {
            return Err("port 0 is not a usable port".into());
        }
        if start > end {
            return Err(format!("range {start}-{end} runs backwards"));
        }
        Ok(PortRange { start, end })
    }
    pub fn single(port: u16) -> Self {
        PortRange {
            start: port,
            end: port,
        }
    }
    pub fn is_single(&self) -> bool {
        self.start == self.end
    }
    pub fn count(&self) -> u32 {
        u32::from(self.end) - u32::from(self.start) + 1
    }
    pub fn contains(&self, port: u16) -> bool {
        (self.start..=self.end).contains(&port)
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_single() {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}-{}", self.start, self.end)
        }
    }
}

impl FromStr for PortRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let parse = |p: &str| {
            p.trim()
                .parse::<u16>()
                .map_err(|_| format!("`{p}` is not a port number (1-65535)"))
        };
        match s.split_once('-') {
            Some((a, b)) => PortRange::new(parse(a)?, parse(b)?),
            None => {
                let p = parse(s)?;
                PortRange::new(p, p)
            }
        }
    }
}

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(u16),
            Object { start: u16, end: u16 },
        }
        match Raw::deserialize(d)? {
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
            Raw::Number(n) => PortRange::new(n, n).map_err(serde::de::Error::custom),
            Raw::Object { start, end } => {
                PortRange::new(start, end).map_err(serde::de::Error::custom)
            }
        }
    }
}

/// Which way a row points, seen from the server role its table describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// A closed set of names: the enum with a doc line per variant, its `ALL` list, `as_str`,
/// `description`, `Display`, `FromStr` and serde as the plain string. The optional `("noun")` after
/// the name is what a parse error calls the thing (the lowercased type name otherwise). This is the
/// crate's one way to read such a name; topology and diagnostics use it too.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($body:tt)* }) => {
        string_enum!($(#[$meta])* $name (stringify!($name).to_lowercase()) { $($body)* });
    };
    ($(#[$meta:meta])* $name:ident ($noun:expr) { $($variant:ident = $text:literal : $doc:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $(#[doc = $doc] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn description(self) -> &'static str {
                match self { $($name::$variant => $doc),+ }
            }
        }
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result { f.write_str(self.as_str()) }
        }
        impl ::std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "unknown {} `{}`; expected one of: {}",
                        $noun, s,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as ::serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use string_enum;

string_enum! {
    /// An endpoint of a catalog row: a role of the deployment, resolved to addresses by the planner.
    Role {
        Any = "any": "anything on the far side of the firewall the flow crosses",
        InternalClients = "internal-clients": "client networks on the internal side",
        FederatedPartner = "federated-partner": "federated SIP partners (their Access Edges); any internet address when none are listed",
        ReverseProxyExternal = "reverse-proxy.external": "the reverse proxy's external listener addresses",
        ReverseProxyInternal = "reverse-proxy.internal": "the reverse proxy's internal interface addresses",
        Director = "director": "each Director server's own address",
        DirectorVip = "director.vip": "the Director pool's load balancer VIP",
        DirectorPool = "director.pool": "the Director servers and their VIP",
        FrontEnd = "front-end": "each Front End server's own address",
        FrontEndVip = "front-end.vip": "the Front End pool's load balancer VIP",
        FrontEndPool = "front-end.pool": "the Front End servers and their pool VIP",
        FrontEndCms = "front-end.cms": "the Front End pool that holds the Central Management store",
        WebPools = "web-pools": "every Front End and Director pool that the reverse proxy publishes (servers and VIPs)",
        WebPoolsAndOwa = "web-pools-and-owa": "every published Front End and Director pool, and the Office Web Apps servers",
        OfficeWebApps = "office-web-apps": "the Office Web Apps servers",
        Mediation = "mediation": "each Mediation server",
        MediationVip = "mediation.vip": "the Mediation pool's load balancer VIP",
        PersistentChat = "persistent-chat": "each Persistent Chat Front End server",
        PstnGateway = "pstn-gateway": "PSTN gateways, IP-PBXs and E9-1-1 gateways the Mediation service talks to",
        InternalServers = "internal-servers": "every internal Lync server (Front End, Director, Mediation, Persistent Chat)",
        Internal = "internal": "every network of the internal zones (servers and clients inside)",
        RemoteClients = "remote-clients": "Lync clients of remote users, anywhere on the far side",
        MessengerClients = "messenger-clients": "Windows Live Messenger users, anywhere on the far side",
        PublicImPartner = "public-im-partner": "public IM providers; any internet address when none are listed",
        SurvivableBranch = "survivable-branch": "Survivable Branch Appliances or Servers that use this Edge",
        EdgeAccessPublic = "edge.access.public": "each Edge server's real Access Edge address",
        EdgeWebconfPublic = "edge.webconf.public": "each Edge server's real Web Conferencing Edge address",
        EdgeAvPublic = "edge.av.public": "each Edge server's real A/V Edge address",
        EdgeAccessVip = "edge.access.vip": "the Access Edge VIP of the external load balancer",
        EdgeWebconfVip = "edge.webconf.vip": "the Web Conferencing Edge VIP of the external load balancer",
        EdgeAvVip = "edge.av.vip": "the A/V Edge VIP of the external load balancer",
        EdgeInternal = "edge.internal": "each Edge server's internal interface address",
        EdgeInternalVip = "edge.internal.vip": "the Edge pool's internal load balancer VIP",
        EdgeInternalPool = "edge.internal.pool": "the Edge pool's internal side: each Edge server's internal interface address, and the internal load balancer VIP where there is one",
        Microsoft365 = "microsoft-365": "Microsoft 365 (Skype for Business Online / Teams): the address ranges of the Skype service area in the endpoint snapshot in use",
    }
}

string_enum! {
    /// The leg of a multi-homed server (Edge, reverse proxy): its interfaces are named after the
    /// side of the perimeter they face, and the catalog roles of those servers say which leg they mean.
    Leg ("interface leg") {
        External = "external": "the interface facing the internet (the Edge's service addresses, the reverse proxy's listener)",
        Internal = "internal": "the interface facing the internal networks",
    }
}

impl Role {
    /// The leg of a multi-homed server this role's addresses sit on; `None` for roles that are not
    /// one side of an Edge or reverse proxy.
    pub fn leg(self) -> Option<Leg> {
        match self {
            Role::EdgeAccessPublic
            | Role::EdgeWebconfPublic
            | Role::EdgeAvPublic
            | Role::EdgeAccessVip
            | Role::EdgeWebconfVip
            | Role::EdgeAvVip
            | Role::ReverseProxyExternal => Some(Leg::External),
            Role::EdgeInternal
            | Role::EdgeInternalVip
            | Role::EdgeInternalPool
            | Role::ReverseProxyInternal => Some(Leg::Internal),
            _ => None,
        }
    }
}

string_enum! {
    /// An optional part of a deployment; rows with a condition are only planned when it is on.
    Feature {
        Federation = "federation": "SIP federation with partner organisations and public IM providers",
        Ocs2007Federation = "ocs2007-federation": "federation with partners still running OCS 2007 (extra media ranges)",
        Xmpp = "xmpp": "XMPP federation through the Edge XMPP proxy and the Front End XMPP gateway",
        CentralizedLogging = "centralized-logging": "Centralized Logging Service collection from Directors and Edges",
        MobilityAutodiscoverHttp = "mobility-autodiscover-http": "mobile autodiscover over plain HTTP (published certificate left unchanged)",
        OfficeWebApps = "office-web-apps": "Office Web Apps Server published for conferencing",
        PublicIm = "public-im": "public IM connectivity (Windows Live Messenger and other public providers)",
        CollocatedMediation = "collocated-mediation": "the Mediation service runs on the Front End servers",
        InternalServers = "internal-servers": "plan the internal server port tables (firewalls between internal segments)",
        SipTcp5060 = "sip-tcp-5060": "plain TCP SIP on 5060 for static routes to trusted services (remote call control)",
        VideoScreenSharing = "video-screen-sharing": "video-based screen sharing (VbSS): the Application Sharing service's media over UDP as well as TCP",
        Hybrid = "hybrid": "hybrid with Microsoft 365: the Edge federates with Skype for Business Online / Teams for a shared SIP domain",
    }
}

string_enum! {
    /// How `probe` and `listen` exercise a port beyond the TCP handshake or UDP answer. Each service
    /// label of the catalog declares one ([`Service`]).
    ProbeKind {
        Plain = "plain": "the connection opens (TCP) or a token comes back (UDP)",
        Tls = "tls": "a TLS handshake after the connect; the certificate is reported",
        Http = "http": "an HTTP request; the status line is reported",
        Https = "https": "a TLS handshake, then an HTTP request",
        Stun = "stun": "a STUN Binding request, over UDP or framed over TCP",
    }
}

impl ProbeKind {
    /// Whether the kind needs a byte stream (TLS and HTTP run over TCP only).
    pub fn needs_tcp(self) -> bool {
        matches!(self, ProbeKind::Tls | ProbeKind::Http | ProbeKind::Https)
    }
}

/// A service label the rows use, and how a port of that service is probed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// The label as rows write it (`SIP/MTLS`).
    pub label: String,
    pub probe: ProbeKind,
    /// Why this probe kind (portplan's wording).
    pub note: String,
}

string_enum! {
    /// The product a topology runs; it picks which pages' tables are planned.
    Version {
        Lync2013 = "lync2013": "Lync Server 2013",
        Sfb2015 = "sfb2015": "Skype for Business Server 2015",
        Sfb2019 = "sfb2019": "Skype for Business Server 2019",
        Sfbse = "sfbse": "Skype for Business Server Subscription Edition",
    }
}

impl Default for Version {
    /// Files without a `version` key keep the meaning they had before versions existed.
    fn default() -> Self {
        Version::Lync2013
    }
}

string_enum! {
    /// A server role as a topology names it.
    ServerRole {
        FrontEnd = "front-end": "Front End pool",
        Director = "director": "Director or Director pool",
        Edge = "edge": "consolidated Edge pool",
        ReverseProxy = "reverse-proxy": "reverse proxy",
        OfficeWebApps = "office-web-apps": "Office Web Apps Server farm",
        SurvivableBranch = "survivable-branch": "Survivable Branch Appliance or Server",
        Mediation = "mediation": "Mediation Server pool",
        PersistentChat = "persistent-chat": "Persistent Chat Front End Server pool",
        PstnGateway = "pstn-gateway": "PSTN gateway, IP-PBX or E9-1-1 gateway",
    }
}

/// One table of a scenario document.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub id: String,
    pub title: String,
    pub reference: String,
    pub subject: ServerRole,
    pub sources: Vec<String>,
    /// Tables that describe several roles: the roles that count as that table's subject.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub table_subjects: BTreeMap<String, Vec<Role>>,
    /// The product versions whose deployments plan this scenario's tables.
    pub versions: Vec<Version>,
    /// The places in a deployment this scenario fills (the planner asks for a slot, the version
    /// picks the scenario); empty means the scenario's own id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slots: Vec<String>,
    /// Why the scenario applies to the versions it does, where that is not its page's own claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions_note: Option<String>,
}

impl Scenario {
    /// The slots this scenario fills: its `slots`, or its own id.
    pub fn slot_ids(&self) -> Vec<&str> {
        if self.slots.is_empty() {
            vec![self.id.as_str()]
        } else {
            self.slots.iter().map(String::as_str).collect()
        }
    }

    pub fn applies_to(&self, version: Version) -> bool {
        self.versions.contains(&version)
    }
}

/// One row of one port table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    pub scenario: String,
    pub table: String,
    pub service: String,
    pub transport: Transport,
    pub ports: PortRange,
    pub source: Role,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub narrow_source: Vec<Role>,
    pub destination: Role,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub narrow_destination: Vec<Role>,
    pub direction: Direction,
    #[serde(default)]
    pub condition: Option<Feature>,
    /// The versions the row applies to when its page says some lack it; empty = its scenario's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<Version>,
    pub reference: String,
    pub note: String,
    /// Where the document looks inconsistent; the row is still encoded as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doubt: Option<String>,
}

impl Row {
    /// Whether the row is part of `version`'s tables (`scenario` is the row's own).
    pub fn applies_to(&self, version: Version, scenario: &Scenario) -> bool {
        if self.versions.is_empty() {
            scenario.applies_to(version)
        } else {
            self.versions.contains(&version)
        }
    }

    /// The note, followed by the doubt when the source document looks inconsistent here.
    pub fn explanation(&self) -> String {
        match &self.doubt {
            Some(doubt) => format!("{} [doubt: {doubt}]", self.note),
            None => self.note.clone(),
        }
    }
}

/// A version and what it lacks compared with the others.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionInfo {
    pub id: Version,
    pub title: String,
    /// Features and server roles this version does not have, each with its source and reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<Unavailable>,
}

/// One feature or server role a version lacks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unavailable {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature: Option<Feature>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<ServerRole>,
    pub reference: String,
    pub reason: String,
}

/// A stable id for a row: `scenario/table#n`, n counting from 1 inside its table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RowId {
    pub scenario: String,
    pub table: String,
    pub index: usize,
}

impl fmt::Display for RowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}#{}", self.scenario, self.table, self.index)
    }
}

/// The hardware load balancer requirements of the scaled Edge design.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancerFacts {
    pub reference: String,
    /// Edge services whose VIP may rewrite the client's source address.
    pub snat_allowed: Vec<String>,
    /// Edge services whose VIP must never rewrite the source address.
    pub snat_forbidden: Vec<String>,
    /// Public addresses each Edge server needs on its external side (one per service).
    pub public_addresses_per_server: usize,
    /// Public VIPs the external load balancer needs (one per service).
    pub vips_per_pool: usize,
    pub replies_from_contacted_address: bool,
    /// The VIP that is each Edge server's default gateway.
    pub default_gateway: String,
    pub persistent_internal_routes: bool,
}

impl LoadBalancerFacts {
    /// Public addresses a pool of `servers` Edge servers needs (the "N+1" rule).
    pub fn public_addresses_needed(&self, servers: usize) -> usize {
        servers * self.public_addresses_per_server + self.vips_per_pool
    }
}

/// The whole catalog.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    #[serde(rename = "version")]
    pub versions: Vec<VersionInfo>,
    #[serde(rename = "scenario")]
    pub scenarios: Vec<Scenario>,
    pub load_balancer: LoadBalancerFacts,
    /// Every service label the rows use, declared once.
    #[serde(rename = "service")]
    pub services: Vec<Service>,
    #[serde(rename = "row")]
    pub rows: Vec<Row>,
}

/// Errors in catalog data (only reachable with a hand-edited catalog; the built-in one is tested).
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog data does not parse: {0}")]
    Syntax(#[from] toml::de::Error),
    #[error("catalog scenario `{id}`: {problem}")]
    Scenario { id: String, problem: String },
    #[error("catalog service `{label}`: {problem}")]
    Service { label: String, problem: String },
    #[error("catalog row {index} ({service} {ports}): {problem}")]
    Row {
        index: usize,
        service: String,
        ports: PortRange,
        problem: String,
    },
}

impl Catalog {
    /// The catalog compiled into the binary.
    pub fn builtin() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            Catalog::parse(CATALOG_TOML)
                .expect("the built-in catalog is validated by the test suite")
        })
    }

    /// The catalog's source text (for `portplan catalog --format toml`).
    pub fn builtin_source() -> &'static str {
        CATALOG_TOML
    }

    /// Parses and checks catalog data.
    pub fn parse(text: &str) -> Result<Catalog, CatalogError> {
        let catalog: Catalog = toml::from_str(text)?;
        catalog.check()?;
        Ok(catalog)
    }

    fn check(&self) -> Result<(), CatalogError> {
        self.check_versions()?;
        for (i, row) in self.rows.iter().enumerate() {
            let fail = |problem: String| CatalogError::Row {
                index: i + 1,
                service: row.service.clone(),
                ports: row.ports,
                problem,
            };
            match self.service(&row.service) {
                None => {
                    return Err(fail(format!(
                        "service `{}` has no [[service]] entry",
                        row.service
                    )));
                }
                Some(s) if s.probe.needs_tcp() && row.transport != Transport::Tcp => {
                    return Err(fail(format!(
                        "service `{}` is probed with {}, which needs tcp",
                        row.service, s.probe
                    )));
                }
                Some(_) => {}
            }
            let scenario = self
                .scenario(&row.scenario)
                .ok_or_else(|| fail(format!("unknown scenario `{}`", row.scenario)))?;
            if scenario.reference != row.reference {
                return Err(fail(format!(
                    "reference {} differs from its scenario's {}",
                    row.reference, scenario.reference
                )));
            }
            let table_subject = scenario.table_subjects.get(&row.table);
            let subject_is = |role: Role| match table_subject {
                Some(roles) => roles.contains(&role),
                None => role_belongs_to(role, scenario.subject),
            };
            let expected = match (subject_is(row.source), subject_is(row.destination)) {
                (true, false) => Direction::Outbound,
                (false, true) => Direction::Inbound,
                // The document itself put neither end on the table's subject: kept as written,
                // and only with a `doubt` that says so.
                (false, false) if row.doubt.is_some() => row.direction,
                _ => {
                    return Err(fail(format!(
                        "exactly one end must be the table's subject `{}`",
                        scenario.subject
                    )));
                }
            };
            if expected != row.direction {
                return Err(fail(format!(
                    "direction says {} but the subject is the {}",
                    row.direction.as_str(),
                    if expected == Direction::Inbound {
                        "destination"
                    } else {
                        "source"
                    }
                )));
            }
            if row.doubt.as_deref().is_some_and(|d| d.trim().is_empty()) {
                return Err(fail("doubt is empty".into()));
            }
            if !row.narrow_source.is_empty() && row.source != Role::Any {
                return Err(fail("narrow_source only applies to an `any` source".into()));
            }
            if !row.narrow_destination.is_empty() && row.destination != Role::Any {
                return Err(fail(
                    "narrow_destination only applies to an `any` destination".into(),
                ));
            }
            if row.note.trim().is_empty() {
                return Err(fail("note is empty".into()));
            }
            if let Some(v) = row.versions.iter().find(|v| !scenario.applies_to(**v)) {
                return Err(fail(format!(
                    "version {v} is not one of its scenario's ({})",
                    join(&scenario.versions)
                )));
            }
            // A row its page leaves out of some versions must stay unplanned there by itself: its
            // condition or one of its ends has to be something those versions lack (which
            // `portplan check` refuses), so the planner needs no row-level version filter.
            for v in scenario
                .versions
                .iter()
                .filter(|v| !row.applies_to(**v, scenario))
            {
                let lacks = self.version_info(*v).is_some_and(|info| {
                    info.unavailable.iter().any(|u| {
                        u.feature.is_some_and(|f| row.condition == Some(f))
                            || u.role.is_some_and(|r| {
                                role_belongs_to(row.source, r)
                                    || role_belongs_to(row.destination, r)
                            })
                    })
                });
                if !lacks {
                    return Err(fail(format!(
                        "left out of {v}, but neither its condition nor its ends are something {v} lacks"
                    )));
                }
            }
        }
        self.check_services()
    }

    fn check_services(&self) -> Result<(), CatalogError> {
        for (i, s) in self.services.iter().enumerate() {
            let fail = |problem: &str| CatalogError::Service {
                label: s.label.clone(),
                problem: problem.into(),
            };
            if self.services[..i].iter().any(|o| o.label == s.label) {
                return Err(fail("declared twice"));
            }
            if s.note.trim().is_empty() {
                return Err(fail("note is empty"));
            }
            if !self.rows.iter().any(|r| r.service == s.label) {
                return Err(fail("no row uses it"));
            }
        }
        Ok(())
    }

    /// The declaration of a service label.
    pub fn service(&self, label: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.label == label)
    }

    /// How a port of the service `label` is probed, when the catalog declares the label.
    pub fn probe_kind(&self, label: &str) -> Option<ProbeKind> {
        self.service(label).map(|s| s.probe)
    }

    fn check_versions(&self) -> Result<(), CatalogError> {
        for v in Version::ALL {
            if self.version_info(*v).is_none() {
                return Err(CatalogError::Scenario {
                    id: v.to_string(),
                    problem: "the version has no [[version]] entry".into(),
                });
            }
        }
        for s in &self.scenarios {
            let fail = |problem: String| CatalogError::Scenario {
                id: s.id.clone(),
                problem,
            };
            if s.versions.is_empty() {
                return Err(fail("applies to no version".into()));
            }
            for slot in s.slot_ids() {
                for v in &s.versions {
                    let holders: Vec<&str> = self
                        .scenarios
                        .iter()
                        .filter(|o| o.applies_to(*v) && o.slot_ids().contains(&slot))
                        .map(|o| o.id.as_str())
                        .collect();
                    if holders.len() > 1 {
                        return Err(fail(format!(
                            "slot `{slot}` has several scenarios for {v}: {}",
                            holders.join(", ")
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    pub fn version_info(&self, version: Version) -> Option<&VersionInfo> {
        self.versions.iter().find(|v| v.id == version)
    }

    /// The scenario that fills `slot` for `version`, if that version has one.
    pub fn scenario_for(&self, slot: &str, version: Version) -> Option<&Scenario> {
        self.scenarios
            .iter()
            .find(|s| s.applies_to(version) && s.slot_ids().contains(&slot))
    }

    /// Every row a deployment of `version` may plan (its scenarios' rows that apply to it), with ids.
    pub fn rows_of_version(&self, version: Version) -> impl Iterator<Item = (RowId, &Row)> {
        self.rows_with_ids().filter(move |(_, row)| {
            self.scenario(&row.scenario)
                .is_some_and(|s| row.applies_to(version, s))
        })
    }

    /// Why `version` lacks a feature, when the catalog says it does.
    pub fn feature_unavailable(&self, version: Version, feature: Feature) -> Option<&Unavailable> {
        self.version_info(version)?
            .unavailable
            .iter()
            .find(|u| u.feature == Some(feature))
    }

    /// Why `version` lacks a server role, when the catalog says it does.
    pub fn role_unavailable(&self, version: Version, role: ServerRole) -> Option<&Unavailable> {
        self.version_info(version)?
            .unavailable
            .iter()
            .find(|u| u.role == Some(role))
    }

    pub fn scenario(&self, id: &str) -> Option<&Scenario> {
        self.scenarios.iter().find(|s| s.id == id)
    }

    /// Rows with their stable ids, in catalog order.
    pub fn rows_with_ids(&self) -> impl Iterator<Item = (RowId, &Row)> {
        let mut counters: Vec<(&str, &str, usize)> = Vec::new();
        self.rows.iter().map(move |row| {
            let index = match counters
                .iter_mut()
                .find(|(s, t, _)| *s == row.scenario && *t == row.table)
            {
                Some(entry) => {
                    entry.2 += 1;
                    entry.2
                }
                None => {
                    counters.push((&row.scenario, &row.table, 1));
                    1
                }
            };
            (
                RowId {
                    scenario: row.scenario.clone(),
                    table: row.table.clone(),
                    index,
                },
                row,
            )
        })
    }

    /// Table ids of a scenario, in catalog order.
    pub fn tables(&self, scenario: &str) -> Vec<&str> {
        let mut tables: Vec<&str> = Vec::new();
        for row in self.rows.iter().filter(|r| r.scenario == scenario) {
            if !tables.contains(&row.table.as_str()) {
                tables.push(&row.table);
            }
        }
        tables
    }
}

fn join<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether a role endpoint is played by servers of the given server role.
pub fn role_belongs_to(role: Role, server: ServerRole) -> bool {
    use Role::*;
    match server {
        ServerRole::Director => matches!(
            role,
            Director | DirectorVip | DirectorPool | WebPools | WebPoolsAndOwa | InternalServers
        ),
        ServerRole::FrontEnd => matches!(
            role,
            FrontEnd
                | FrontEndVip
                | FrontEndPool
                | FrontEndCms
                | WebPools
                | WebPoolsAndOwa
                | InternalServers
        ),
        ServerRole::Edge => matches!(
            role,
            EdgeAccessPublic
                | EdgeWebconfPublic
                | EdgeAvPublic
                | EdgeAccessVip
                | EdgeWebconfVip
                | EdgeAvVip
                | EdgeInternal
                | EdgeInternalVip
                | EdgeInternalPool
        ),
        ServerRole::ReverseProxy => matches!(role, ReverseProxyExternal | ReverseProxyInternal),
        ServerRole::OfficeWebApps => matches!(role, OfficeWebApps | WebPoolsAndOwa),
        ServerRole::SurvivableBranch => matches!(role, SurvivableBranch),
        ServerRole::Mediation => matches!(role, Mediation | MediationVip | InternalServers),
        ServerRole::PersistentChat => matches!(role, PersistentChat | InternalServers),
        ServerRole::PstnGateway => matches!(role, PstnGateway),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn role_leg_is_the_side_the_role_name_says() {
        // the rule the planner used to apply to role names, kept as the oracle for Role::leg
        for role in Role::ALL {
            let name = role.as_str();
            let by_name = if name.starts_with("edge.internal") || name == "reverse-proxy.internal" {
                Some(Leg::Internal)
            } else if name.starts_with("edge.")
                && (name.ends_with(".public") || name.ends_with(".vip"))
                || name == "reverse-proxy.external"
            {
                Some(Leg::External)
            } else {
                None
            };
            assert_eq!(role.leg(), by_name, "{name}");
        }
    }

    use super::*;

    #[test]
    fn builtin_catalog_parses_and_has_505_rows() {
        // 318 Lync Server 2013 rows, 180 Skype for Business Server rows and 7 hybrid rows
        assert_eq!(Catalog::builtin().rows.len(), 505);
    }

    #[test]
    fn every_version_fills_the_edge_slots_with_its_own_pages() {
        let c = Catalog::builtin();
        let id = |slot, v| c.scenario_for(slot, v).map(|s| s.id.as_str());
        assert_eq!(
            id("edge-consolidated-hlb", Version::Lync2013),
            Some("edge-consolidated-hlb")
        );
        for v in [Version::Sfb2015, Version::Sfb2019, Version::Sfbse] {
            assert_eq!(id("edge-consolidated-hlb", v), Some("sfb-edge-hlb"));
            assert_eq!(id("edge-dns-nat", v), Some("sfb-edge-nat"));
            assert_eq!(id("edge-single-public", v), Some("sfb-edge-public"));
            assert_eq!(id("reverse-proxy", v), Some("reverse-proxy"));
            assert_eq!(id("public-im", v), None);
        }
        assert_eq!(id("video-screen-sharing", Version::Lync2013), None);
    }

    #[test]
    fn catalog_check_refuses_two_scenarios_in_one_slot() {
        let bad = CATALOG_TOML.replacen(
            "slots = [\"edge-single-nat\", \"edge-dns-nat\"]",
            "slots = [\"edge-single-nat\", \"edge-dns-nat\", \"edge-consolidated-hlb\"]",
            1,
        );
        let err = Catalog::parse(&bad).unwrap_err().to_string();
        assert!(
            err.contains("slot `edge-consolidated-hlb` has several scenarios"),
            "{err}"
        );
    }

    #[test]
    fn catalog_check_refuses_a_row_left_out_of_a_version_that_would_still_plan_it() {
        // the first XMPP row of a Skype for Business table, its condition dropped: nothing would
        // keep it out of a 2019 plan
        let at = CATALOG_TOML
            .find("scenario = \"sfb-edge-public\"")
            .expect("sfb rows");
        let (head, tail) = CATALOG_TOML.split_at(at);
        let bad = format!("{head}{}", tail.replacen("condition = \"xmpp\"\n", "", 1));
        let err = Catalog::parse(&bad).unwrap_err().to_string();
        assert!(err.contains("left out of sfb2019"), "{err}");
    }

    #[test]
    fn catalog_check_refuses_a_service_label_without_a_probe_kind() {
        // a row whose label no [[service]] declares would be probed by guesswork
        let bad = CATALOG_TOML.replacen("service = \"SMB\"", "service = \"SMB2\"", 1);
        let err = Catalog::parse(&bad).unwrap_err().to_string();
        assert!(err.contains("`SMB2` has no [[service]] entry"), "{err}");
        // a declaration no row uses is stale
        let stale = CATALOG_TOML.replacen(
            "[[service]]\nlabel = \"SMB\"",
            "[[service]]\nlabel = \"SMB\"\nprobe = \"plain\"\nnote = \"x\"\n\n[[service]]\nlabel = \"NFS\"",
            1,
        );
        let err = Catalog::parse(&stale).unwrap_err().to_string();
        assert!(err.contains("`NFS`: no row uses it"), "{err}");
        let twice = CATALOG_TOML.replacen(
            "[[service]]\nlabel = \"DNS\"",
            "[[service]]\nlabel = \"DNS\"\nprobe = \"plain\"\nnote = \"x\"\n\n[[service]]\nlabel = \"DNS\"",
            1,
        );
        let err = Catalog::parse(&twice).unwrap_err().to_string();
        assert!(err.contains("`DNS`: declared twice"), "{err}");
    }

    #[test]
    fn catalog_check_refuses_a_tls_probe_on_a_udp_row() {
        let bad = CATALOG_TOML.replacen(
            "label = \"UDP\"\nprobe = \"plain\"",
            "label = \"UDP\"\nprobe = \"tls\"",
            1,
        );
        let err = Catalog::parse(&bad).unwrap_err().to_string();
        assert!(err.contains("probed with tls, which needs tcp"), "{err}");
    }

    #[test]
    fn port_range_parsing_rejects_bad_text() {
        assert_eq!("50000-59999".parse::<PortRange>().unwrap().count(), 10000);
        assert!("0".parse::<PortRange>().is_err());
        assert!("80-79".parse::<PortRange>().is_err());
        assert!("http".parse::<PortRange>().is_err());
        assert!("70000".parse::<PortRange>().is_err());
    }

    #[test]
    fn row_ids_count_within_each_table() {
        let ids: Vec<String> = Catalog::builtin()
            .rows_with_ids()
            .map(|(id, _)| id.to_string())
            .collect();
        assert_eq!(ids[0], "director-pool-hlb/director#1");
        assert!(ids.contains(&"edge-consolidated-hlb/internal-vip#6".to_string()));
        assert!(!ids.contains(&"edge-consolidated-hlb/internal-vip#7".to_string()));
    }

    #[test]
    fn catalog_check_catches_a_wrong_direction() {
        let bad = CATALOG_TOML.replacen(
            "destination = \"director.vip\"\ndirection = \"inbound\"",
            "destination = \"director.vip\"\ndirection = \"outbound\"",
            1,
        );
        let err = Catalog::parse(&bad).unwrap_err().to_string();
        assert!(err.contains("direction says outbound"), "{err}");
    }
}
