//! `nft -j list ruleset` read through typed serde structs into the same statement model as the
//! text grammar. Objects and statements portplan does not know deserialize into an "other"
//! variant that keeps their name, so they make their rule uncertain instead of failing the file.

use super::ast::*;
use crate::audit::model::{Action, Location, NatKind, Unparsed};
use crate::audit::space::{PROTO_TCP, PROTO_UDP};
use crate::plan::Family;
use serde::Deserialize;
use serde::de::IgnoredAny;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Doc {
    nftables: Vec<ItemOr>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ItemOr {
    Known(Item),
    Other(IgnoredAny),
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Item {
    Table(TableJ),
    Chain(ChainJ),
    Set(SetJ),
    Map(SetJ),
    Rule(RuleJ),
}

#[derive(Deserialize)]
struct TableJ {
    family: String,
    name: String,
    #[serde(default)]
    flags: Option<OneOrMany>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct ChainJ {
    family: String,
    table: String,
    name: String,
    #[serde(rename = "type")]
    ctype: Option<String>,
    hook: Option<String>,
    prio: Option<i64>,
    policy: Option<String>,
    dev: Option<OneOrMany>,
}

#[derive(Deserialize)]
struct SetJ {
    family: String,
    table: String,
    name: String,
    #[serde(default)]
    elem: Vec<Expr>,
}

#[derive(Deserialize)]
struct RuleJ {
    family: String,
    table: String,
    chain: String,
    handle: Option<u64>,
    #[serde(default)]
    expr: Vec<StmtOr>,
}

#[derive(Deserialize, Debug)]
#[serde(untagged)]
enum Expr {
    Str(String),
    Num(i64),
    Bool(bool),
    List(Vec<Expr>),
    Obj(Box<ExprObj>),
    Other(IgnoredAny),
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "lowercase")]
enum ExprObj {
    Payload(PayloadJ),
    Meta(KeyJ),
    Ct(KeyJ),
    Prefix(PrefixJ),
    Range(Vec<Expr>),
    Set(Vec<Expr>),
    Concat(Vec<Expr>),
    Elem(ElemJ),
    Accept(IgnoredAny),
    Drop(IgnoredAny),
    Return(IgnoredAny),
    Continue(IgnoredAny),
    Jump(TargetJ),
    Goto(TargetJ),
}

#[derive(Deserialize, Debug)]
struct PayloadJ {
    protocol: Option<String>,
    field: Option<String>,
}

#[derive(Deserialize, Debug)]
struct KeyJ {
    key: String,
}

#[derive(Deserialize, Debug)]
struct PrefixJ {
    addr: String,
    len: u32,
}

#[derive(Deserialize, Debug)]
struct ElemJ {
    val: Expr,
}

#[derive(Deserialize, Debug)]
struct TargetJ {
    target: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StmtOr {
    Known(StmtJ),
    Other(BTreeMap<String, IgnoredAny>),
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum StmtJ {
    Match(MatchJ),
    Accept(IgnoredAny),
    Drop(IgnoredAny),
    Reject(IgnoredAny),
    Return(IgnoredAny),
    Continue(IgnoredAny),
    Jump(TargetJ),
    Goto(TargetJ),
    Counter(IgnoredAny),
    Log(IgnoredAny),
    Comment(IgnoredAny),
    Notrack(IgnoredAny),
    Mangle(MangleJ),
    Vmap(VmapJ),
    Dnat(NatJ),
    Snat(NatJ),
    Redirect(Option<NatJ>),
    Masquerade(IgnoredAny),
}

#[derive(Deserialize)]
struct MatchJ {
    op: String,
    left: Expr,
    right: Expr,
}

#[derive(Deserialize)]
struct MangleJ {
    key: Expr,
}

#[derive(Deserialize)]
struct VmapJ {
    key: Expr,
    data: Expr,
}

#[derive(Deserialize)]
struct NatJ {
    addr: Option<Expr>,
    port: Option<Expr>,
}

/// Reads the JSON document.
pub(crate) fn read(text: &str) -> Result<Ruleset, String> {
    let doc: Doc = serde_json::from_str(text).map_err(|e| format!("not nft JSON: {e}"))?;
    let mut rs = Ruleset::default();
    for item in doc.nftables {
        let ItemOr::Known(item) = item else { continue };
        match item {
            Item::Table(t) => {
                let ti = rs.table(&t.family, &t.name);
                let flags: Vec<&String> = match &t.flags {
                    Some(OneOrMany::One(f)) => vec![f],
                    Some(OneOrMany::Many(f)) => f.iter().collect(),
                    None => Vec::new(),
                };
                rs.tables[ti].dormant |= flags.iter().any(|f| *f == "dormant");
                // nft 1.0.6 prints something else than the flag's name here (the table's own
                // name for a dormant table): whether such a table is active cannot be told
                if let Some(odd) = flags
                    .iter()
                    .find(|f| !matches!(f.as_str(), "dormant" | "owner" | "persist"))
                {
                    rs.unparsed.push(Unparsed {
                        line: 0,
                        text: format!("table {} {}", t.family, t.name),
                        why: format!(
                            "table flags `{odd}` not understood: the table may be dormant"
                        ),
                    });
                }
            }
            Item::Chain(c) => {
                let ti = rs.table(&c.family, &c.table);
                let ci = rs.tables[ti].chain(&c.name);
                let chain = &mut rs.tables[ti].chains[ci];
                let at = Location {
                    line: None,
                    text: format!("chain {} {} {}", c.family, c.table, c.name),
                };
                if let Some(hook) = c.hook {
                    chain.base = Some(Base {
                        ctype: c.ctype.unwrap_or_else(|| "filter".into()),
                        hook,
                        prio: c.prio.unwrap_or(0),
                        devices: match c.dev {
                            Some(OneOrMany::One(d)) => vec![d],
                            Some(OneOrMany::Many(d)) => d,
                            None => vec![],
                        },
                    });
                    chain.base_at = Some(at.clone());
                }
                chain.policy_accept = c.policy.as_deref() != Some("drop");
                chain.policy_at = Some(at);
            }
            Item::Set(s) | Item::Map(s) => {
                let ti = rs.table(&s.family, &s.table);
                let elems: Vec<Elem> = s.elem.iter().map(elem_of).collect();
                rs.tables[ti].sets.entry(s.name).or_default().extend(elems);
            }
            Item::Rule(r) => {
                let ti = rs.table(&r.family, &r.table);
                let ci = rs.tables[ti].chain(&r.chain);
                let stmts: Vec<Stmt> = r
                    .expr
                    .iter()
                    .flat_map(|s| match s {
                        StmtOr::Known(StmtJ::Notrack(_)) => super::grammar::notrack().to_vec(),
                        s => vec![stmt_of(s)],
                    })
                    .collect();
                let at = Location {
                    line: None,
                    text: format!(
                        "rule handle {} in {} {}/{}: {}",
                        r.handle.unwrap_or(0),
                        r.family,
                        r.table,
                        r.chain,
                        describe(&stmts)
                    ),
                };
                rs.tables[ti].chains[ci].rules.push((at, stmts));
            }
        }
    }
    Ok(rs)
}

/// A set or map element: a value, or `[key, data]` for maps.
fn elem_of(e: &Expr) -> Elem {
    match e {
        Expr::List(kv) if kv.len() == 2 => Elem {
            key: value_of(&kv[0]),
            data: Some(data_of(&kv[1])),
        },
        Expr::Obj(o) => match o.as_ref() {
            ExprObj::Elem(inner) => elem_of(&inner.val),
            _ => Elem {
                key: value_of(e),
                data: None,
            },
        },
        _ => Elem {
            key: value_of(e),
            data: None,
        },
    }
}

fn data_of(e: &Expr) -> Data {
    if let Expr::Obj(o) = e {
        let v = match o.as_ref() {
            ExprObj::Accept(_) => Some(Action::Accept),
            ExprObj::Drop(_) => Some(Action::Drop),
            ExprObj::Return(_) => Some(Action::Return),
            ExprObj::Continue(_) => Some(Action::Continue),
            ExprObj::Jump(t) => Some(Action::Jump(t.target.clone())),
            ExprObj::Goto(t) => Some(Action::Goto(t.target.clone())),
            _ => None,
        };
        if let Some(a) = v {
            return Data::Verdict(a);
        }
    }
    Data::Value(value_of(e))
}

fn value_of(e: &Expr) -> Value {
    match e {
        Expr::Str(s) => match s.strip_prefix('@') {
            Some(n) => Value::SetRef(n.to_string()),
            None => Value::Atom(s.clone()),
        },
        Expr::Num(n) => Value::Atom(n.to_string()),
        Expr::Bool(b) => Value::Atom(b.to_string()),
        Expr::List(items) => Value::Set(items.iter().map(elem_of).collect()),
        Expr::Obj(o) => match o.as_ref() {
            ExprObj::Prefix(p) => Value::Atom(format!("{}/{}", p.addr, p.len)),
            ExprObj::Range(r) if r.len() == 2 => match (value_of(&r[0]), value_of(&r[1])) {
                (Value::Atom(a), Value::Atom(b)) => Value::Atom(format!("{a}-{b}")),
                _ => Value::Atom("?range".into()),
            },
            ExprObj::Set(items) => Value::Set(items.iter().map(elem_of).collect()),
            ExprObj::Concat(parts) => Value::Concat(parts.iter().map(value_of).collect()),
            ExprObj::Elem(inner) => value_of(&inner.val),
            other => Value::Atom(format!("?{other:?}").chars().take(60).collect()),
        },
        Expr::Other(_) => Value::Atom("?".into()),
    }
}

fn keys_of(e: &Expr) -> Vec<Key> {
    let one = |e: &Expr| -> Key {
        let Expr::Obj(o) = e else {
            return Key::Other("expression".into());
        };
        match o.as_ref() {
            ExprObj::Meta(k) => match k.key.as_str() {
                "iifname" | "iif" => Key::Iif,
                "oifname" | "oif" => Key::Oif,
                "l4proto" => Key::L4proto(None),
                "nfproto" | "protocol" => Key::Nfproto,
                other => Key::Other(format!("meta {other}")),
            },
            ExprObj::Ct(k) if k.key == "state" => Key::CtState,
            ExprObj::Ct(k) => Key::Other(format!("ct {}", k.key)),
            ExprObj::Payload(p) => {
                let proto = p.protocol.as_deref().unwrap_or("raw");
                let field = p.field.as_deref().unwrap_or("");
                match (proto, field) {
                    ("ip", "saddr") => Key::Saddr(Family::V4),
                    ("ip", "daddr") => Key::Daddr(Family::V4),
                    ("ip6", "saddr") => Key::Saddr(Family::V6),
                    ("ip6", "daddr") => Key::Daddr(Family::V6),
                    ("ip", "protocol") => Key::L4proto(Some(Family::V4)),
                    ("ip6", "nexthdr") => Key::L4proto(Some(Family::V6)),
                    ("tcp", "dport") => Key::Dport(PROTO_TCP),
                    ("udp", "dport") => Key::Dport(PROTO_UDP),
                    ("th", "dport") => Key::Dport(PROTO_TCP | PROTO_UDP),
                    (p, f) => Key::Other(format!("{p} {f}")),
                }
            }
            _ => Key::Other("expression".into()),
        }
    };
    match e {
        Expr::Obj(o) => match o.as_ref() {
            ExprObj::Concat(parts) => parts.iter().map(one).collect(),
            _ => vec![one(e)],
        },
        _ => vec![one(e)],
    }
}

fn stmt_of(s: &StmtOr) -> Stmt {
    let s = match s {
        StmtOr::Known(s) => s,
        StmtOr::Other(m) => {
            let name = m.keys().next().cloned().unwrap_or_default();
            return Stmt::Unknown(format!("statement `{name}`"));
        }
    };
    match s {
        StmtJ::Match(m) => {
            let keys = keys_of(&m.left);
            // a flag list (`ct state established,related`) comes as a JSON array
            let value = value_of(&m.right);
            match m.op.as_str() {
                "==" | "in" => Stmt::Match {
                    keys,
                    negated: false,
                    value,
                },
                "!=" => Stmt::Match {
                    keys,
                    negated: true,
                    value,
                },
                op => Stmt::Compare {
                    keys,
                    op: op.to_string(),
                    value,
                },
            }
        }
        StmtJ::Accept(_) => Stmt::Verdict(Action::Accept),
        StmtJ::Drop(_) | StmtJ::Reject(_) => Stmt::Verdict(Action::Drop),
        StmtJ::Return(_) => Stmt::Verdict(Action::Return),
        StmtJ::Continue(_) => Stmt::Neutral,
        StmtJ::Jump(t) => Stmt::Verdict(Action::Jump(t.target.clone())),
        StmtJ::Goto(t) => Stmt::Verdict(Action::Goto(t.target.clone())),
        StmtJ::Counter(_) | StmtJ::Log(_) | StmtJ::Comment(_) => Stmt::Neutral,
        // read with its verdict where the rule is built (see `grammar::notrack`)
        StmtJ::Notrack(_) => super::grammar::notrack()[0].clone(),
        StmtJ::Mangle(m) => match keys_of(&m.key).iter().find(|k| k.rewrite_moves_flow()) {
            Some(k) => Stmt::Unknown(format!("header rewrite `{} set`", k.text())),
            None => Stmt::Neutral,
        },
        StmtJ::Vmap(v) => Stmt::VMap {
            keys: keys_of(&v.key),
            map: value_of(&v.data),
        },
        StmtJ::Dnat(n) | StmtJ::Snat(n) => Stmt::Nat {
            kind: if matches!(s, StmtJ::Dnat(_)) {
                NatKind::Destination
            } else {
                NatKind::Source
            },
            to: Some(nat_text(n)),
        },
        StmtJ::Redirect(n) => Stmt::Nat {
            kind: NatKind::Destination,
            to: Some(format!(
                "__redirect{}",
                n.as_ref()
                    .and_then(|n| n.port.as_ref())
                    .map(|p| match value_of(p) {
                        Value::Atom(a) => format!(":{a}"),
                        _ => ":?".into(),
                    })
                    .unwrap_or_default()
            )),
        },
        StmtJ::Masquerade(_) => Stmt::Nat {
            kind: NatKind::Masquerade,
            to: None,
        },
    }
}

/// The target in the text form the text grammar yields (`addr`, `addr:port`, `[v6]:port`).
fn nat_text(n: &NatJ) -> String {
    let atom = |e: &Option<Expr>| match e.as_ref().map(value_of) {
        Some(Value::Atom(a)) => Some(a),
        Some(_) => Some("?".into()),
        None => None,
    };
    match (atom(&n.addr), atom(&n.port)) {
        (Some(a), Some(p)) if a.contains(':') => format!("[{a}]:{p}"),
        (Some(a), Some(p)) => format!("{a}:{p}"),
        (Some(a), None) => a,
        (None, _) => "?".into(),
    }
}
