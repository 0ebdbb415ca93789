//! Packet classes as boxes: a source address interval × a destination address interval × a set of
//! protocols × a destination port interval, all inclusive. A [`Region`] is a union of disjoint boxes.
//! The evaluator works on regions, so a 10,000-port range or a /8 costs the same as one port.

use ipnet::IpNet;
use std::net::IpAddr;

/// An address as a number; IPv4 and IPv6 never meet in one box (a plan rule has one family).
pub fn addr_value(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

pub fn value_addr(v: u128, v4: bool) -> IpAddr {
    if v4 {
        IpAddr::V4((v as u32).into())
    } else {
        IpAddr::V6(v.into())
    }
}

/// The inclusive address interval of a network.
pub fn net_interval(net: &IpNet) -> (u128, u128) {
    (addr_value(net.network()), addr_value(net.broadcast()))
}

pub const PROTO_TCP: u8 = 1;
pub const PROTO_UDP: u8 = 2;
/// Every other IP protocol (ICMP, ESP, …): rules that name them do not touch TCP/UDP flows.
pub const PROTO_OTHER: u8 = 4;
pub const PROTO_ALL: u8 = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PacketBox {
    pub src: (u128, u128),
    pub dst: (u128, u128),
    pub proto: u8,
    pub port: (u16, u16),
}

fn overlap(a: (u128, u128), b: (u128, u128)) -> Option<(u128, u128)> {
    let lo = a.0.max(b.0);
    let hi = a.1.min(b.1);
    (lo <= hi).then_some((lo, hi))
}

fn overlap16(a: (u16, u16), b: (u16, u16)) -> Option<(u16, u16)> {
    let lo = a.0.max(b.0);
    let hi = a.1.min(b.1);
    (lo <= hi).then_some((lo, hi))
}

impl PacketBox {
    pub fn intersect(&self, o: &PacketBox) -> Option<PacketBox> {
        let proto = self.proto & o.proto;
        if proto == 0 {
            return None;
        }
        Some(PacketBox {
            src: overlap(self.src, o.src)?,
            dst: overlap(self.dst, o.dst)?,
            proto,
            port: overlap16(self.port, o.port)?,
        })
    }

    /// `self − o` as disjoint boxes (at most seven).
    pub fn minus(&self, o: &PacketBox) -> Vec<PacketBox> {
        let Some(inner) = self.intersect(o) else {
            return vec![*self];
        };
        let mut out = Vec::new();
        let mut rest = *self;
        // source
        if rest.src.0 < inner.src.0 {
            out.push(PacketBox {
                src: (rest.src.0, inner.src.0 - 1),
                ..rest
            });
        }
        if inner.src.1 < rest.src.1 {
            out.push(PacketBox {
                src: (inner.src.1 + 1, rest.src.1),
                ..rest
            });
        }
        rest.src = inner.src;
        // destination
        if rest.dst.0 < inner.dst.0 {
            out.push(PacketBox {
                dst: (rest.dst.0, inner.dst.0 - 1),
                ..rest
            });
        }
        if inner.dst.1 < rest.dst.1 {
            out.push(PacketBox {
                dst: (inner.dst.1 + 1, rest.dst.1),
                ..rest
            });
        }
        rest.dst = inner.dst;
        // protocol
        let other = rest.proto & !inner.proto;
        if other != 0 {
            out.push(PacketBox {
                proto: other,
                ..rest
            });
        }
        rest.proto = inner.proto;
        // port
        if rest.port.0 < inner.port.0 {
            out.push(PacketBox {
                port: (rest.port.0, inner.port.0 - 1),
                ..rest
            });
        }
        if inner.port.1 < rest.port.1 {
            out.push(PacketBox {
                port: (inner.port.1 + 1, rest.port.1),
                ..rest
            });
        }
        out
    }

    /// Number of (src, dst, proto, port) points, saturating.
    pub fn size(&self) -> u128 {
        let n = |a: (u128, u128)| (a.1 - a.0).saturating_add(1);
        n(self.src)
            .saturating_mul(n(self.dst))
            .saturating_mul(u128::from(self.proto.count_ones()))
            .saturating_mul(u128::from(self.port.1 - self.port.0) + 1)
    }
}

/// A union of disjoint boxes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Region(pub Vec<PacketBox>);

impl Region {
    pub fn of(b: PacketBox) -> Region {
        Region(vec![b])
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn intersect(&self, other: &Region) -> Region {
        let mut out = Vec::new();
        for a in &self.0 {
            for b in &other.0 {
                if let Some(x) = a.intersect(b) {
                    out.push(x);
                }
            }
        }
        Region(out)
    }
    pub fn minus(&self, other: &Region) -> Region {
        let mut cur = self.0.clone();
        for b in &other.0 {
            let mut next = Vec::with_capacity(cur.len());
            for a in &cur {
                next.extend(a.minus(b));
            }
            cur = next;
            if cur.is_empty() {
                break;
            }
        }
        Region(cur)
    }
    pub fn size(&self) -> u128 {
        self.0
            .iter()
            .map(|b| b.size())
            .fold(0u128, |a, b| a.saturating_add(b))
    }

    /// The union of possibly overlapping boxes, as disjoint boxes (so sizes do not double count).
    pub fn union_of(boxes: impl IntoIterator<Item = PacketBox>) -> Region {
        let mut disjoint = Region::default();
        for b in boxes {
            let fresh = Region::of(b).minus(&disjoint);
            disjoint.0.extend(fresh.0);
        }
        disjoint
    }
}

use num_like::Step;

/// `a ∩ b` for two sorted lists of disjoint inclusive intervals, in one merge pass.
pub fn intersect_sorted(a: &[(u128, u128)], b: &[(u128, u128)]) -> Vec<(u128, u128)> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && j < b.len() {
        let (lo, hi) = (a[i].0.max(b[j].0), a[i].1.min(b[j].1));
        if lo <= hi {
            out.push((lo, hi));
        }
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// Sorts inclusive intervals and merges the ones that overlap or touch.
pub fn normalize<T: Copy + Ord + Step>(mut v: Vec<(T, T)>) -> Vec<(T, T)> {
    v.sort_unstable();
    let mut out: Vec<(T, T)> = Vec::with_capacity(v.len());
    for (a, b) in v {
        match out.last_mut() {
            Some(last) if a <= last.1 || T::succ(last.1) == Some(a) => {
                if b > last.1 {
                    last.1 = b;
                }
            }
            _ => out.push((a, b)),
        }
    }
    out
}

/// Neighbouring values of an interval end, for merging touching intervals and cutting gaps.
mod num_like {
    pub trait Step: Sized {
        fn succ(self) -> Option<Self>;
        fn pred(self) -> Option<Self>;
    }
    impl Step for u128 {
        fn succ(self) -> Option<Self> {
            self.checked_add(1)
        }
        fn pred(self) -> Option<Self> {
            self.checked_sub(1)
        }
    }
    impl Step for u16 {
        fn succ(self) -> Option<Self> {
            self.checked_add(1)
        }
        fn pred(self) -> Option<Self> {
            self.checked_sub(1)
        }
    }
}

/// The part of sorted, disjoint `list` inside `[a, b]` (binary search, then only the overlap).
fn clip<T: Copy + Ord>(list: &[(T, T)], ends: (T, T)) -> Vec<(T, T)> {
    clip_iter(list, ends).collect()
}

/// [`clip`] without collecting (no allocation for the callers that only walk it).
fn clip_iter<T: Copy + Ord>(list: &[(T, T)], (a, b): (T, T)) -> impl Iterator<Item = (T, T)> + '_ {
    let start = list.partition_point(|x| x.1 < a);
    list[start..]
        .iter()
        .take_while(move |x| x.0 <= b)
        .map(move |x| (x.0.max(a), x.1.min(b)))
}

/// `[a, b]` minus sorted, disjoint `list`.
fn gaps<T: Copy + Ord + Step>(list: &[(T, T)], (a, b): (T, T)) -> Vec<(T, T)> {
    let mut out = Vec::new();
    let mut next = Some(a);
    for (x, y) in clip_iter(list, (a, b)) {
        if let Some(n) = next
            && n < x
        {
            // x > n >= a, so x has a predecessor inside [a, b]
            out.push((n, x.pred().unwrap_or(x)));
        }
        next = y.succ();
    }
    if let Some(n) = next
        && n <= b
    {
        out.push((n, b));
    }
    out
}

fn overlaps<T: Copy + Ord>(list: &[(T, T)], (a, b): (T, T)) -> bool {
    let start = list.partition_point(|x| x.1 < a);
    list.get(start).is_some_and(|x| x.0 <= b)
}

/// What one rule matches: a product of interval sets, one per dimension, each sorted and
/// disjoint. Splitting a box by it costs a binary search per dimension and yields at most four
/// groups of pieces, so a set of 100,000 addresses or 30,000 ports is one step, not a product
/// of boxes subtracted one by one.
/// The lists are shared (`Arc`): rules that use one large set share its lists instead of each
/// holding a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub src: Intervals,
    pub dst: Intervals,
    pub proto: u8,
    pub port: std::sync::Arc<[(u16, u16)]>,
}

/// Sorted, disjoint address intervals, shared between the rules and products that use them.
pub type Intervals = std::sync::Arc<[(u128, u128)]>;

/// Splitting would make more pieces than an evaluation can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooFragmented;

impl Product {
    /// The packets of the product as boxes: the cross product of its lists, disjoint because each
    /// list is sorted and disjoint.
    pub fn region(&self) -> Region {
        let mut boxes = Vec::new();
        if self.proto == 0 {
            return Region(boxes);
        }
        for &src in self.src.iter() {
            for &dst in self.dst.iter() {
                for &port in self.port.iter() {
                    boxes.push(PacketBox {
                        src,
                        dst,
                        proto: self.proto,
                        port,
                    });
                }
            }
        }
        Region(boxes)
    }

    pub fn is_empty(&self) -> bool {
        self.proto == 0 || self.src.is_empty() || self.dst.is_empty() || self.port.is_empty()
    }

    pub fn touches(&self, b: &PacketBox) -> bool {
        b.proto & self.proto != 0
            && overlaps(&self.src, b.src)
            && overlaps(&self.dst, b.dst)
            && overlaps(&self.port, b.port)
    }

    /// `(b ∩ self, b − self)` as disjoint boxes, or an error past `limit` pieces.
    pub fn split(
        &self,
        b: &PacketBox,
        limit: usize,
    ) -> Result<(Vec<PacketBox>, Vec<PacketBox>), TooFragmented> {
        if !self.touches(b) {
            return Ok((Vec::new(), vec![*b]));
        }
        let (si, so) = (clip(&self.src, b.src), gaps(&self.src, b.src));
        let (di, d_out) = (clip(&self.dst, b.dst), gaps(&self.dst, b.dst));
        let (qi, qo) = (clip(&self.port, b.port), gaps(&self.port, b.port));
        let (pi, po) = (b.proto & self.proto, b.proto & !self.proto);
        let count = |a: usize, c: usize, d: usize| a.saturating_mul(c).saturating_mul(d);
        let total = count(si.len(), di.len(), qi.len())
            .saturating_add(so.len())
            .saturating_add(count(si.len(), d_out.len(), 1))
            .saturating_add(count(si.len(), di.len(), 1))
            .saturating_add(count(si.len(), di.len(), qo.len()));
        if total > limit {
            return Err(TooFragmented);
        }
        let mut hit = Vec::new();
        let mut miss = Vec::new();
        for &src in &so {
            miss.push(PacketBox { src, ..*b });
        }
        for &src in &si {
            for &dst in &d_out {
                miss.push(PacketBox { src, dst, ..*b });
            }
            for &dst in &di {
                if po != 0 {
                    miss.push(PacketBox {
                        src,
                        dst,
                        proto: po,
                        port: b.port,
                    });
                }
                for &port in &qo {
                    miss.push(PacketBox {
                        src,
                        dst,
                        proto: pi,
                        port,
                    });
                }
                for &port in &qi {
                    hit.push(PacketBox {
                        src,
                        dst,
                        proto: pi,
                        port,
                    });
                }
            }
        }
        Ok((hit, miss))
    }
}

impl Region {
    /// `(self ∩ p, self − p)`; an error when the pieces would exceed `limit`.
    pub fn split_by(&self, p: &Product, limit: usize) -> Result<(Region, Region), TooFragmented> {
        let mut hit = Vec::new();
        let mut miss = Vec::new();
        for b in &self.0 {
            let (h, m) = p.split(b, limit.saturating_sub(hit.len() + miss.len()))?;
            hit.extend(h);
            miss.extend(m);
        }
        Ok((Region(hit), Region(miss)))
    }
}

/// A region kept for an evaluation that splits it rule after rule: its boxes grouped by source
/// interval, in a map ordered by the interval's start. The source intervals of any two boxes are
/// equal or disjoint (the split by a product keeps it so: a group's pieces get the same
/// sub-intervals), so a rule finds the groups its sources meet by a range query and leaves every
/// other group untouched. Taking out what one narrow rule matches costs a few map operations,
/// whatever the size of the region, instead of a pass over all of its boxes.
#[derive(Debug, Clone, Default)]
pub struct SourceIndex {
    groups: std::collections::BTreeMap<u128, (u128, Vec<PacketBox>)>,
    boxes: usize,
}

impl SourceIndex {
    pub fn of(region: Region) -> SourceIndex {
        let mut index = SourceIndex::default();
        index.extend(region.0);
        index
    }

    /// Number of boxes held.
    pub fn len(&self) -> usize {
        self.boxes
    }

    pub fn is_empty(&self) -> bool {
        self.boxes == 0
    }

    /// Splits the group that holds both `x - 1` and `x`, so that a group starts at `x`.
    fn cut_at(&mut self, x: u128) {
        let Some((&lo, &(hi, _))) = self.groups.range(..x).next_back() else {
            return;
        };
        if hi < x {
            return;
        }
        let (_, boxes) = self.groups.remove(&lo).expect("the group was just found");
        let left = boxes
            .iter()
            .map(|b| PacketBox {
                src: (lo, x - 1),
                ..*b
            })
            .collect();
        let right: Vec<PacketBox> = boxes
            .iter()
            .map(|b| PacketBox { src: (x, hi), ..*b })
            .collect();
        self.boxes += right.len();
        self.groups.insert(lo, (x - 1, left));
        self.groups.insert(x, (hi, right));
    }

    /// Adds boxes (disjoint from what is held), cutting groups and boxes at each other's source
    /// boundaries where they differ.
    pub fn extend(&mut self, boxes: impl IntoIterator<Item = PacketBox>) {
        for b in boxes {
            let (a, z) = b.src;
            self.cut_at(a);
            if let Some(n) = z.checked_add(1) {
                self.cut_at(n);
            }
            // every group meeting [a, z] now lies inside it
            let inside: Vec<(u128, u128)> = self
                .groups
                .range(a..=z)
                .map(|(&lo, &(hi, _))| (lo, hi))
                .collect();
            let mut next = Some(a);
            for (lo, hi) in inside {
                if let Some(n) = next
                    && n < lo
                {
                    self.groups.insert(
                        n,
                        (
                            lo - 1,
                            vec![PacketBox {
                                src: (n, lo - 1),
                                ..b
                            }],
                        ),
                    );
                    self.boxes += 1;
                }
                if let Some(g) = self.groups.get_mut(&lo) {
                    g.1.push(PacketBox { src: (lo, hi), ..b });
                    self.boxes += 1;
                }
                next = hi.checked_add(1);
            }
            if let Some(n) = next
                && n <= z
            {
                self.groups
                    .insert(n, (z, vec![PacketBox { src: (n, z), ..b }]));
                self.boxes += 1;
            }
        }
    }

    /// Takes out the packets `p` matches and returns them; what stays is the rest. Past `limit`
    /// boxes in all, it stops: the error carries what was taken out so far (the group it stopped
    /// at is left as it was).
    pub fn take(&mut self, p: &Product, limit: usize) -> Result<Vec<PacketBox>, Vec<PacketBox>> {
        let mut keys: Vec<u128> = Vec::new();
        if p.src.len() <= self.groups.len() {
            for &(a, b) in p.src.iter() {
                let start = match self.groups.range(..=a).next_back() {
                    Some((&lo, &(hi, _))) if hi >= a => lo,
                    _ => a,
                };
                keys.extend(self.groups.range(start..=b).map(|(&lo, _)| lo));
            }
            keys.dedup();
        } else {
            keys.extend(
                self.groups
                    .iter()
                    .filter(|(lo, (hi, _))| overlaps(&p.src, (**lo, *hi)))
                    .map(|(&lo, _)| lo),
            );
        }
        let mut hit = Vec::new();
        for lo in keys {
            let Some((hi, boxes)) = self.groups.get(&lo) else {
                continue;
            };
            let hi = *hi;
            if !boxes.iter().any(|b| p.touches(b)) {
                continue;
            }
            // every box of the group is cut at the same source boundaries, so the pieces keep
            // one source interval per group: outside p's sources they stay whole, inside they
            // split by the other dimensions
            let outside = gaps(&p.src, (lo, hi));
            let inside = || clip_iter(&p.src, (lo, hi));
            let mut parts: Vec<(u128, (u128, Vec<PacketBox>))> = Vec::new();
            // this group's hits go straight into `hit`, cut back should the group be refused
            let before = hit.len();
            let mut count = 0usize;
            for &src in &outside {
                let v: Vec<PacketBox> = boxes.iter().map(|b| PacketBox { src, ..*b }).collect();
                count += v.len();
                parts.push((src.0, (src.1, v)));
            }
            // every source interval inside p's sources splits the same way in the other
            // dimensions: split each box once (at the first such interval) and stamp the result
            // on the others, instead of splitting (and searching p's lists) once per interval
            let mut template_hit: Vec<PacketBox> = Vec::new();
            let mut template_miss: Vec<PacketBox> = Vec::new();
            if let Some(first) = inside().next() {
                for b in boxes {
                    let b = PacketBox { src: first, ..*b };
                    let room = limit.saturating_sub(
                        self.boxes + hit.len() + count + template_hit.len() + template_miss.len(),
                    );
                    let Ok((h, m)) = p.split(&b, room) else {
                        hit.truncate(before);
                        return Err(hit);
                    };
                    template_hit.extend(h);
                    template_miss.extend(m);
                }
                let per = template_hit.len() + template_miss.len();
                let total = inside().count().saturating_mul(per);
                if self
                    .boxes
                    .saturating_add(hit.len())
                    .saturating_add(count)
                    .saturating_add(total)
                    > limit
                {
                    return Err(hit);
                }
            }
            for src in inside() {
                hit.extend(template_hit.iter().map(|b| PacketBox { src, ..*b }));
                if !template_miss.is_empty() {
                    let v: Vec<PacketBox> = template_miss
                        .iter()
                        .map(|b| PacketBox { src, ..*b })
                        .collect();
                    count += v.len();
                    parts.push((src.0, (src.1, v)));
                }
            }
            if self.boxes + hit.len() + count > limit {
                hit.truncate(before);
                return Err(hit);
            }
            let (_, old) = self.groups.remove(&lo).expect("the group was just read");
            self.boxes -= old.len();
            for (k, v) in parts {
                self.boxes += v.1.len();
                self.groups.insert(k, v);
            }
        }
        Ok(hit)
    }

    /// The smallest box holding everything held (`None` when empty).
    pub fn bounds(&self) -> Option<PacketBox> {
        let mut all = self.groups.values().flat_map(|(_, v)| v.iter());
        let first = *all.next()?;
        Some(all.fold(first, |acc, b| PacketBox {
            src: (acc.src.0.min(b.src.0), acc.src.1.max(b.src.1)),
            dst: (acc.dst.0.min(b.dst.0), acc.dst.1.max(b.dst.1)),
            proto: acc.proto | b.proto,
            port: (acc.port.0.min(b.port.0), acc.port.1.max(b.port.1)),
        }))
    }

    pub fn into_region(self) -> Region {
        Region(self.groups.into_values().flat_map(|(_, v)| v).collect())
    }

    /// Whether the groups are disjoint, every box has its group's source interval and the count
    /// is right (what [`SourceIndex::take`] relies on).
    #[cfg(test)]
    fn well_formed(&self) -> bool {
        let mut prev: Option<u128> = None;
        let mut n = 0;
        for (&lo, (hi, v)) in &self.groups {
            if lo > *hi || prev.is_some_and(|p| lo <= p) || v.iter().any(|b| b.src != (lo, *hi)) {
                return false;
            }
            prev = Some(*hi);
            n += v.len();
        }
        n == self.boxes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bx(s: (u128, u128), d: (u128, u128), p: u8, port: (u16, u16)) -> PacketBox {
        PacketBox {
            src: s,
            dst: d,
            proto: p,
            port,
        }
    }

    #[test]
    fn a_port_range_splits_without_enumerating() {
        let all = bx((0, 0), (0, 0), PROTO_UDP, (50000, 59999));
        let hole = bx((0, 0), (0, 0), PROTO_UDP, (55000, 55000));
        let left = all.minus(&hole);
        assert_eq!(left.len(), 2);
        assert_eq!(Region(left).size(), 9999);
    }

    fn arb_box() -> impl Strategy<Value = PacketBox> {
        let iv = (0u128..20, 0u128..20).prop_map(|(a, b)| (a.min(b), a.max(b)));
        let pv = (0u16..20, 0u16..20).prop_map(|(a, b)| (a.min(b), a.max(b)));
        (iv.clone(), iv, 1u8..8, pv).prop_map(|(s, d, p, port)| bx(s, d, p, port))
    }

    fn contains(b: &PacketBox, p: (u128, u128, u8, u16)) -> bool {
        (b.src.0..=b.src.1).contains(&p.0)
            && (b.dst.0..=b.dst.1).contains(&p.1)
            && b.proto & p.2 != 0
            && (b.port.0..=b.port.1).contains(&p.3)
    }

    proptest! {
        #[test]
        fn minus_is_exact_and_disjoint(a in arb_box(), b in arb_box(), pts in prop::collection::vec((0u128..20, 0u128..20, prop::sample::select(vec![1u8, 2, 4]), 0u16..20), 50)) {
            let parts = a.minus(&b);
            for p in pts {
                let want = contains(&a, p) && !contains(&b, p);
                let hits = parts.iter().filter(|x| contains(x, p)).count();
                prop_assert_eq!(hits, usize::from(want));
            }
        }

        #[test]
        fn source_index_take_is_exact_and_keeps_the_rest(
            boxes in prop::collection::vec(arb_box(), 1..6),
            src in prop::collection::vec((0u128..20, 0u128..6), 0..5),
            port in prop::collection::vec((0u16..20, 0u16..6), 0..4),
            proto in 1u8..8,
            pts in prop::collection::vec((0u128..20, 0u128..20, prop::sample::select(vec![1u8, 2, 4]), 0u16..20), 60),
        ) {
            // disjoint boxes, overlapping sources allowed
            let region = Region::union_of(boxes);
            let p = Product {
                src: normalize(src.into_iter().map(|(a, w)| (a, a + w)).collect()).into(),
                dst: vec![(3, 15)].into(),
                proto,
                port: normalize(port.into_iter().map(|(a, w)| (a, a + w)).collect()).into(),
            };
            let mut index = SourceIndex::of(region.clone());
            prop_assert!(index.well_formed());
            prop_assert_eq!(index.clone().into_region().size(), region.size());
            // a first rule on other destinations and ports leaves boxes of one group that the
            // second does not touch: they must still be cut with the others
            let first = Product { src: vec![(4, 9)].into(), dst: vec![(0, 5)].into(), proto: 7, port: vec![(0, 7)].into() };
            let first_hit = index.take(&first, usize::MAX).unwrap();
            prop_assert!(index.well_formed());
            let region = Region(region.0.iter().flat_map(|b| first.split(b, usize::MAX).unwrap().1).collect());
            let hit = index.take(&p, usize::MAX).unwrap();
            prop_assert!(index.well_formed());
            prop_assert!(first_hit.iter().all(|b| hit.iter().all(|h| h.intersect(b).is_none())));
            let in_set = |list: &[(u128, u128)], v: u128| list.iter().any(|x| x.0 <= v && v <= x.1);
            let rest = index.into_region();
            for pt in pts {
                let in_p = in_set(&p.src, pt.0) && in_set(&p.dst, pt.1) && pt.2 & p.proto != 0
                    && p.port.iter().any(|x| x.0 <= pt.3 && pt.3 <= x.1);
                let in_r = region.0.iter().any(|b| contains(b, pt));
                prop_assert_eq!(hit.iter().filter(|x| contains(x, pt)).count(), usize::from(in_r && in_p));
                prop_assert_eq!(rest.0.iter().filter(|x| contains(x, pt)).count(), usize::from(in_r && !in_p));
            }
        }

        #[test]
        fn product_split_is_exact_and_disjoint(
            a in arb_box(),
            src in prop::collection::vec((0u128..20, 0u128..6), 0..5),
            dst in prop::collection::vec((0u128..20, 0u128..6), 0..5),
            port in prop::collection::vec((0u16..20, 0u16..6), 0..5),
            proto in 1u8..8,
            pts in prop::collection::vec((0u128..20, 0u128..20, prop::sample::select(vec![1u8, 2, 4]), 0u16..20), 60),
        ) {
            let widen = |v: Vec<(u128, u128)>| normalize(v.into_iter().map(|(a, w)| (a, a + w)).collect());
            let p = Product {
                src: widen(src).into(),
                dst: widen(dst).into(),
                proto,
                port: normalize(port.into_iter().map(|(a, w)| (a, a + w)).collect()).into(),
            };
            let in_set = |list: &[(u128, u128)], v: u128| list.iter().any(|x| x.0 <= v && v <= x.1);
            let (hit, miss) = p.split(&a, usize::MAX).unwrap();
            for pt in pts {
                let in_p = in_set(&p.src, pt.0)
                    && in_set(&p.dst, pt.1)
                    && pt.2 & p.proto != 0
                    && p.port.iter().any(|x| x.0 <= pt.3 && pt.3 <= x.1);
                let in_a = contains(&a, pt);
                prop_assert_eq!(hit.iter().filter(|x| contains(x, pt)).count(), usize::from(in_a && in_p));
                prop_assert_eq!(miss.iter().filter(|x| contains(x, pt)).count(), usize::from(in_a && !in_p));
            }
        }
    }
}
