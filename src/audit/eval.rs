//! The evaluator: pushes a region of packets through the configuration the way the kernel or the
//! ASA would — rule by rule, into jumps and gotos, back on returns, to the policy at the end — and
//! says for each part of the region who decided and how. A rule marked uncertain splits nothing:
//! the packets it may match go on as if it did not, tagged with its line; when the two possible
//! outcomes differ, the verdict is "uncertain" and names that line.

use super::model::{Action, Config, Location, Packet};
use super::space::Region;
use crate::plan::Family;

/// Where a piece of the region ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    Allowed(Location),
    Denied(Location),
    /// The configuration cannot be read well enough to tell; the locations say why.
    Uncertain(Vec<Location>),
}

#[derive(Debug, Clone)]
pub struct Piece {
    pub region: Region,
    pub fate: Fate,
}

/// What an uncertain rule would have done: accept, drop, or something that cannot be summarised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Would {
    Accept,
    Drop,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Tagged {
    region: Region,
    maybe: Vec<(Location, Would)>,
}

#[derive(Clone)]
enum ChainEnd {
    Accept(Location),
    Drop(Location),
    Return,
    Uncertain(Location),
}

const MAX_DEPTH: usize = 64;
/// Pieces a region may break into before the evaluation gives up on it (as "uncertain").
pub const DEFAULT_BUDGET: usize = 200_000;

/// Chain results kept for reuse: the same chain entered with the same packets ends the same way,
/// so a chain jumped to twice (or from many places) is evaluated once per distinct input.
const MEMO_LIMIT: usize = 4096;
/// Largest input (in boxes) and output (in pieces) a remembered chain result may have.
const MEMO_INPUT: usize = 256;
const MEMO_OUTPUT: usize = 1024;

type Memo = std::collections::HashMap<(String, Vec<Tagged>), Vec<(Tagged, ChainEnd)>>;

struct Ctx<'a> {
    budget: usize,
    memo: std::cell::RefCell<Memo>,
    /// Chains being evaluated, outermost first: a jump back into one of them is a loop.
    active: std::cell::RefCell<Vec<String>>,
    config: &'a Config,
    family: Family,
    iif: &'a str,
    oif: &'a str,
    packet: Packet,
}

impl Ctx<'_> {
    fn run(&self, chain: &str, input: Vec<Tagged>, depth: usize) -> Vec<(Tagged, ChainEnd)> {
        // only small inputs are remembered: hashing and cloning a fragmented region costs more
        // than it saves, and such a region seldom comes twice
        let small = input.iter().map(|t| t.region.0.len()).sum::<usize>() <= MEMO_INPUT;
        if small {
            let key = (chain.to_string(), input);
            if let Some(done) = self.memo.borrow().get(&key) {
                return done.clone();
            }
            let (chain_key, input) = key;
            let out = self.run_fresh(chain, input.clone(), depth);
            let mut memo = self.memo.borrow_mut();
            if memo.len() < MEMO_LIMIT && out.len() <= MEMO_OUTPUT {
                memo.insert((chain_key, input), out.clone());
            }
            return out;
        }
        self.run_fresh(chain, input, depth)
    }

    fn run_fresh(&self, chain: &str, input: Vec<Tagged>, depth: usize) -> Vec<(Tagged, ChainEnd)> {
        if let Some(at) = self.active.borrow().iter().position(|c| c == chain) {
            // the kernel refuses such a ruleset (iptables-restore: "too many levels of links")
            let mut cycle: Vec<String> = self.active.borrow()[at..].to_vec();
            cycle.push(chain.to_string());
            let at = Location {
                line: None,
                text: format!("jumps loop: {}", cycle.join(" -> ")),
            };
            return input
                .into_iter()
                .map(|t| (t, ChainEnd::Uncertain(at.clone())))
                .collect();
        }
        self.active.borrow_mut().push(chain.to_string());
        let out = self.run_chain(chain, input, depth);
        self.active.borrow_mut().pop();
        out
    }

    fn run_chain(&self, chain: &str, input: Vec<Tagged>, depth: usize) -> Vec<(Tagged, ChainEnd)> {
        let Some(chain_def) = self.config.chain(chain) else {
            let at = Location {
                line: None,
                text: format!("chain `{chain}` is not defined"),
            };
            return input
                .into_iter()
                .map(|t| (t, ChainEnd::Uncertain(at.clone())))
                .collect();
        };
        if depth > MAX_DEPTH {
            let at = Location {
                line: None,
                text: format!("jumps nest deeper than {MAX_DEPTH} at `{chain}`"),
            };
            return input
                .into_iter()
                .map(|t| (t, ChainEnd::Uncertain(at.clone())))
                .collect();
        }
        let mut pending = input;
        let mut out = Vec::new();
        let rules = &chain_def.rules;
        let mut at = 0;
        while at < rules.len() {
            let rule = &rules[at];
            at += 1;
            if pending.is_empty() {
                break;
            }
            if !rule.applies(self.family, self.iif, self.oif, self.packet) {
                continue;
            }
            if let Some((batch, next)) = self.batch(rules, at - 1) {
                at = next;
                pending = match self.run_batch(&batch, pending, &mut out) {
                    Ok(p) => p,
                    Err(()) => return out,
                };
                continue;
            }
            let matched = rule.product(self.family);
            if matched.is_empty() {
                continue;
            }
            // most rules touch none of the pending packets: skip them without moving anything
            let touches = pending
                .iter()
                .any(|t| t.region.0.iter().any(|b| matched.touches(b)));
            if !touches {
                continue;
            }
            let mut next = Vec::with_capacity(pending.len());
            let mut pieces = 0usize;
            for t in pending {
                let (hit, miss) = match t
                    .region
                    .split_by(matched, self.budget.saturating_sub(pieces))
                {
                    Ok(parts) => parts,
                    Err(_) => {
                        let at = Location {
                            line: rule.at.line,
                            text: format!(
                                "evaluation stopped here: the region broke into more than {} pieces",
                                self.budget
                            ),
                        };
                        out.push((t, ChainEnd::Uncertain(at)));
                        continue;
                    }
                };
                pieces += hit.0.len() + miss.0.len();
                if hit.is_empty() {
                    next.push(Tagged {
                        region: miss,
                        maybe: t.maybe,
                    });
                    continue;
                }
                if !miss.is_empty() {
                    next.push(Tagged {
                        region: miss,
                        maybe: t.maybe.clone(),
                    });
                }
                let hit = Tagged {
                    region: hit,
                    maybe: t.maybe,
                };
                if rule.uncertain.is_some() {
                    let would = match rule.action {
                        Action::Accept => Would::Accept,
                        Action::Drop => Would::Drop,
                        Action::Continue => {
                            next.push(hit);
                            continue;
                        }
                        _ => Would::Unknown,
                    };
                    let mut maybe = hit.maybe;
                    maybe.push((rule.at.clone(), would));
                    next.push(Tagged {
                        region: hit.region,
                        maybe,
                    });
                    continue;
                }
                match &rule.action {
                    Action::Accept => out.push((hit, ChainEnd::Accept(rule.at.clone()))),
                    Action::Drop => out.push((hit, ChainEnd::Drop(rule.at.clone()))),
                    Action::Return => out.push((hit, ChainEnd::Return)),
                    Action::Continue => next.push(hit),
                    // a parser marks such rules uncertain; should one not, stay honest anyway
                    Action::Unknown => out.push((
                        hit,
                        ChainEnd::Uncertain(Location {
                            line: rule.at.line,
                            text: format!("{}: verdict not understood", rule.at.text),
                        }),
                    )),
                    Action::Jump(target) => {
                        for (piece, end) in self.run(target, vec![hit], depth + 1) {
                            match end {
                                ChainEnd::Return => next.push(piece),
                                other => out.push((piece, other)),
                            }
                        }
                    }
                    Action::Goto(target) => out.extend(self.run(target, vec![hit], depth + 1)),
                }
            }
            if next.iter().map(|t| t.region.0.len()).sum::<usize>() > self.budget {
                let at = Location {
                    line: rule.at.line,
                    text: format!(
                        "evaluation stopped here: the region broke into more than {} pieces",
                        self.budget
                    ),
                };
                out.extend(
                    next.into_iter()
                        .map(|t| (t, ChainEnd::Uncertain(at.clone()))),
                );
                return out;
            }
            pending = next;
        }
        out.extend(pending.into_iter().map(|t| (t, ChainEnd::Return)));
        out
    }
}

/// A run of consecutive rules that end the same way (accept or drop, read in full) and differ
/// only in their source addresses, or only in their destination addresses: a rule-per-address
/// blocklist. The run is split off the pending packets in one pass, and each piece that is hit
/// is credited to the rule whose addresses hold it, which is what evaluating the rules one by
/// one gives (their addresses do not overlap), without a pass over every pending piece per rule.
struct Batch<'r> {
    product: super::space::Product,
    /// The varying dimension: each interval with the rule it belongs to, sorted.
    owners: Vec<((u128, u128), &'r super::model::Rule)>,
    by_src: bool,
    accept: bool,
}

/// Fewest rules worth treating as a [`Batch`].
const BATCH_MIN: usize = 8;

impl<'a> Ctx<'a> {
    fn batch<'r>(
        &self,
        rules: &'r [super::model::Rule],
        start: usize,
    ) -> Option<(Batch<'r>, usize)> {
        let certain_verdict = |r: &super::model::Rule| {
            r.uncertain.is_none() && matches!(r.action, Action::Accept | Action::Drop)
        };
        let first = &rules[start];
        if !certain_verdict(first) {
            return None;
        }
        let p0 = first.product(self.family);
        let applies =
            |r: &super::model::Rule| r.applies(self.family, self.iif, self.oif, self.packet);
        let second = rules[start + 1..].iter().take(4).find(|r| applies(r))?;
        let p1 = second.product(self.family);
        let by_src = if p1.dst == p0.dst && p1.proto == p0.proto && p1.port == p0.port {
            true
        } else if p1.src == p0.src && p1.proto == p0.proto && p1.port == p0.port {
            false
        } else {
            return None;
        };
        let mut taken: std::collections::BTreeMap<u128, ((u128, u128), &'r super::model::Rule)> =
            Default::default();
        let mut end = start;
        let mut count = 0;
        for (i, r) in rules.iter().enumerate().skip(start) {
            if !applies(r) {
                end = i + 1;
                continue;
            }
            if !certain_verdict(r) || r.action != first.action {
                break;
            }
            let p = r.product(self.family);
            let same_rest = if by_src {
                p.dst == p0.dst && p.proto == p0.proto && p.port == p0.port
            } else {
                p.src == p0.src && p.proto == p0.proto && p.port == p0.port
            };
            if !same_rest {
                break;
            }
            let list = if by_src { &p.src } else { &p.dst };
            let overlaps = list.iter().any(|&(a, b)| {
                taken
                    .range(..=b)
                    .next_back()
                    .is_some_and(|(_, ((_, e), _))| *e >= a)
            });
            if overlaps {
                break;
            }
            for &iv in list {
                taken.insert(iv.0, (iv, r));
            }
            count += 1;
            end = i + 1;
        }
        if count < BATCH_MIN {
            return None;
        }
        let owners: Vec<((u128, u128), &super::model::Rule)> = taken.into_values().collect();
        let varying: Vec<(u128, u128)> = owners.iter().map(|(iv, _)| *iv).collect();
        let product = super::space::Product {
            src: if by_src {
                varying.clone()
            } else {
                p0.src.clone()
            },
            dst: if by_src { p0.dst.clone() } else { varying },
            proto: p0.proto,
            port: p0.port.clone(),
        };
        Some((
            Batch {
                product,
                owners,
                by_src,
                accept: first.action == Action::Accept,
            },
            end,
        ))
    }

    /// Splits `pending` by a batch: the hits end in `out`, credited to their rules; the misses
    /// are returned. `Err` when the pieces exceed the budget (what is left is then in `out` as
    /// uncertain).
    fn run_batch(
        &self,
        batch: &Batch,
        pending: Vec<Tagged>,
        out: &mut Vec<(Tagged, ChainEnd)>,
    ) -> Result<Vec<Tagged>, ()> {
        let mut next = Vec::with_capacity(pending.len());
        for t in pending {
            if !t.region.0.iter().any(|b| batch.product.touches(b)) {
                next.push(t);
                continue;
            }
            // hits are final (they leave with their rule's verdict): only the misses stay in
            // the pending budget, checked below
            let (hit, miss) = match t
                .region
                .split_by(&batch.product, self.budget.saturating_mul(4))
            {
                Ok(parts) => parts,
                Err(_) => {
                    let at = Location {
                        line: batch.owners.first().and_then(|(_, r)| r.at.line),
                        text: format!(
                            "evaluation stopped here: the region broke into more than {} pieces",
                            self.budget
                        ),
                    };
                    out.push((t, ChainEnd::Uncertain(at)));
                    continue;
                }
            };
            if !miss.is_empty() {
                next.push(Tagged {
                    region: miss,
                    maybe: t.maybe.clone(),
                });
            }
            // credit each hit box to the rule whose interval holds it (hits lie inside one)
            let mut by_rule: Vec<(usize, Vec<super::space::PacketBox>)> = Vec::new();
            let mut slot: std::collections::HashMap<usize, usize> = Default::default();
            for b in hit.0 {
                let key = if batch.by_src { b.src.0 } else { b.dst.0 };
                let i = batch
                    .owners
                    .partition_point(|((a, _), _)| *a <= key)
                    .saturating_sub(1);
                let g = *slot.entry(i).or_insert_with(|| {
                    by_rule.push((i, Vec::new()));
                    by_rule.len() - 1
                });
                by_rule[g].1.push(b);
            }
            for (i, boxes) in by_rule {
                let at = batch.owners[i].1.at.clone();
                let piece = Tagged {
                    region: Region(boxes),
                    maybe: t.maybe.clone(),
                };
                out.push((
                    piece,
                    if batch.accept {
                        ChainEnd::Accept(at)
                    } else {
                        ChainEnd::Drop(at)
                    },
                ));
            }
        }
        if next.iter().map(|t| t.region.0.len()).sum::<usize>() > self.budget {
            let at = Location {
                line: batch.owners.last().and_then(|(_, r)| r.at.line),
                text: format!(
                    "evaluation stopped here: the region broke into more than {} pieces",
                    self.budget
                ),
            };
            out.extend(
                next.into_iter()
                    .map(|t| (t, ChainEnd::Uncertain(at.clone()))),
            );
            return Err(());
        }
        Ok(next)
    }
}

/// Final fate of a tagged piece given what the clear path decided.
fn settle(t: Tagged, clear: Fate) -> Piece {
    let disagree: Vec<Location> = t
        .maybe
        .iter()
        .filter(|(_, would)| {
            !matches!(
                (&clear, would),
                (Fate::Allowed(_), Would::Accept) | (Fate::Denied(_), Would::Drop)
            )
        })
        .map(|(at, _)| at.clone())
        .collect();
    let fate = if disagree.is_empty() {
        clear
    } else {
        match clear {
            Fate::Uncertain(mut at) => {
                at.extend(disagree);
                Fate::Uncertain(at)
            }
            _ => Fate::Uncertain(disagree),
        }
    };
    Piece {
        region: t.region,
        fate,
    }
}

/// Evaluates new connections in `region` (one family) between two interfaces of the firewall.
pub fn evaluate(
    config: &Config,
    family: Family,
    iif: &str,
    oif: &str,
    region: Region,
) -> Vec<Piece> {
    evaluate_within(config, family, iif, oif, region, DEFAULT_BUDGET)
}

/// [`evaluate`] with a limit on how many pieces the region may break into; past it, what is left
/// is reported as uncertain at the rule where the limit was hit.
pub fn evaluate_within(
    config: &Config,
    family: Family,
    iif: &str,
    oif: &str,
    region: Region,
    budget: usize,
) -> Vec<Piece> {
    evaluate_packet(config, family, iif, oif, region, Packet::NEW, budget)
}

/// [`evaluate_within`] for one kind of packet of a connection (see [`Packet`]).
pub fn evaluate_packet(
    config: &Config,
    family: Family,
    iif: &str,
    oif: &str,
    region: Region,
    packet: Packet,
    budget: usize,
) -> Vec<Piece> {
    if !config.families.contains(&family) {
        let at = Location {
            line: None,
            text: format!(
                "this {} configuration does not cover {}",
                config.format,
                family.as_str()
            ),
        };
        return vec![Piece {
            region,
            fate: Fate::Uncertain(vec![at]),
        }];
    }
    let ctx = Ctx {
        budget,
        memo: Default::default(),
        active: Default::default(),
        config,
        family,
        iif,
        oif,
        packet,
    };
    let entries: Vec<_> = config
        .entries
        .iter()
        .filter(|e| {
            // an `ip` or `ip6` table's chains (and their policy) see only their family
            e.family.is_none_or(|f| f == family)
                && e.iif.as_deref().is_none_or(|i| i == iif)
                && e.oif.as_deref().is_none_or(|o| o == oif)
                && !(e.first_packet_only && packet.established)
        })
        .collect();
    if entries.is_empty() {
        let at = Location {
            line: None,
            text: format!(
                "nothing in this {} configuration filters {iif} -> {oif}",
                config.format
            ),
        };
        return vec![Piece {
            region,
            fate: Fate::Uncertain(vec![at]),
        }];
    }
    let mut done: Vec<Piece> = Vec::new();
    let mut flowing = vec![Tagged {
        region,
        maybe: Vec::new(),
    }];
    let mut accepted: Vec<(Tagged, Location)> = Vec::new();
    // a packet must pass every entry (nft base chains in priority order, ASA in and out ACLs)
    for entry in entries {
        accepted = Vec::new();
        for (t, end) in ctx.run(&entry.chain, flowing, 0) {
            match end {
                ChainEnd::Accept(at) => accepted.push((t, at)),
                ChainEnd::Drop(at) => done.push(settle(t, Fate::Denied(at))),
                ChainEnd::Uncertain(at) => done.push(settle(t, Fate::Uncertain(vec![at]))),
                ChainEnd::Return if entry.policy_accept => {
                    accepted.push((t, entry.policy_at.clone()))
                }
                ChainEnd::Return => done.push(settle(t, Fate::Denied(entry.policy_at.clone()))),
            }
        }
        flowing = accepted.iter().map(|(t, _)| t.clone()).collect();
    }
    for (t, at) in accepted {
        done.push(settle(t, Fate::Allowed(at)));
    }
    done
}

/// Boxes without repeats: replies split by port come back as one box per port range, and all
/// of them project onto the same (client, server) pair.
fn distinct(boxes: impl Iterator<Item = super::space::PacketBox>) -> Region {
    let mut v: Vec<super::space::PacketBox> = boxes.collect();
    v.sort_unstable_by_key(|b| (b.src, b.dst, b.proto, b.port));
    v.dedup();
    Region(v)
}

/// The ports a client's connections leave from, the destination port of the server's replies:
/// Linux's default ephemeral range (32768-60999) and Windows' (the IANA dynamic range,
/// 49152-65535) together.
pub const CLIENT_PORTS: (u16, u16) = (32768, u16::MAX);

/// A connection works only when the packets after its first one pass too: the client's later
/// packets (established, ACK) and the server's replies (established, addresses swapped, from the
/// service port to the client's port, SYN+ACK first). This checks both for what `pieces` allows
/// and cuts what they drop (or may drop) out of the allowed part, with the deciding line labelled
/// "replies" or "later packets". Source ports are not modelled: a rule that matches on them is
/// read in part, so the replies it may decide come out uncertain, never allowed.
///
/// The ASA passes the return traffic of a connection it admitted whatever its ACLs say, so an
/// ASA configuration's pieces are returned as they are.
pub fn with_replies(
    config: &Config,
    family: Family,
    iif: &str,
    oif: &str,
    pieces: Vec<Piece>,
) -> Vec<Piece> {
    use super::space::PacketBox;
    if config.format == "asa" {
        return pieces;
    }
    let allowed: Vec<PacketBox> = pieces
        .iter()
        .filter(|p| matches!(p.fate, Fate::Allowed(_)))
        .flat_map(|p| p.region.0.iter().copied())
        .collect();
    if allowed.is_empty() {
        return pieces;
    }
    let forward = Region(allowed);
    let swap = |b: &PacketBox, port: (u16, u16)| PacketBox {
        src: b.dst,
        dst: b.src,
        proto: b.proto,
        port,
    };
    let reply = Region(forward.0.iter().map(|b| swap(b, CLIENT_PORTS)).collect());
    let flags_matter = config
        .chains
        .iter()
        .any(|c| c.rules.iter().any(|r| r.tcp_flags.is_some()));
    // (what failed, in forward terms) for each later kind of packet
    let mut cuts: Vec<(Region, Fate)> = Vec::new();
    let mut collect = |found: Vec<Piece>, is_reply: bool| {
        let label = |at: &Location| Location {
            line: at.line,
            text: if is_reply {
                format!("replies (server to client): {}", at.text)
            } else {
                format!("later packets of the connection: {}", at.text)
            },
        };
        for p in found {
            let (fate, region) = match &p.fate {
                Fate::Allowed(_) => continue,
                Fate::Denied(at) if is_reply => {
                    // replies to every client port dropped: the flow cannot work; to some only,
                    // it works or not depending on the port the client picks
                    let (all, some): (Vec<PacketBox>, Vec<PacketBox>) =
                        p.region.0.iter().partition(|b| b.port == CLIENT_PORTS);
                    if !some.is_empty() {
                        let mut ports: Vec<String> = some
                            .iter()
                            .map(|b| match b.port {
                                (a, z) if a == z => a.to_string(),
                                (a, z) => format!("{a}-{z}"),
                            })
                            .collect();
                        ports.sort();
                        ports.dedup();
                        ports.truncate(6);
                        let at = Location {
                            line: at.line,
                            text: format!(
                                "replies (server to client) to client ports {} only: {}",
                                ports.join(","),
                                at.text
                            ),
                        };
                        cuts.push((
                            distinct(some.iter().map(|b| swap(b, (0, u16::MAX)))),
                            Fate::Uncertain(vec![at]),
                        ));
                    }
                    (Fate::Denied(label(at)), Region(all))
                }
                Fate::Denied(at) => (Fate::Denied(label(at)), p.region),
                Fate::Uncertain(at) => (Fate::Uncertain(at.iter().map(label).collect()), p.region),
            };
            if region.is_empty() {
                continue;
            }
            let region = if is_reply {
                distinct(region.0.iter().map(|b| swap(b, (0, u16::MAX))))
            } else {
                region
            };
            cuts.push((region, fate));
        }
    };
    let later = evaluate_packet(
        config,
        family,
        iif,
        oif,
        forward.clone(),
        Packet::ACK,
        DEFAULT_BUDGET,
    );
    collect(later, false);
    let first_reply = evaluate_packet(
        config,
        family,
        oif,
        iif,
        reply.clone(),
        Packet::SYN_ACK,
        DEFAULT_BUDGET,
    );
    collect(first_reply, true);
    if flags_matter {
        let rest = evaluate_packet(config, family, oif, iif, reply, Packet::ACK, DEFAULT_BUDGET);
        collect(rest, true);
    }
    if cuts.is_empty() {
        return pieces;
    }
    // what is denied wins over what is uncertain
    cuts.sort_by_key(|(_, f)| !matches!(f, Fate::Denied(_)));
    let mut out = Vec::new();
    for p in pieces {
        if !matches!(p.fate, Fate::Allowed(_)) {
            out.push(p);
            continue;
        }
        let mut left = p.region;
        for (cut, fate) in &cuts {
            if left.is_empty() {
                break;
            }
            let hit = left.intersect(cut);
            if hit.is_empty() {
                continue;
            }
            left = left.minus(cut);
            out.push(Piece {
                region: hit,
                fate: fate.clone(),
            });
        }
        if !left.is_empty() {
            out.push(Piece {
                region: left,
                fate: p.fate,
            });
        }
    }
    out
}
