//! The evaluator: pushes a region of packets through the configuration the way the kernel or the
//! ASA would — rule by rule, into jumps and gotos, back on returns, to the policy at the end — and
//! says for each part of the region who decided and how. A rule marked uncertain splits nothing:
//! the packets it may match go on as if it did not, tagged with its line; when the two possible
//! outcomes differ, the verdict is "uncertain" and names that line.
//!
//! Inside a chain the packets still pending are kept in a [`SourceIndex`]: a rule finds the pieces
//! its sources meet by a range query and splits only those (a rule that misses the chain's input
//! box altogether is skipped at once), so a chain of 100,000 narrow rules over a region that breaks
//! into 100,000 pieces costs a few map operations per rule, not a pass over every piece.

use super::model::{Action, Config, Location, Packet};
use super::space::{PacketBox, Region, SourceIndex};
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

/// What uncertain rules on the way would have done with a piece.
type Maybe = Vec<(Location, Would)>;

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
    /// Which packet of a connection is evaluated (the first, a later one, a reply).
    packet: Packet,
}

impl Ctx<'_> {
    fn run(&self, chain: &str, input: Vec<Tagged>, depth: usize) -> Vec<(Tagged, ChainEnd)> {
        if depth == 0 {
            // an entry chain is run once per evaluation: hashing and copying its input (the
            // whole region, possibly 100,000 boxes) for the memo would be pure cost
            self.active.borrow_mut().push(chain.to_string());
            let out = self.run_chain(chain, input, depth);
            self.active.borrow_mut().pop();
            return out;
        }
        let key = (chain.to_string(), input);
        if let Some(done) = self.memo.borrow().get(&key) {
            return done.clone();
        }
        let (chain_key, input) = key;
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
        let out = self.run_chain(chain, input.clone(), depth);
        self.active.borrow_mut().pop();
        let mut memo = self.memo.borrow_mut();
        if memo.len() < MEMO_LIMIT {
            memo.insert((chain_key, input), out.clone());
        }
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
        // pending packets by tagging, each indexed by source so a narrow rule touches only the
        // groups it meets
        let mut pending: Vec<(Maybe, SourceIndex)> = Vec::new();
        for t in input {
            merge(&mut pending, t.maybe, t.region.0);
        }
        // nothing pending later lies outside what came in: a rule that misses this box is skipped
        let bound = pending
            .iter()
            .filter_map(|(_, ix)| ix.bounds())
            .reduce(|a, b| PacketBox {
                src: (a.src.0.min(b.src.0), a.src.1.max(b.src.1)),
                dst: (a.dst.0.min(b.dst.0), a.dst.1.max(b.dst.1)),
                proto: a.proto | b.proto,
                port: (a.port.0.min(b.port.0), a.port.1.max(b.port.1)),
            });
        let mut out = Vec::new();
        let Some(bound) = bound else {
            return out;
        };
        let stopped = |rule: &super::model::Rule| Location {
            line: rule.at.line,
            text: format!(
                "evaluation stopped here: the region broke into more than {} pieces",
                self.budget
            ),
        };
        for rule in &chain_def.rules {
            pending.retain(|(_, ix)| !ix.is_empty());
            if pending.is_empty() {
                break;
            }
            if !rule.applies(self.family, self.iif, self.oif, self.packet) {
                continue;
            }
            let matched = rule.product(self.family);
            if matched.is_empty() || !matched.touches(&bound) {
                continue;
            }
            let mut taken: Vec<(Maybe, Vec<PacketBox>)> = Vec::new();
            let mut i = 0;
            while i < pending.len() {
                let held: usize = pending.iter().map(|(_, ix)| ix.len()).sum();
                let room = self.budget.saturating_sub(held - pending[i].1.len());
                match pending[i].1.take(matched, room) {
                    Ok(hit) => {
                        if !hit.is_empty() {
                            taken.push((pending[i].0.clone(), hit));
                        }
                        i += 1;
                    }
                    Err(hit) => {
                        // this tagging cannot be followed further: all of it is uncertain here
                        let (maybe, ix) = pending.remove(i);
                        let mut boxes = ix.into_region().0;
                        boxes.extend(hit);
                        out.push((
                            Tagged {
                                region: Region(boxes),
                                maybe,
                            },
                            ChainEnd::Uncertain(stopped(rule)),
                        ));
                    }
                }
            }
            for (maybe, hit) in taken {
                if rule.uncertain.is_some() {
                    let would = match rule.action {
                        Action::Accept => Would::Accept,
                        Action::Drop => Would::Drop,
                        Action::Continue => {
                            merge(&mut pending, maybe, hit);
                            continue;
                        }
                        _ => Would::Unknown,
                    };
                    let mut maybe = maybe;
                    maybe.push((rule.at.clone(), would));
                    merge(&mut pending, maybe, hit);
                    continue;
                }
                let hit = Tagged {
                    region: Region(hit),
                    maybe,
                };
                match &rule.action {
                    Action::Accept => out.push((hit, ChainEnd::Accept(rule.at.clone()))),
                    Action::Drop => out.push((hit, ChainEnd::Drop(rule.at.clone()))),
                    Action::Return => out.push((hit, ChainEnd::Return)),
                    Action::Continue => merge(&mut pending, hit.maybe, hit.region.0),
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
                                ChainEnd::Return => {
                                    merge(&mut pending, piece.maybe, piece.region.0)
                                }
                                other => out.push((piece, other)),
                            }
                        }
                    }
                    Action::Goto(target) => out.extend(self.run(target, vec![hit], depth + 1)),
                }
            }
            if pending.iter().map(|(_, ix)| ix.len()).sum::<usize>() > self.budget {
                let at = stopped(rule);
                out.extend(pending.into_iter().map(|(maybe, ix)| {
                    (
                        Tagged {
                            region: ix.into_region(),
                            maybe,
                        },
                        ChainEnd::Uncertain(at.clone()),
                    )
                }));
                return out;
            }
        }
        out.extend(
            pending
                .into_iter()
                .filter(|(_, ix)| !ix.is_empty())
                .map(|(maybe, ix)| {
                    (
                        Tagged {
                            region: ix.into_region(),
                            maybe,
                        },
                        ChainEnd::Return,
                    )
                }),
        );
        out
    }
}

/// Adds boxes to the pending packets of their tagging.
fn merge(pending: &mut Vec<(Maybe, SourceIndex)>, maybe: Maybe, boxes: Vec<PacketBox>) {
    if boxes.is_empty() {
        return;
    }
    match pending.iter_mut().find(|(m, _)| *m == maybe) {
        Some((_, ix)) => ix.extend(boxes),
        None => {
            let mut ix = SourceIndex::default();
            ix.extend(boxes);
            pending.push((maybe, ix));
        }
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
    let ctx_at = |before_conntrack: bool| Ctx {
        budget,
        memo: Default::default(),
        active: Default::default(),
        config,
        family,
        iif,
        oif,
        packet: Packet {
            before_conntrack,
            ..packet
        },
    };
    // chains before conntrack see another state than those after: each kind has its own memo
    let ctx = ctx_at(false);
    let raw_ctx = ctx_at(true);
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
        let ctx = if entry.before_conntrack {
            &raw_ctx
        } else {
            &ctx
        };
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
            let (hit, rest, undecided) = split_by(left, cut);
            left = rest;
            if !undecided.is_empty() {
                // met by too many boxes of another shape to split: part of it may fail
                let at = match fate {
                    Fate::Denied(at) => vec![at.clone()],
                    Fate::Uncertain(at) => at.clone(),
                    Fate::Allowed(at) => vec![at.clone()],
                };
                out.push(Piece {
                    region: undecided,
                    fate: Fate::Uncertain(at),
                });
            }
            if hit.is_empty() {
                continue;
            }
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

/// `left` split into what `cut` holds, the rest, and what could not be split exactly. Each box of
/// `left` meets only the boxes of `cut` whose sources overlap its own, found by a binary search over
/// the cut sorted by source (with the running maximum of source ends). Against many boxes that
/// differ in one dimension only (a blocklist: one address per box) the box is split along that
/// dimension by merged intervals; against many boxes of any other shape it is not split but
/// returned as undecided, so the caller can call it uncertain instead of spending minutes (a
/// 100,000-host ipset once took six).
fn split_by(left: Region, cut: &Region) -> (Region, Region, Region) {
    use super::space::PacketBox;
    /// Above this many overlapping boxes, only the one-dimension split is tried.
    const EXACT: usize = 256;
    let mut boxes: Vec<PacketBox> = cut.0.clone();
    boxes.sort_by_key(|b| b.src.0);
    let mut reach = Vec::with_capacity(boxes.len());
    let mut most = 0u128;
    for b in &boxes {
        most = most.max(b.src.1);
        reach.push(most);
    }
    let clip = |a: &PacketBox, b: &PacketBox| -> Option<PacketBox> {
        let c = PacketBox {
            src: (a.src.0.max(b.src.0), a.src.1.min(b.src.1)),
            dst: (a.dst.0.max(b.dst.0), a.dst.1.min(b.dst.1)),
            proto: a.proto & b.proto,
            port: (a.port.0.max(b.port.0), a.port.1.min(b.port.1)),
        };
        (c.src.0 <= c.src.1 && c.dst.0 <= c.dst.1 && c.port.0 <= c.port.1 && c.proto != 0)
            .then_some(c)
    };
    let (mut hit, mut rest, mut undecided) = (Vec::new(), Vec::new(), Vec::new());
    for b in left.0 {
        let end = boxes.partition_point(|c| c.src.0 <= b.src.1);
        let mut near: Vec<PacketBox> = Vec::new();
        let mut j = end;
        while j > 0 && reach[j - 1] >= b.src.0 {
            j -= 1;
            if let Some(c) = clip(&b, &boxes[j]) {
                near.push(c);
            }
        }
        if near.is_empty() {
            rest.push(b);
            continue;
        }
        if near.len() <= EXACT {
            let one = Region(vec![b]);
            let near = Region(near);
            hit.extend(one.intersect(&near).0);
            rest.extend(one.minus(&near).0);
            continue;
        }
        type Rest = ((u128, u128), u8, (u16, u16));
        let same = |f: fn(&PacketBox) -> Rest| {
            let k = f(&near[0]);
            near.iter().all(|c| f(c) == k)
        };
        let along_dst = same(|c| (c.src, c.proto, c.port));
        let along_src = !along_dst && same(|c| (c.dst, c.proto, c.port));
        if !(along_dst || along_src) {
            undecided.push(b);
            continue;
        }
        let first = near[0];
        let mut ivs: Vec<(u128, u128)> = near
            .iter()
            .map(|c| if along_dst { c.dst } else { c.src })
            .collect();
        ivs.sort_unstable();
        let mut merged: Vec<(u128, u128)> = Vec::new();
        for (lo, hi) in ivs {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        let with = |iv: (u128, u128)| {
            if along_dst {
                PacketBox { dst: iv, ..first }
            } else {
                PacketBox { src: iv, ..first }
            }
        };
        for iv in &merged {
            hit.push(with(*iv));
        }
        // the rest of b: b minus the one box that spans the clipped shape (its other dimensions
        // are b's own clipped to the cut), plus the gaps between the merged intervals inside it
        let span = with((merged[0].0, merged[merged.len() - 1].1));
        rest.extend(Region(vec![b]).minus(&Region(vec![span])).0);
        for pair in merged.windows(2) {
            if pair[0].1 < pair[1].0 - 1 {
                rest.push(with((pair[0].1 + 1, pair[1].0 - 1)));
            }
        }
    }
    (Region(hit), Region(rest), Region(undecided))
}

#[cfg(test)]
mod tests {
    use super::super::space::PacketBox;
    use super::*;

    fn pb(src: (u128, u128), dst: (u128, u128), port: (u16, u16)) -> PacketBox {
        PacketBox {
            src,
            dst,
            proto: 1,
            port,
        }
    }

    /// The fast paths of `split_by` give what plain region algebra gives.
    #[test]
    fn split_by_agrees_with_region_algebra_on_blocklist_shapes() {
        let left = Region(vec![pb((0, 1000), (0, 1000), (0, 10))]);
        for along_dst in [true, false] {
            // 300 single addresses (more than the exact limit), in one dimension
            let cut = Region(
                (0..300u128)
                    .map(|i| {
                        let iv = (3 * i, 3 * i + i % 2);
                        if along_dst {
                            pb((0, 2000), iv, (5, 20))
                        } else {
                            pb(iv, (0, 2000), (5, 20))
                        }
                    })
                    .collect(),
            );
            let (hit, rest, undecided) = split_by(left.clone(), &cut);
            assert!(undecided.is_empty());
            let want_hit = left.intersect(&cut);
            let want_rest = left.minus(&cut);
            assert_eq!(hit.size(), want_hit.size());
            assert_eq!(rest.size(), want_rest.size());
            assert!(hit.minus(&want_hit).is_empty() && want_hit.minus(&hit).is_empty());
            assert!(rest.intersect(&cut).is_empty());
            assert_eq!(hit.size() + rest.size(), left.size());
        }
    }

    #[test]
    fn split_by_leaves_a_box_undecided_against_many_boxes_of_mixed_shape() {
        let left = Region(vec![pb((0, 1000), (0, 1000), (0, 10))]);
        let cut = Region(
            (0..300u128)
                .map(|i| pb((i, i), (2 * i, 2 * i), (0, 10)))
                .collect(),
        );
        let (hit, rest, undecided) = split_by(left.clone(), &cut);
        assert!(hit.is_empty() && rest.is_empty());
        assert_eq!(undecided.size(), left.size());
    }
}
