//! Microsoft 365 endpoint sets for hybrid deployments: the typed model of the endpoint web
//! service's JSON (an array of endpoint sets with `id`, `serviceArea`, `ips`, `tcpPorts`,
//! `udpPorts`, `category`, `required`, …), the portplan snapshot that pins one version of the
//! "Skype" service area, the snapshot built into the binary, its age, and the difference between
//! two snapshots.
//!
//! portplan never contacts the service: the user saves the JSON (and, for the version, the version
//! method's answer or its number), and portplan reads the file.

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The service area whose endpoint sets a Skype for Business hybrid edge talks to.
pub const SKYPE_AREA: &str = "Skype";

/// An endpoint set of the web service, as it publishes it. Fields the service may add later are
/// ignored; the ones portplan uses are typed, so a malformed value is an error naming its field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointSet {
    pub id: u32,
    pub service_area: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_area_display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<IpNet>,
    #[serde(default, skip_serializing_if = "Ports::is_empty")]
    pub tcp_ports: Ports,
    #[serde(default, skip_serializing_if = "Ports::is_empty")]
    pub udp_ports: Ports,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub express_route: Option<bool>,
    pub category: Category,
    /// Omitted in some of the service's own examples: unknown, not false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// The service's connectivity category of an endpoint set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Category {
    Optimize,
    Allow,
    Default,
}

/// A port list as the service writes it: `"80,443"`, `"3478-3481"`, kept as sorted, merged ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ports(pub Vec<(u16, u16)>);

impl Ports {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn parse(text: &str) -> Result<Ports, String> {
        let mut ranges = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (lo, hi) = match item.split_once('-') {
                Some((a, b)) => (a.trim(), b.trim()),
                None => (item, item),
            };
            let port = |s: &str| {
                s.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("`{item}` is not a port or a port range (1-65535)"))
            };
            let (lo, hi) = (port(lo)?, port(hi)?);
            if lo > hi {
                return Err(format!("`{item}`: the range runs backwards"));
            }
            ranges.push((lo, hi));
        }
        ranges.sort_unstable();
        let mut merged: Vec<(u16, u16)> = Vec::new();
        for (lo, hi) in ranges {
            match merged.last_mut() {
                Some(last) if u32::from(lo) <= u32::from(last.1) + 1 => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        Ok(Ports(merged))
    }
}

impl fmt::Display for Ports {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(a, b)| {
                if a == b {
                    a.to_string()
                } else {
                    format!("{a}-{b}")
                }
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

impl Serialize for Ports {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Ports {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ports::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A version of the endpoint data: `YYYYMMDDNN`, NN counting the versions of one day from 00.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(String);

impl Version {
    pub fn parse(text: &str) -> Result<Version, String> {
        let ok = text.len() == 10 && text.bytes().all(|b| b.is_ascii_digit());
        let date = ok.then(|| Date::from_digits(&text[..8])).flatten();
        match date {
            Some(_) => Ok(Version(text.to_string())),
            None => Err(format!(
                "`{text}` is not an endpoint data version (YYYYMMDDNN: ten digits, a real date first)"
            )),
        }
    }

    /// The day the version was published.
    pub fn date(&self) -> Date {
        Date::from_digits(&self.0[..8]).expect("checked when parsed")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Version::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A calendar day (proleptic Gregorian), enough to tell a snapshot's age in days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    fn from_digits(d: &str) -> Option<Date> {
        let year: i32 = d.get(0..4)?.parse().ok()?;
        let month: u32 = d.get(4..6)?.parse().ok()?;
        let day: u32 = d.get(6..8)?.parse().ok()?;
        Date::new(year, month, day)
    }

    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (year >= 2000 && (1..=days).contains(&day)).then_some(Date { year, month, day })
    }

    /// `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Option<Date> {
        let mut it = text.split('-');
        let (y, m, d) = (it.next()?, it.next()?, it.next()?);
        if it.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
    }

    /// Days since 1970-01-01 (Howard Hinnant's civil-from-days inverse).
    pub fn days(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// Today (UTC) from the system clock.
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Date::from_days(i64::try_from(secs / 86_400).unwrap_or(0))
    }

    fn from_days(z: i64) -> Date {
        let z = z + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Date::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a date (YYYY-MM-DD)")))
    }
}

/// One pinned version of the Skype service area: what a hybrid plan uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// The service instance (`Worldwide`, …).
    pub instance: String,
    /// The data version, when the user knew it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Version>,
    /// The day the data was published (the version's date, or the page's "last updated").
    pub published: Date,
    /// Where the data came from, in a few words.
    pub source: String,
    pub endpoints: Vec<EndpointSet>,
}

/// Why an endpoint file cannot be used (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("not endpoint data: {0}")]
    Malformed(String),
    #[error(
        "no endpoint set of the `{SKYPE_AREA}` service area in this file (it has: {0}); save the endpoints of the Skype service area, or all of them"
    )]
    NoSkype(String),
    #[error("endpoint set {id} is listed twice")]
    Duplicate { id: u32 },
    #[error("{0}")]
    Version(String),
    #[error(
        "endpoint set {id}: `ips` value {net} is {why}; Microsoft 365 publishes public unicast ranges only"
    )]
    Range { id: u32, net: IpNet, why: String },
    #[error(
        "the `ips` of the endpoint sets together cover {covered} {family} addresses, more than {bound}: not a Microsoft 365 service area"
    )]
    TooWide {
        family: &'static str,
        covered: String,
        bound: &'static str,
    },
    #[error(
        "the endpoint data is dated {date}, after today ({today}): a wrong --version or `published` would defeat the age warning"
    )]
    Future { date: Date, today: Date },
}

/// The widest prefix one endpoint range may have. The Skype service area's ranges are /14 to /18
/// (IPv4) and /38 to /48 (IPv6); a /8 or a /16 is already far beyond anything Microsoft publishes
/// and keeps a default route, or half of the address space, out of a firewall's allow list.
pub const MIN_PREFIX_V4: u8 = 8;
pub const MIN_PREFIX_V6: u8 = 16;
/// The most address space all the ranges of a file may cover together: one /8 (IPv4) or one /16
/// (IPv6), so that many narrow ranges cannot add up to the whole internet either.
const MAX_UNION_V4: u128 = 1 << (32 - MIN_PREFIX_V4);
const MAX_UNION_V6: u128 = 1 << (128 - MIN_PREFIX_V6);

/// Blocks no Microsoft 365 range can overlap: not routed on the internet, not unicast, or holding
/// another address family. A range in one of them would open the firewall to spoofed sources.
const REFUSED: &[(&str, &str)] = &[
    (
        "0.0.0.0/8",
        "in the unspecified (\"this network\") block 0.0.0.0/8",
    ),
    ("10.0.0.0/8", "private (RFC 1918: 10.0.0.0/8)"),
    (
        "100.64.0.0/10",
        "in the carrier-grade NAT shared block 100.64.0.0/10",
    ),
    ("127.0.0.0/8", "loopback (127.0.0.0/8)"),
    ("169.254.0.0/16", "link-local (169.254.0.0/16)"),
    ("172.16.0.0/12", "private (RFC 1918: 172.16.0.0/12)"),
    (
        "192.0.0.0/24",
        "in the IETF protocol assignments block 192.0.0.0/24",
    ),
    ("192.168.0.0/16", "private (RFC 1918: 192.168.0.0/16)"),
    ("198.18.0.0/15", "in the benchmarking block 198.18.0.0/15"),
    ("224.0.0.0/4", "multicast (224.0.0.0/4)"),
    ("240.0.0.0/4", "reserved or broadcast (240.0.0.0/4)"),
    ("::/128", "the unspecified address ::"),
    ("::1/128", "loopback (::1)"),
    (
        "::ffff:0:0/96",
        "IPv4-mapped (::ffff:0:0/96): an IPv4 address written as IPv6",
    ),
    ("::/96", "IPv4-compatible (::/96, deprecated)"),
    (
        "64:ff9b::/96",
        "NAT64 (64:ff9b::/96): IPv4 addresses behind a translator",
    ),
    ("64:ff9b:1::/48", "local-use NAT64 (64:ff9b:1::/48)"),
    ("100::/64", "discard-only (100::/64)"),
    ("2001::/32", "Teredo (2001::/32): IPv4 tunnelled in IPv6"),
    ("2002::/16", "6to4 (2002::/16): IPv4 tunnelled in IPv6"),
    (
        "fc00::/7",
        "unique local, the IPv6 private range (fc00::/7)",
    ),
    ("fe80::/10", "link-local (fe80::/10)"),
    ("fec0::/10", "site-local (fec0::/10, deprecated)"),
    ("ff00::/8", "multicast (ff00::/8)"),
];

/// Documentation blocks: never real Microsoft 365 addresses, but a lab may stand them in for
/// Microsoft 365, so they are a warning, not a refusal.
const DOCUMENTATION: &[&str] = &[
    "192.0.2.0/24",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "2001:db8::/32",
    "3fff::/20",
];

fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

fn block(text: &str) -> IpNet {
    text.parse().expect("the special blocks are valid prefixes")
}

/// Why `net` cannot stand for Microsoft 365, if it cannot.
pub fn range_problem(net: &IpNet) -> Option<String> {
    let (min, family) = match net {
        IpNet::V4(_) => (MIN_PREFIX_V4, "IPv4"),
        IpNet::V6(_) => (MIN_PREFIX_V6, "IPv6"),
    };
    if net.prefix_len() == 0 {
        return Some("a default route (the whole address space)".to_string());
    }
    // a range inside a special block is named after the block, even when it is also too wide
    if let Some((_, why)) = REFUSED.iter().find(|(b, _)| block(b).contains(net)) {
        return Some((*why).to_string());
    }
    if net.prefix_len() < min {
        return Some(format!(
            "wider than /{min}, the widest {family} range accepted"
        ));
    }
    REFUSED
        .iter()
        .find(|(b, _)| overlaps(net, &block(b)))
        .map(|(_, why)| format!("overlapping a block that is {why}"))
}

/// Addresses covered by `nets` together (overlaps counted once), per family.
fn covered(nets: &[IpNet]) -> (u128, u128) {
    let mut v4 = 0u128;
    let mut v6 = 0u128;
    for net in IpNet::aggregate(&nets.to_vec()) {
        let host_bits = u32::from(net.max_prefix_len() - net.prefix_len());
        let size = 1u128.checked_shl(host_bits).unwrap_or(u128::MAX);
        match net {
            IpNet::V4(_) => v4 = v4.saturating_add(size),
            IpNet::V6(_) => v6 = v6.saturating_add(size),
        }
    }
    (v4, v6)
}

/// The snapshot built into portplan: the Skype service area of the Worldwide instance.
const BUILT_IN: &str = include_str!("skype-worldwide.json");

impl Snapshot {
    pub fn built_in() -> Snapshot {
        Snapshot::parse(BUILT_IN).expect("the built-in endpoint snapshot parses")
    }

    /// Reads a portplan snapshot (an object) or the web service's own answer (an array of
    /// endpoint sets, which then needs `version`, or `published` when the version is unknown).
    pub fn parse(text: &str) -> Result<Snapshot, EndpointError> {
        Snapshot::read(text, None)
    }

    /// Like [`Snapshot::parse`]; `version` names the data version of a raw service answer (and
    /// overrides nothing in a snapshot, which carries its own).
    pub fn read(text: &str, version: Option<&str>) -> Result<Snapshot, EndpointError> {
        let trimmed = text.trim_start();
        let snapshot = if trimmed.starts_with('[') {
            let sets: Vec<EndpointSet> = serde_json::from_str(text)
                .map_err(|e| EndpointError::Malformed(format!("endpoint sets: {e}")))?;
            let version = version
                .map(Version::parse)
                .transpose()
                .map_err(EndpointError::Version)?;
            let Some(version) = version else {
                return Err(EndpointError::Version(
                    "the web service's answer does not carry its version: give it with --version YYYYMMDDNN (the version method's `latest`)".into(),
                ));
            };
            Snapshot {
                instance: "Worldwide".into(),
                published: version.date(),
                version: Some(version),
                source: "endpoint web service answer".into(),
                endpoints: sets,
            }
        } else if trimmed.starts_with('{') {
            let s: Snapshot = serde_json::from_str(text)
                .map_err(|e| EndpointError::Malformed(format!("snapshot: {e}")))?;
            if let (Some(v), Some(given)) = (&s.version, version)
                && v.as_str() != given
            {
                return Err(EndpointError::Version(format!(
                    "the snapshot says version {}, --version says {given}",
                    v.as_str()
                )));
            }
            s
        } else {
            return Err(EndpointError::Malformed(
                "expected the endpoint web service's JSON (an array of endpoint sets) or a portplan endpoint snapshot (an object)".into(),
            ));
        };
        snapshot.into_skype()
    }

    /// Keeps the Skype service area, refusing a file that has none or repeats a set.
    fn into_skype(mut self) -> Result<Snapshot, EndpointError> {
        let mut seen = BTreeSet::new();
        for set in &self.endpoints {
            if !seen.insert(set.id) {
                return Err(EndpointError::Duplicate { id: set.id });
            }
        }
        let areas: BTreeSet<&str> = self
            .endpoints
            .iter()
            .map(|e| e.service_area.as_str())
            .collect();
        if !areas.contains(SKYPE_AREA) {
            let found = if areas.is_empty() {
                "no endpoint sets at all".to_string()
            } else {
                areas.into_iter().collect::<Vec<_>>().join(", ")
            };
            return Err(EndpointError::NoSkype(found));
        }
        self.endpoints.retain(|e| e.service_area == SKYPE_AREA);
        self.endpoints.sort_by_key(|e| e.id);
        self.vet_ranges()?;
        Ok(self)
    }

    /// Refuses ranges that cannot be Microsoft 365's (see [`range_problem`]) and files whose
    /// ranges together cover more than one /8 or /16.
    fn vet_ranges(&self) -> Result<(), EndpointError> {
        let mut all = Vec::new();
        for set in &self.endpoints {
            for net in &set.ips {
                if let Some(why) = range_problem(net) {
                    return Err(EndpointError::Range {
                        id: set.id,
                        net: *net,
                        why,
                    });
                }
                all.push(*net);
            }
        }
        let (v4, v6) = covered(&all);
        if v4 > MAX_UNION_V4 {
            return Err(EndpointError::TooWide {
                family: "IPv4",
                covered: v4.to_string(),
                bound: "a /8",
            });
        }
        if v6 > MAX_UNION_V6 {
            return Err(EndpointError::TooWide {
                family: "IPv6",
                covered: format!("2^{:.1}", (v6 as f64).log2()),
                bound: "a /16",
            });
        }
        Ok(())
    }

    /// Refuses data dated more than a day after `today` (a day of slack for time zones): a date in
    /// the future would make the data look fresh for years.
    pub fn check_date(&self, today: Date) -> Result<(), EndpointError> {
        let date = self
            .version
            .as_ref()
            .map_or(self.published, |v| v.date().max(self.published));
        if date.days() > today.days() + 1 {
            return Err(EndpointError::Future { date, today });
        }
        Ok(())
    }

    /// Warnings about ranges that are accepted but suspicious: documentation blocks, which only a
    /// lab would use for Microsoft 365.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for set in &self.endpoints {
            for net in &set.ips {
                if let Some(doc) = DOCUMENTATION.iter().find(|d| overlaps(net, &block(d))) {
                    out.push(format!(
                        "endpoint set {}: `ips` value {net} lies in the documentation block {doc}, which Microsoft 365 does not use (fine for a lab, wrong for a real firewall)",
                        set.id
                    ));
                }
            }
        }
        out
    }

    /// Days between publication and `today` (negative when published "in the future").
    pub fn age_days(&self, today: Date) -> i64 {
        today.days() - self.published.days()
    }

    /// The sets that carry addresses (the ones a firewall can use), in id order.
    pub fn address_sets(&self) -> impl Iterator<Item = &EndpointSet> {
        self.endpoints.iter().filter(|e| !e.ips.is_empty())
    }
}

/// How one endpoint set differs between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetChange {
    pub id: u32,
    pub disposition: Disposition,
    pub added_ips: Vec<IpNet>,
    pub removed_ips: Vec<IpNet>,
    /// `(protocol, before, after)` where the port list changed.
    pub ports: Vec<(&'static str, String, String)>,
    pub category: Option<(Category, Category)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Disposition {
    Add,
    Remove,
    Change,
}

/// What changed from `old` to `new`, set by set (the shape of the service's `changes` feed);
/// sets that did not change for a firewall (only urls or notes changed) are left out.
pub fn diff(old: &Snapshot, new: &Snapshot) -> Vec<SetChange> {
    let index = |s: &Snapshot| -> BTreeMap<u32, EndpointSet> {
        s.endpoints.iter().map(|e| (e.id, e.clone())).collect()
    };
    let (a, b) = (index(old), index(new));
    let ids: BTreeSet<u32> = a.keys().chain(b.keys()).copied().collect();
    let mut out = Vec::new();
    for id in ids {
        let empty = |id| EndpointSet {
            id,
            service_area: SKYPE_AREA.into(),
            service_area_display_name: None,
            urls: Vec::new(),
            ips: Vec::new(),
            tcp_ports: Ports::default(),
            udp_ports: Ports::default(),
            express_route: None,
            category: Category::Default,
            required: None,
            notes: None,
        };
        let (disposition, before, after) = match (a.get(&id), b.get(&id)) {
            (Some(x), Some(y)) => (Disposition::Change, x.clone(), y.clone()),
            (Some(x), None) => (Disposition::Remove, x.clone(), empty(id)),
            (None, Some(y)) => (Disposition::Add, empty(id), y.clone()),
            (None, None) => unreachable!("ids come from the two maps"),
        };
        let set = |v: &[IpNet]| v.iter().copied().collect::<BTreeSet<IpNet>>();
        let (was, is) = (set(&before.ips), set(&after.ips));
        let mut ports = Vec::new();
        for (proto, x, y) in [
            ("tcp", &before.tcp_ports, &after.tcp_ports),
            ("udp", &before.udp_ports, &after.udp_ports),
        ] {
            if x != y {
                ports.push((proto, x.to_string(), y.to_string()));
            }
        }
        let change = SetChange {
            id,
            disposition,
            added_ips: is.difference(&was).copied().collect(),
            removed_ips: was.difference(&is).copied().collect(),
            ports,
            category: (disposition == Disposition::Change && before.category != after.category)
                .then_some((before.category, after.category)),
        };
        let matters = disposition != Disposition::Change
            || !change.added_ips.is_empty()
            || !change.removed_ips.is_empty()
            || !change.ports.is_empty()
            || change.category.is_some();
        // a set without addresses on either side is a proxy (URL) matter, not a firewall's
        if matters && !(was.is_empty() && is.is_empty()) {
            out.push(change);
        }
    }
    out
}

/// The snapshot as text for a person: version, age, and each set with addresses and ports.
pub fn describe(s: &Snapshot, today: Date, max_age_days: i64) -> String {
    let mut out = String::new();
    let version = s.version.as_ref().map_or("unknown", |v| v.as_str());
    let age = s.age_days(today);
    out.push_str(&format!(
        "Microsoft 365 endpoints, {} instance, service area {SKYPE_AREA}: version {version}, published {} ({age} day(s) ago); {}\n",
        crate::audit::visible(&s.instance),
        s.published,
        crate::audit::visible(&s.source)
    ));
    if age > max_age_days {
        out.push_str(&format!(
            "  (older than {max_age_days} days: see the warning)\n"
        ));
    }
    for e in &s.endpoints {
        let mut ports = Vec::new();
        if !e.tcp_ports.is_empty() {
            ports.push(format!("tcp {}", e.tcp_ports));
        }
        if !e.udp_ports.is_empty() {
            ports.push(format!("udp {}", e.udp_ports));
        }
        let required = match e.required {
            Some(true) => "required",
            Some(false) => "optional",
            None => "required?",
        };
        out.push_str(&format!(
            "  set {:>3}  {:?}, {required}  {}\n",
            e.id,
            e.category,
            ports.join("; ")
        ));
        if e.ips.is_empty() {
            out.push_str("           no addresses (names only: a proxy matter)\n");
        } else {
            let ips: Vec<String> = e.ips.iter().map(|n| n.to_string()).collect();
            out.push_str(&format!("           {}\n", ips.join(", ")));
        }
    }
    out
}

/// A warning when the snapshot is older than `max_age_days` (the data changes monthly).
pub fn age_warning(s: &Snapshot, today: Date, max_age_days: i64) -> Option<String> {
    let age = s.age_days(today);
    (age > max_age_days).then(|| {
        format!(
            "the endpoint data was published {age} days ago (more than {max_age_days}); Microsoft revises it monthly: save the current endpoints and run `portplan endpoints import`"
        )
    })
}

/// The difference as text: one line per changed set, then its addresses and ports.
pub fn describe_diff(old: &Snapshot, new: &Snapshot, changes: &[SetChange]) -> String {
    let name = |s: &Snapshot| {
        s.version
            .as_ref()
            .map_or_else(|| s.published.to_string(), |v| v.as_str().to_string())
    };
    let mut out = format!(
        "{} -> {}: {} endpoint set(s) with firewall changes\n",
        name(old),
        name(new),
        changes.len()
    );
    for c in changes {
        let what = match c.disposition {
            Disposition::Add => "added",
            Disposition::Remove => "removed",
            Disposition::Change => "changed",
        };
        out.push_str(&format!("  set {} {what}\n", c.id));
        for ip in &c.added_ips {
            out.push_str(&format!("    + {ip}\n"));
        }
        for ip in &c.removed_ips {
            out.push_str(&format!("    - {ip}\n"));
        }
        // an added or removed set's ports go with it; only a changed set's ports are news
        let port_changes = if c.disposition == Disposition::Change {
            c.ports.as_slice()
        } else {
            &[]
        };
        for (proto, before, after) in port_changes {
            let show = |s: &str| {
                if s.is_empty() {
                    "none".to_string()
                } else {
                    s.to_string()
                }
            };
            out.push_str(&format!(
                "    {proto} ports: {} -> {}\n",
                show(before),
                show(after)
            ));
        }
        if let Some((a, b)) = c.category {
            out.push_str(&format!("    category: {a:?} -> {b:?}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_lists_read_like_the_service_writes_them() {
        assert_eq!(
            Ports::parse("3478, 3479,3480,3481").unwrap().to_string(),
            "3478-3481"
        );
        assert_eq!(Ports::parse("443,80").unwrap().to_string(), "80,443");
        assert_eq!(Ports::parse("50000-59999").unwrap().0, vec![(50000, 59999)]);
        assert!(Ports::parse("0").is_err());
        assert!(Ports::parse("70000").is_err());
        assert!(Ports::parse("5-1").is_err());
        assert!(Ports::parse("http").is_err());
    }

    #[test]
    fn versions_are_ten_digits_starting_with_a_real_date() {
        assert_eq!(
            Version::parse("2022072800").unwrap().date(),
            Date::new(2022, 7, 28).unwrap()
        );
        assert!(Version::parse("2022023000").is_err(), "30 February");
        assert!(Version::parse("202207280").is_err());
        assert!(Version::parse("20220728001").is_err());
        assert!(Version::parse("2022-07-28").is_err());
    }

    #[test]
    fn day_numbers_round_trip_and_count_leap_days() {
        for (y, m, d) in [(1970, 1, 1), (2000, 2, 29), (2026, 12, 1), (2100, 3, 1)] {
            let date = Date::new(y, m, d).unwrap_or(Date {
                year: y,
                month: m,
                day: d,
            });
            assert_eq!(Date::from_days(date.days()), date);
        }
        assert_eq!(Date::new(1970, 1, 1).map(Date::days), None, "before 2000");
        let a = Date::new(2024, 2, 28).unwrap();
        let b = Date::new(2024, 3, 1).unwrap();
        assert_eq!(b.days() - a.days(), 2);
    }

    #[test]
    fn the_built_in_snapshot_holds_the_skype_media_and_signalling_sets() {
        let s = Snapshot::built_in();
        assert!(s.endpoints.iter().all(|e| e.service_area == SKYPE_AREA));
        let media = s.endpoints.iter().find(|e| e.id == 11).expect("set 11");
        assert_eq!(media.udp_ports.to_string(), "3478-3481");
        assert!(media.tcp_ports.is_empty());
        assert_eq!(media.category, Category::Optimize);
        let sig = s.endpoints.iter().find(|e| e.id == 12).expect("set 12");
        assert_eq!(sig.tcp_ports.to_string(), "80,443");
        assert!(sig.ips.iter().any(|n| n.to_string() == "52.112.0.0/14"));
    }
}
