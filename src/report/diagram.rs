//! The deployment as a picture. Zones are columns from the internet on the left to the internal
//! network on the right, firewalls are bars between the zones they join, pools (with their servers
//! and addresses), VIPs and client networks are boxes, and planned flows are arrows coloured by the
//! firewall they cross and labelled with their ports. Flows of features that are switched off can be
//! drawn dashed. The same model is written as SVG (self-made, no external tool) or as Graphviz DOT.

use crate::catalog::{Feature, Transport};
use crate::plan::{self, Group, Plan};
use crate::topology::{Topology, ZoneKind};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;

const COL_W: f64 = 250.0;
const GAP: f64 = 90.0;
const MARGIN: f64 = 30.0;
const TOP: f64 = 90.0;
const LINE: f64 = 14.0;
const PALETTE: [&str; 6] = [
    "#c0392b", "#2471a3", "#7d3c98", "#1e8449", "#b9770e", "#117a65",
];
const LOCAL: &str = "#7f8c8d";

/// A box of the picture.
#[derive(Debug, Clone)]
pub struct Node {
    pub id: String,
    pub title: String,
    pub lines: Vec<String>,
    pub kind: &'static str,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

/// An arrow: all flows from one box to another through one firewall.
#[derive(Debug, Clone)]
pub struct Arrow {
    pub from: String,
    pub to: String,
    pub firewall: Option<String>,
    pub label: String,
    pub color: &'static str,
    pub optional: bool,
}

#[derive(Debug, Clone)]
pub struct Diagram {
    pub title: String,
    pub width: f64,
    pub height: f64,
    /// (zone name, kind, x)
    pub zones: Vec<(String, ZoneKind, f64)>,
    /// (firewall name, x, colour)
    pub firewalls: Vec<(String, f64, &'static str)>,
    pub nodes: Vec<Node>,
    pub arrows: Vec<Arrow>,
}

fn esc(s: &str) -> String {
    super::html::esc(s)
}

/// Zones from the internet inwards: by firewall hops from an internet zone, then (for zones the
/// internet cannot reach through a firewall) by hops towards the internal zones.
fn zone_order(t: &Topology) -> Vec<String> {
    let router = plan::Router::new(t);
    let hops = |from_kind: ZoneKind, z: &str| -> Option<usize> {
        t.zones
            .iter()
            .filter(|o| o.kind == from_kind)
            .filter_map(|o| router.path(&o.name, z).map(|p| p.len()))
            .min()
    };
    let mut keyed: Vec<(usize, usize, String)> = t
        .zones
        .iter()
        .enumerate()
        .map(|(i, z)| {
            let key = match (
                hops(ZoneKind::Internet, &z.name),
                hops(ZoneKind::Internal, &z.name),
            ) {
                (Some(d), _) => d,
                (None, Some(d)) => 1000 - d.min(999),
                (None, None) => 500,
            };
            (key, i, z.name.clone())
        })
        .collect();
    keyed.sort();
    keyed.into_iter().map(|(_, _, n)| n).collect()
}

/// Which box a member of a flow group belongs to, looked up in maps built once per diagram (a
/// scan of every server per member made large topologies quadratic).
struct Boxes<'a> {
    pool_of_server: HashMap<&'a str, &'a str>,
    pools: HashSet<&'a str>,
    clients: HashSet<&'a str>,
}

impl<'a> Boxes<'a> {
    fn new(t: &'a Topology) -> Self {
        Boxes {
            pool_of_server: t
                .servers()
                .map(|(pool, s)| (s.name.as_str(), pool.name.as_str()))
                .collect(),
            pools: t.pools.iter().map(|p| p.name.as_str()).collect(),
            clients: t.clients.iter().map(|c| c.name.as_str()).collect(),
        }
    }

    fn node_of(&self, group: &Group, member_host: &str) -> String {
        if let Some(pool) = self.pool_of_server.get(member_host) {
            return format!("pool:{pool}");
        }
        if let Some((pool, rest)) = member_host.split_once('/')
            && self.pools.contains(pool)
        {
            return format!("vip:{pool}:{rest}");
        }
        if self.clients.contains(member_host) {
            return format!("clients:{member_host}");
        }
        format!("zone:{}", group.zone)
    }
}

fn port_label(entries: &[(Transport, crate::catalog::PortRange)]) -> String {
    let mut by_proto: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (t, p) in entries {
        let list = by_proto.entry(t.as_str()).or_default();
        let text = p.to_string();
        if !list.contains(&text) {
            list.push(text);
        }
    }
    by_proto
        .into_iter()
        .map(|(proto, ports)| format!("{proto} {}", ports.join(",")))
        .collect::<Vec<_>>()
        .join(" · ")
}

type Ports = Vec<(Transport, crate::catalog::PortRange)>;
type FlowKey = (String, String, Option<String>);

/// Flows of a plan between boxes: (from, to, first firewall) -> protocol/port entries.
fn aggregate(t: &Topology, p: &Plan) -> BTreeMap<FlowKey, Ports> {
    let mut agg: BTreeMap<FlowKey, Ports> = BTreeMap::new();
    let boxes = Boxes::new(t);
    for f in p.flows.iter().filter(|f| f.routed) {
        let firewall = f.path.first().map(|h| h.firewall.clone());
        let mut froms: Vec<String> = f
            .source
            .members
            .iter()
            .map(|m| boxes.node_of(&f.source, &m.host))
            .collect();
        let mut tos: Vec<String> = f
            .destination
            .members
            .iter()
            .map(|m| boxes.node_of(&f.destination, &m.host))
            .collect();
        froms.dedup();
        tos.dedup();
        for a in &froms {
            for b in &tos {
                if a == b {
                    continue;
                }
                let entry = agg
                    .entry((a.clone(), b.clone(), firewall.clone()))
                    .or_default();
                if !entry.contains(&(f.transport, f.ports)) {
                    entry.push((f.transport, f.ports));
                }
            }
        }
    }
    agg
}

fn arrow(
    key: FlowKey,
    ports: &[(Transport, crate::catalog::PortRange)],
    colors: &BTreeMap<String, &'static str>,
    optional: bool,
) -> Arrow {
    let (from, to, firewall) = key;
    Arrow {
        color: firewall
            .as_ref()
            .and_then(|f| colors.get(f).copied())
            .unwrap_or(LOCAL),
        from,
        to,
        firewall,
        label: port_label(ports),
        optional,
    }
}

/// Lays out the picture. With `with_optional`, flows that only features switched off would add are
/// included (dashed).
pub fn layout(t: &Topology, p: &Plan, with_optional: bool) -> Diagram {
    let order = zone_order(t);
    let col_x = |i: usize| MARGIN + i as f64 * (COL_W + GAP);
    let zone_index = |z: &str| order.iter().position(|o| o == z).unwrap_or(0);
    let mut colors: BTreeMap<String, &'static str> = BTreeMap::new();
    let mut firewalls = Vec::new();
    for (i, fw) in t.firewalls.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        colors.insert(fw.name.clone(), color);
        let idx: Vec<usize> = fw.interfaces.iter().map(|x| zone_index(&x.zone)).collect();
        let lo = idx.iter().copied().min().unwrap_or(0);
        let x = col_x(lo) + COL_W + GAP / 2.0;
        firewalls.push((fw.name.clone(), x, color));
    }
    // stacking: the next free y per column
    let mut next_y: Vec<f64> = vec![TOP + 50.0; order.len()];
    let mut nodes: Vec<Node> = Vec::new();
    let mut place = |nodes: &mut Vec<Node>,
                     id: String,
                     title: String,
                     lines: Vec<String>,
                     kind: &'static str,
                     cols: (usize, usize)| {
        let y = (cols.0..=cols.1).map(|c| next_y[c]).fold(0.0, f64::max);
        let h = 24.0 + LINE * lines.len() as f64;
        let x = col_x(cols.0) + 10.0;
        let w = col_x(cols.1) + COL_W - 10.0 - x;
        for slot in &mut next_y[cols.0..=cols.1] {
            *slot = y + h + 14.0;
        }
        nodes.push(Node {
            id,
            title,
            lines,
            kind,
            x,
            y,
            w,
            h,
        });
    };
    for z in &order {
        let zone = t.zone(z).expect("ordered zones exist");
        let c = zone_index(z);
        let nets: Vec<String> = zone.networks.iter().map(|n| n.to_string()).collect();
        place(
            &mut nodes,
            format!("zone:{z}"),
            format!("any host in {z}"),
            vec![nets.join(", ")],
            "zone",
            (c, c),
        );
        for pool in &t.pools {
            let mut zs: Vec<usize> = pool
                .servers
                .iter()
                .flat_map(|s| s.interfaces.iter().map(|i| zone_index(&i.zone)))
                .collect();
            zs.sort();
            zs.dedup();
            if zs.first() != Some(&c) {
                continue;
            }
            let span = (c, *zs.last().unwrap_or(&c));
            let mut lines = Vec::new();
            for s in &pool.servers {
                let addrs: Vec<String> = s
                    .interfaces
                    .iter()
                    .flat_map(|i| i.addresses.iter().map(|a| a.ip.to_string()))
                    .collect();
                lines.push(format!("{}: {}", s.name, addrs.join(" ")));
            }
            place(
                &mut nodes,
                format!("pool:{}", pool.name),
                format!("{} ({})", pool.name, pool.role.description()),
                lines,
                "pool",
                span,
            );
            for vip in &pool.vips {
                let vc = zone_index(&vip.zone);
                let addrs: Vec<String> = vip.addresses.iter().map(|a| a.to_string()).collect();
                let snat = if vip.snat { "SNAT" } else { "no SNAT" };
                place(
                    &mut nodes,
                    format!("vip:{}:{}-vip", pool.name, vip.service.as_str()),
                    format!("{} {} VIP ({snat})", pool.name, vip.service.as_str()),
                    vec![addrs.join(" ")],
                    "vip",
                    (vc, vc),
                );
            }
        }
        for cl in t.clients.iter().filter(|cl| cl.zone == *z) {
            let nets: Vec<String> = cl.networks.iter().map(|n| n.to_string()).collect();
            place(
                &mut nodes,
                format!("clients:{}", cl.name),
                format!("{} (clients)", cl.name),
                vec![nets.join(", ")],
                "clients",
                (c, c),
            );
        }
    }
    let planned = aggregate(t, p);
    let mut arrows: Vec<Arrow> = planned
        .iter()
        .map(|(k, ports)| arrow(k.clone(), ports, &colors, false))
        .collect();
    if with_optional {
        // what every feature switched on would add: only the extra ports, dashed
        // (`internal-servers` selects a whole scenario rather than a part of this picture: it stays
        // as the topology has it)
        let mut all_on = t.clone();
        all_on.features = Feature::ALL
            .iter()
            .copied()
            .filter(|f| *f != Feature::InternalServers || t.has_feature(*f))
            .collect();
        let full = plan::compile(&all_on);
        for (k, ports) in aggregate(t, &full) {
            let have = planned.get(&k).cloned().unwrap_or_default();
            let extra: Ports = ports.into_iter().filter(|x| !have.contains(x)).collect();
            if !extra.is_empty() {
                arrows.push(arrow(k, &extra, &colors, true));
            }
        }
    }
    // room on the right for flows that loop back into the last column
    let width = col_x(order.len().saturating_sub(1)) + COL_W + MARGIN + 80.0;
    let height = next_y.iter().copied().fold(0.0, f64::max) + 80.0;
    let zones = order
        .iter()
        .map(|z| {
            (
                z.clone(),
                t.zone(z).map(|x| x.kind).unwrap_or(ZoneKind::Internal),
                col_x(zone_index(z)),
            )
        })
        .collect();
    Diagram {
        title: format!("portplan: {}", t.name),
        width,
        height,
        zones,
        firewalls,
        nodes,
        arrows,
    }
}

/// The picture as a standalone SVG document.
pub fn svg(d: &Diagram) -> String {
    // about 330 bytes per arrow and 400 per box: one allocation instead of repeated doubling
    let mut s = String::with_capacity(4096 + 360 * d.arrows.len() + 480 * d.nodes.len());
    svg_into(d, &mut s);
    s
}

/// [`svg`], appended to `s` (the HTML report embeds the picture without a second copy of it).
pub fn svg_into(d: &Diagram, s: &mut String) {
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="Helvetica, Arial, sans-serif" font-size="11" role="img" aria-label="{title}">"##,
        w = d.width,
        h = d.height,
        title = esc(&d.title)
    );
    s.push_str("<defs>");
    let mut colors: Vec<&str> = d.firewalls.iter().map(|f| f.2).collect();
    colors.push(LOCAL);
    for c in &colors {
        let _ = write!(
            s,
            r##"<marker id="arrow-{id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{c}"/></marker>"##,
            id = &c[1..]
        );
    }
    s.push_str("</defs>");
    let _ = write!(
        s,
        r##"<text x="{MARGIN}" y="28" font-size="16" font-weight="bold">{}</text>"##,
        esc(&d.title)
    );
    s.push_str(r##"<g class="zones">"##);
    for (name, kind, x) in &d.zones {
        let fill = match kind {
            ZoneKind::Internet => "#fdf2e9",
            ZoneKind::Perimeter => "#fef9e7",
            ZoneKind::Internal => "#eaf2f8",
        };
        let _ = write!(
            s,
            r##"<g class="zone" data-zone="{n}"><rect x="{x:.0}" y="{y:.0}" width="{COL_W:.0}" height="{h:.0}" rx="8" fill="{fill}" stroke="#d5d8dc"/><text x="{tx:.0}" y="{ty:.0}" font-weight="bold" text-anchor="middle">{n}</text></g>"##,
            n = esc(name),
            y = TOP,
            h = d.height - TOP - 20.0,
            tx = x + COL_W / 2.0,
            ty = TOP + 20.0
        );
    }
    s.push_str("</g><g class=\"firewalls\">");
    for (name, x, color) in &d.firewalls {
        let _ = write!(
            s,
            r##"<g class="firewall" data-firewall="{n}"><rect x="{rx:.0}" y="{y:.0}" width="14" height="{h:.0}" fill="{color}" opacity="0.85"/><text x="{x:.0}" y="{ty:.0}" text-anchor="middle" font-weight="bold" fill="{color}">{n}</text></g>"##,
            n = esc(name),
            rx = x - 7.0,
            y = TOP + 30.0,
            h = d.height - TOP - 60.0,
            ty = TOP - 8.0
        );
    }
    s.push_str("</g><g class=\"flows\">");
    let by_id: HashMap<&str, &Node> = d.nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    let find = |id: &str| by_id.get(id).copied();
    for (i, a) in d.arrows.iter().enumerate() {
        let (Some(f), Some(t)) = (find(&a.from), find(&a.to)) else {
            continue;
        };
        // leave from the side facing the target; spread start/end points a little per arrow
        let spread = ((i % 7) as f64 - 3.0) * 3.0;
        let (x1, x2) = if t.x > f.x + f.w / 2.0 {
            (f.x + f.w, t.x)
        } else if t.x + t.w < f.x + f.w / 2.0 {
            (f.x, t.x + t.w)
        } else {
            (f.x + f.w, t.x + t.w)
        };
        let y1 = f.y + f.h / 2.0 + spread;
        let y2 = t.y + t.h / 2.0 + spread;
        let bend = if (x1 - x2).abs() < 1.0 { 60.0 } else { 0.0 };
        let (c1x, c2x) = ((x1 + x2) / 2.0 + bend, (x1 + x2) / 2.0 + bend);
        let dash = if a.optional {
            r##" stroke-dasharray="6 4""##
        } else {
            ""
        };
        let _ = write!(
            s,
            r##"<g class="flow{opt}" data-firewall="{fw}"><path class="flow-line" d="M{x1:.1},{y1:.1} C{c1x:.1},{y1:.1} {c2x:.1},{y2:.1} {x2:.1},{y2:.1}" fill="none" stroke="{c}" stroke-width="1.4"{dash} marker-end="url(#arrow-{cid})"/><text class="flow-label" x="{lx:.1}" y="{ly:.1}" text-anchor="middle" font-size="9" fill="{c}">{label}</text></g>"##,
            opt = if a.optional { " optional" } else { "" },
            fw = esc(a.firewall.as_deref().unwrap_or("none")),
            c = a.color,
            cid = &a.color[1..],
            lx = (x1 + x2) / 2.0 + bend * 0.75,
            ly = (y1 + y2) / 2.0 - 3.0,
            label = esc(&a.label)
        );
    }
    s.push_str("</g><g class=\"nodes\">");
    for n in &d.nodes {
        let (fill, stroke) = match n.kind {
            "zone" => ("#ffffff", "#aab7b8"),
            "vip" => ("#fdedec", "#cd6155"),
            "clients" => ("#e8f8f5", "#48c9b0"),
            _ => ("#ffffff", "#34495e"),
        };
        let _ = write!(
            s,
            r##"<g class="node {kind}" data-id="{id}"><rect x="{x:.0}" y="{y:.0}" width="{w:.0}" height="{h:.0}" rx="5" fill="{fill}" stroke="{stroke}"/><text x="{tx:.0}" y="{ty:.0}" font-weight="bold">{title}</text>"##,
            kind = n.kind,
            id = esc(&n.id),
            x = n.x,
            y = n.y,
            w = n.w,
            h = n.h,
            tx = n.x + 8.0,
            ty = n.y + 16.0,
            title = esc(&n.title)
        );
        for (k, line) in n.lines.iter().enumerate() {
            let _ = write!(
                s,
                r##"<text x="{:.0}" y="{:.0}" font-size="10" fill="#555">{}</text>"##,
                n.x + 8.0,
                n.y + 30.0 + LINE * k as f64,
                esc(line)
            );
        }
        s.push_str("</g>");
    }
    s.push_str("</g>");
    // legend
    let ly = d.height - 30.0;
    let mut lx = MARGIN;
    s.push_str(r##"<g class="legend">"##);
    for (name, _, color) in &d.firewalls {
        let _ = write!(
            s,
            r##"<line x1="{lx:.0}" y1="{ly:.0}" x2="{:.0}" y2="{ly:.0}" stroke="{color}" stroke-width="2"/><text x="{:.0}" y="{:.0}">crosses {}</text>"##,
            lx + 24.0,
            lx + 30.0,
            ly + 4.0,
            esc(name)
        );
        lx += 170.0;
    }
    let _ = write!(
        s,
        r##"<line x1="{lx:.0}" y1="{ly:.0}" x2="{:.0}" y2="{ly:.0}" stroke="{LOCAL}" stroke-width="2"/><text x="{:.0}" y="{:.0}">no firewall</text>"##,
        lx + 24.0,
        lx + 30.0,
        ly + 4.0
    );
    lx += 130.0;
    let _ = write!(
        s,
        r##"<line x1="{lx:.0}" y1="{ly:.0}" x2="{:.0}" y2="{ly:.0}" stroke="#555" stroke-width="2" stroke-dasharray="6 4"/><text x="{:.0}" y="{:.0}">only with a feature that is off</text>"##,
        lx + 24.0,
        lx + 30.0,
        ly + 4.0
    );
    s.push_str("</g></svg>\n");
}

/// The picture as Graphviz DOT (zones as clusters, left to right).
pub fn dot(d: &Diagram) -> String {
    let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let mut s = String::from(
        "digraph portplan {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n",
    );
    let _ = writeln!(s, "  label={};", q(&d.title));
    for (i, (zone, _, x)) in d.zones.iter().enumerate() {
        let _ = writeln!(s, "  subgraph cluster_{i} {{\n    label={};", q(zone));
        for n in d.nodes.iter().filter(|n| (n.x - 10.0 - x).abs() < 1.0) {
            let mut label = n.title.clone();
            for l in &n.lines {
                label.push_str("\\n");
                label.push_str(l);
            }
            let _ = writeln!(
                s,
                "    {} [label={}];",
                q(&n.id),
                q(&label).replace("\\\\n", "\\n")
            );
        }
        s.push_str("  }\n");
    }
    for a in &d.arrows {
        let fw = a.firewall.as_deref().unwrap_or("no firewall");
        let style = if a.optional { ", style=dashed" } else { "" };
        let _ = writeln!(
            s,
            "  {} -> {} [label={}, color={}, fontcolor={}{style}, tooltip={}];",
            q(&a.from),
            q(&a.to),
            q(&a.label),
            q(a.color),
            q(a.color),
            q(&format!("crosses {fw}"))
        );
    }
    s.push_str("}\n");
    s
}
