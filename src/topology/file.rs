//! The topology file as written: serde structs that mirror the TOML, with spans kept on every value
//! a later check may need to point at. Nothing here is validated beyond types and address syntax;
//! `validate` turns this into the [`super::Topology`] model.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;
use toml::Spanned;

/// A value that may be written as one item or as an array of items (`address = "10.0.0.1"` or
/// `address = ["10.0.0.1", "fd00::1"]`). Items are parsed with `FromStr`, so a bad address fails with
/// the position of the value.
#[derive(Debug, Clone, PartialEq)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany(Vec::new())
    }
}

impl<'de, T> Deserialize<'de> for OneOrMany<T>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<T>(PhantomData<T>);
        impl<'de, T> serde::de::Visitor<'de> for Visit<T>
        where
            T: FromStr,
            T::Err: fmt::Display,
        {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                parse_item(v).map(|t| OneOrMany(vec![t]))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(text) = seq.next_element::<String>()? {
                    items.push(parse_item(&text)?);
                }
                Ok(OneOrMany(items))
            }
        }
        d.deserialize_any(Visit(PhantomData))
    }
}

fn parse_item<T, E>(text: &str) -> Result<T, E>
where
    T: FromStr,
    T::Err: fmt::Display,
    E: serde::de::Error,
{
    text.trim()
        .parse::<T>()
        .map_err(|e| E::custom(format!("`{text}`: {e}")))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTopology {
    pub name: Option<Spanned<String>>,
    pub description: Option<Spanned<String>>,
    /// The product: lync2013 (when omitted), sfb2015, sfb2019 or sfbse.
    pub version: Option<Spanned<String>>,
    #[serde(default)]
    pub features: BTreeMap<Spanned<String>, Spanned<bool>>,
    #[serde(default)]
    pub options: RawOptions,
    #[serde(default, rename = "zone")]
    pub zones: Vec<Spanned<RawZone>>,
    #[serde(default, rename = "firewall")]
    pub firewalls: Vec<Spanned<RawFirewall>>,
    #[serde(default, rename = "pool")]
    pub pools: Vec<Spanned<RawPool>>,
    #[serde(default)]
    pub clients: Vec<Spanned<RawClients>>,
    #[serde(default, rename = "partner")]
    pub partners: Vec<Spanned<RawPartner>>,
    /// Hybrid with Microsoft 365 (see `hybrid.rs`).
    pub hybrid: Option<Spanned<super::hybrid::RawHybrid>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOptions {
    /// Catalog scenarios to plan in addition to the ones the pools select (e.g. "autodiscover").
    #[serde(default)]
    pub scenarios: Option<Vec<Spanned<String>>>,
    /// Use the documents' "can be defined as" roles instead of `any` where a row offers them.
    pub narrow_any: Option<Spanned<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawZone {
    pub name: Spanned<String>,
    pub kind: Spanned<String>,
    pub networks: Spanned<OneOrMany<ipnet::IpNet>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFirewall {
    pub name: Spanned<String>,
    #[serde(default, rename = "interface")]
    pub interfaces: Vec<Spanned<RawFirewallInterface>>,
    /// Static one-to-one NAT: the public address the outside sees for a private server address.
    #[serde(default)]
    pub nat: Vec<Spanned<RawNat>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNat {
    pub public: Spanned<std::net::IpAddr>,
    pub private: Spanned<std::net::IpAddr>,
    /// The interface the public address lives on; the firewall's internet-facing one when omitted.
    #[serde(default)]
    pub interface: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFirewallInterface {
    pub name: Spanned<String>,
    pub zone: Spanned<String>,
    /// The firewall's own address(es) on this leg, with prefix length (e.g. `203.0.113.1/24`).
    #[serde(default)]
    pub address: Option<Spanned<OneOrMany<ipnet::IpNet>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPool {
    pub name: Spanned<String>,
    pub role: Spanned<String>,
    pub load_balancing: Option<Spanned<String>>,
    /// This Front End pool holds the Central Management store.
    #[serde(default)]
    pub cms: Option<Spanned<bool>>,
    /// External web service names the reverse proxy publishes for this pool.
    #[serde(default)]
    pub published: Option<Spanned<OneOrMany<String>>>,
    #[serde(default, rename = "vip")]
    pub vips: Vec<Spanned<RawVip>>,
    #[serde(default, rename = "server")]
    pub servers: Vec<Spanned<RawServer>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVip {
    pub service: Spanned<String>,
    pub zone: Spanned<String>,
    pub address: Spanned<OneOrMany<std::net::IpAddr>>,
    #[serde(default)]
    pub snat: Option<Spanned<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub name: Spanned<String>,
    #[serde(default, rename = "interface")]
    pub interfaces: Vec<Spanned<RawInterface>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInterface {
    pub name: Spanned<String>,
    pub zone: Spanned<String>,
    #[serde(default)]
    pub address: Option<Spanned<OneOrMany<std::net::IpAddr>>>,
    /// Edge external interface: the Access Edge service address(es).
    #[serde(default)]
    pub access: Option<Spanned<OneOrMany<std::net::IpAddr>>>,
    /// Edge external interface: the Web Conferencing Edge service address(es).
    #[serde(default)]
    pub webconf: Option<Spanned<OneOrMany<std::net::IpAddr>>>,
    /// Edge external interface: the A/V Edge service address(es).
    #[serde(default)]
    pub av: Option<Spanned<OneOrMany<std::net::IpAddr>>>,
    #[serde(default)]
    pub gateway: Option<Spanned<OneOrMany<std::net::IpAddr>>>,
    /// Persistent static routes (internal Edge interface).
    #[serde(default)]
    pub routes: Option<Spanned<OneOrMany<ipnet::IpNet>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClients {
    pub name: Spanned<String>,
    pub zone: Spanned<String>,
    pub networks: Spanned<OneOrMany<ipnet::IpNet>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPartner {
    pub name: Spanned<String>,
    #[serde(default)]
    pub kind: Option<Spanned<String>>,
    pub networks: Spanned<OneOrMany<ipnet::IpNet>>,
}
