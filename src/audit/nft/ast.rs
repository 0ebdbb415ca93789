//! The typed statement model both nft readers (text grammar, JSON) produce: tables of chains,
//! sets and maps; each rule a list of statements (match, verdict map, verdict, translation,
//! statements without effect on the verdict, and statements portplan cannot interpret).

use crate::audit::model::{Action, Location, NatKind, Unparsed};
use crate::plan::Family;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// One word as written: an address, prefix, range `a-b`, port, name, interface.
    Atom(String),
    /// An anonymous set or map.
    Set(Vec<Elem>),
    /// `@name`: a named set or map of the same table.
    SetRef(String),
    /// `a . b`: one value per key of a concatenation.
    Concat(Vec<Value>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Elem {
    pub key: Value,
    /// The data of a map element (`443 : accept`).
    pub data: Option<Data>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Data {
    Verdict(Action),
    Value(Value),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Key {
    Iif,
    Oif,
    Saddr(Family),
    Daddr(Family),
    /// The layer-4 protocol; `ip protocol` / `ip6 nexthdr` also imply the family.
    L4proto(Option<Family>),
    /// Destination port of these protocols (PROTO_* bits).
    Dport(u8),
    CtState,
    /// `meta nfproto` / `meta protocol`.
    Nfproto,
    /// Any other selector (`tcp sport`, `meta mark`, ...): matching on it is not modelled.
    Other(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Stmt {
    Match {
        keys: Vec<Key>,
        negated: bool,
        value: Value,
    },
    /// `<, >, &, ...` comparisons.
    Compare {
        keys: Vec<Key>,
        op: String,
        value: Value,
    },
    VMap {
        keys: Vec<Key>,
        map: Value,
    },
    Verdict(Action),
    /// A translation; `to` is the target as written (`10.0.0.1`, `10.0.0.1:443`), `None` for
    /// masquerade.
    Nat {
        kind: NatKind,
        to: Option<String>,
    },
    /// Counting, logging, marking, comments: the packet goes on.
    Neutral,
    Unknown(String),
    /// A statement `nft -f` refuses (a word that starts no nft statement): the file loads
    /// nothing, so every verdict is open.
    Refused(String),
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Base {
    /// `filter`, `nat`, `route`.
    pub ctype: String,
    pub hook: String,
    pub prio: i64,
    pub devices: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct RawChain {
    pub name: String,
    pub base: Option<Base>,
    pub base_at: Option<Location>,
    pub policy_accept: bool,
    pub policy_at: Option<Location>,
    pub rules: Vec<(Location, Vec<Stmt>)>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Table {
    pub family: String,
    pub name: String,
    pub chains: Vec<RawChain>,
    /// `flags dormant`: the table is loaded but none of its chains sees a packet.
    pub dormant: bool,
    /// Named sets and maps with their elements.
    pub sets: HashMap<String, Vec<Elem>>,
    /// The addresses of each named set, by (set, is IPv6), read on first use.
    pub addr_cache: std::cell::RefCell<HashMap<(String, bool), AddrElems>>,
}

/// What a set's elements say as addresses of one family (see `addresses_of`).
#[derive(Debug, Clone)]
pub(crate) struct AddrElems {
    pub set: crate::audit::model::SharedSet,
    pub errors: Vec<String>,
    pub odd: Option<String>,
}

impl Table {
    pub fn chain(&mut self, name: &str) -> usize {
        if let Some(i) = self.chains.iter().position(|c| c.name == name) {
            return i;
        }
        self.chains.push(RawChain {
            name: name.to_string(),
            policy_accept: true,
            ..Default::default()
        });
        self.chains.len() - 1
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Ruleset {
    pub tables: Vec<Table>,
    pub unparsed: Vec<Unparsed>,
    pub notes: Vec<String>,
}

impl Ruleset {
    pub fn table(&mut self, family: &str, name: &str) -> usize {
        if let Some(i) = self
            .tables
            .iter()
            .position(|t| t.family == family && t.name == name)
        {
            return i;
        }
        self.tables.push(Table {
            family: family.to_string(),
            name: name.to_string(),
            ..Default::default()
        });
        self.tables.len() - 1
    }
}

impl Key {
    /// Whether `KEY set VALUE` rewrites what the audit follows a flow by (an address or a port;
    /// a packet or connection mark does not move the flow).
    pub fn rewrite_moves_flow(&self) -> bool {
        match self {
            Key::Saddr(_) | Key::Daddr(_) | Key::Dport(_) | Key::L4proto(_) => true,
            Key::Other(k) => ["saddr", "daddr", "sport", "dport"]
                .iter()
                .any(|f| k.ends_with(f)),
            _ => false,
        }
    }

    pub fn text(&self) -> String {
        match self {
            Key::Iif => "iifname".into(),
            Key::Oif => "oifname".into(),
            Key::Saddr(Family::V4) => "ip saddr".into(),
            Key::Daddr(Family::V4) => "ip daddr".into(),
            Key::Saddr(Family::V6) => "ip6 saddr".into(),
            Key::Daddr(Family::V6) => "ip6 daddr".into(),
            Key::L4proto(Some(Family::V4)) => "ip protocol".into(),
            Key::L4proto(Some(Family::V6)) => "ip6 nexthdr".into(),
            Key::L4proto(None) => "meta l4proto".into(),
            Key::Dport(b) if *b == crate::audit::space::PROTO_TCP => "tcp dport".into(),
            Key::Dport(b) if *b == crate::audit::space::PROTO_UDP => "udp dport".into(),
            Key::Dport(_) => "th dport".into(),
            Key::CtState => "ct state".into(),
            Key::Nfproto => "meta nfproto".into(),
            Key::Other(s) => s.clone(),
        }
    }
}

impl Value {
    pub fn text(&self) -> String {
        match self {
            Value::Atom(a) => a.clone(),
            Value::SetRef(n) => format!("@{n}"),
            Value::Concat(p) => p.iter().map(|v| v.text()).collect::<Vec<_>>().join(" . "),
            Value::Set(items) => {
                let mut parts: Vec<String> = items.iter().take(8).map(|e| e.key.text()).collect();
                if items.len() > 8 {
                    parts.push("…".into());
                }
                format!("{{ {} }}", parts.join(", "))
            }
        }
    }
}

fn action_text(a: &Action) -> String {
    match a {
        Action::Accept => "accept".into(),
        Action::Drop => "drop".into(),
        Action::Return => "return".into(),
        Action::Continue => "continue".into(),
        Action::Unknown => "(verdict not understood)".into(),
        Action::Jump(t) => format!("jump {t}"),
        Action::Goto(t) => format!("goto {t}"),
    }
}

/// An nft-like rendering of statements, for messages.
pub(crate) fn describe(stmts: &[Stmt]) -> String {
    let keys = |k: &[Key]| k.iter().map(|k| k.text()).collect::<Vec<_>>().join(" . ");
    stmts
        .iter()
        .filter_map(|s| {
            Some(match s {
                Stmt::Match {
                    keys: k,
                    negated,
                    value,
                } => format!(
                    "{}{} {}",
                    keys(k),
                    if *negated { " !=" } else { "" },
                    value.text()
                ),
                Stmt::Compare { keys: k, op, value } => {
                    format!("{} {op} {}", keys(k), value.text())
                }
                Stmt::VMap { keys: k, map } => format!("{} vmap {}", keys(k), map.text()),
                Stmt::Verdict(a) => action_text(a),
                Stmt::Nat { kind, to } => {
                    format!("{kind:?} to {}", to.as_deref().unwrap_or("")).to_lowercase()
                }
                Stmt::Neutral => return None,
                Stmt::Unknown(w) | Stmt::Refused(w) => w.clone(),
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}
