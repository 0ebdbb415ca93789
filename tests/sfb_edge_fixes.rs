//! Regression tests for the Skype for Business Edge findings of issue #16's cold trial: each test
//! is named after the mistake it keeps out (planning rows of the Edge environmental requirements
//! page, src/catalog/catalog.toml, src/plan, src/render/keepalived.rs).

use portplan::catalog::{Catalog, Transport};
use portplan::plan::{self, Plan};
use portplan::topology::Topology;

const SINGLE_PUBLIC: &str = include_str!("../examples/edge-single-public.toml");
const SFBSE_NAT: &str = include_str!("../examples/sfbse-edge-nat.toml");
const SFB2019_HLB: &str = include_str!("../examples/sfb2019-hlb.toml");

fn parse(text: &str) -> Result<Topology, Vec<String>> {
    Topology::parse("test.toml", text).map_err(|e| {
        e.problems
            .iter()
            .map(|p| format!("{}: {}", p.code, p.message))
            .collect()
    })
}

fn topology(text: &str) -> Topology {
    parse(text).unwrap_or_else(|e| panic!("{e:?}"))
}

fn replace(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "`{from}` is not in the text");
    text.replacen(from, to, 1)
}

/// The catalog rows (`scenario/table#n`) the plan's flows came from.
fn planned_rows(plan: &Plan) -> Vec<String> {
    let mut rows: Vec<String> = plan
        .flows
        .iter()
        .flat_map(|f| f.rows.iter().map(|r| r.to_string()))
        .collect();
    rows.sort();
    rows.dedup();
    rows
}

/// Flows of `port`/`transport` whose source (or destination) group lists `host`.
fn flows_with(plan: &Plan, transport: Transport, port: u16, host: &str, as_source: bool) -> usize {
    plan.flows
        .iter()
        .filter(|f| f.transport == transport && f.ports.start == port)
        .filter(|f| {
            let g = if as_source { &f.source } else { &f.destination };
            g.members.iter().any(|m| m.host == host)
        })
        .count()
}

#[test]
fn sfb_outbound_av_media_is_planned_without_federation() {
    // The page's non-HLB and HLB external tables give outbound RTP 50000-59999 from the A/V Edge
    // no condition; the catalog used to copy the Lync 2013 `federation` condition onto it.
    let text = replace(SFBSE_NAT, "federation = true", "federation = false");
    let plan = plan::compile(&topology(&text));
    for transport in [Transport::Tcp, Transport::Udp] {
        let out = plan
            .flows
            .iter()
            .filter(|f| f.transport == transport && f.ports.start == 50000 && f.ports.end == 59999)
            .filter(|f| f.rows.iter().any(|r| r.scenario == "sfb-edge-nat"))
            .count();
        assert!(
            out > 0,
            "{transport:?} 50000-59999 out of the A/V Edge is missing"
        );
    }
    for row in Catalog::builtin().rows.iter().filter(|r| {
        r.scenario.starts_with("sfb-edge-") && r.ports.start == 50000 && r.ports.end == 59999
    }) {
        assert_eq!(row.condition, None, "{}/{}", row.scenario, row.table);
        assert!(row.doubt.is_some(), "the Lync 2013 difference is flagged");
    }
}

#[test]
fn sfb_single_edge_xmpp_without_outbound_5269_is_flagged_not_invented() {
    // sfb2015 with XMPP on a single Edge: the page's non-HLB external table has only the inbound
    // 5269 row. portplan keeps the table as written and says so in a doubt the plan shows.
    let text = replace(SINGLE_PUBLIC, "xmpp = false", "xmpp = true");
    let text = replace(
        &text,
        "name = \"edge-single-public\"\n",
        "name = \"edge-single-public\"\nversion = \"sfb2015\"\n",
    );
    let plan = plan::compile(&topology(&text));
    let inbound = planned_rows(&plan)
        .into_iter()
        .find(|r| r.starts_with("sfb-edge-public/external-interface"))
        .is_some();
    assert!(inbound);
    let doubts = portplan::view::plan::planned_doubts(&plan, None);
    let xmpp: Vec<_> = doubts
        .iter()
        .filter(|d| d.row.to_string() == "sfb-edge-public/external-interface#1")
        .collect();
    assert_eq!(xmpp.len(), 1, "the 5269 row's doubt is shown with the plan");
    assert!(xmpp[0].text.contains("outbound 5269"), "{}", xmpp[0].text);
    assert!(!xmpp[0].rules.is_empty());
    // no outbound 5269 row was made up
    assert!(
        !plan
            .flows
            .iter()
            .any(|f| f.ports.start == 5269 && f.source.members.iter().any(|m| m.host == "edge01")),
        "outbound 5269 is not in the page's table"
    );
}

#[test]
fn keepalived_never_writes_direct_routing_for_the_av_vip() {
    // Both versions' load balancing pages rule out direct server return; the A/V VIP is LVS NAT
    // (destination rewritten, client source kept), like the other VIPs.
    use portplan::render::{self, Scope, Target};
    for text in [SFB2019_HLB, include_str!("../examples/reference.toml")] {
        let t = topology(text);
        let p = plan::compile(&t);
        let out = render::render_files(&p, &t, Target::Keepalived, &Scope::All).unwrap();
        assert!(!out.is_empty());
        for a in &out {
            assert!(!a.text.contains("lb_kind DR"), "{}", a.file);
            let av: Vec<&str> = a
                .text
                .split("virtual_server ")
                .filter(|block| block.contains("VIP: NAT") || block.contains("lb_kind"))
                .filter(|block| {
                    t.pools.iter().flat_map(|p| &p.vips).any(|v| {
                        v.service == portplan::topology::VipService::Av
                            && v.addresses
                                .iter()
                                .any(|ip| block.starts_with(&ip.to_string()))
                    })
                })
                .collect();
            assert!(!av.is_empty(), "{}: no A/V virtual_server", a.file);
            for block in av {
                assert!(block.contains("lb_kind NAT"), "{block}");
            }
        }
    }
}

#[test]
fn single_address_edge_is_refused_not_planned_on_one_port() {
    // One address for access, webconf and av is the page's single-address design, where each
    // service listens on its own port. The catalog gives all three 443, so planning it made one
    // rule for three services; portplan refuses it and says why.
    let text = replace(
        SINGLE_PUBLIC,
        "webconf = \"192.0.2.11\"",
        "webconf = \"192.0.2.10\"",
    );
    let text = replace(&text, "av = \"192.0.2.12\"", "av = \"192.0.2.10\"");
    let errors = parse(&text).unwrap_err();
    let shared: Vec<&String> = errors
        .iter()
        .filter(|e| e.starts_with("shared-service-address:"))
        .collect();
    assert_eq!(shared.len(), 1, "{errors:?}");
    assert!(
        shared[0].contains("`edge01`")
            && shared[0].contains("192.0.2.10")
            && shared[0].contains("`access` and `webconf` and `av`")
            && shared[0].contains("different ports"),
        "{}",
        shared[0]
    );
    // on Skype for Business too, and for two services sharing one address
    let text = SFBSE_NAT.to_string();
    let t = topology(&text);
    let av = t
        .pools
        .iter()
        .flat_map(|p| &p.servers)
        .flat_map(|s| &s.interfaces)
        .flat_map(|i| &i.addresses)
        .find(|a| a.usage == portplan::topology::AddressUse::Av)
        .unwrap()
        .ip;
    let access = t
        .pools
        .iter()
        .flat_map(|p| &p.servers)
        .flat_map(|s| &s.interfaces)
        .flat_map(|i| &i.addresses)
        .find(|a| a.usage == portplan::topology::AddressUse::Access)
        .unwrap()
        .ip;
    let text = replace(
        &text,
        &format!("av = \"{av}\""),
        &format!("av = \"{access}\""),
    );
    let errors = parse(&text).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("shared-service-address:") && e.contains("`access` and `av`")),
        "{errors:?}"
    );
}

/// sfb2019-hlb with its Director pool removed (the cold trial's topology).
fn hlb_without_director() -> String {
    let start = SFB2019_HLB.find("[[pool]]\nname = \"dirpool\"").unwrap();
    let end = start + 1 + SFB2019_HLB[start + 1..].find("[[pool]]").unwrap();
    format!("{}{}", &SFB2019_HLB[..start], &SFB2019_HLB[end..])
}

/// The sfb2019-hlb topology text without the Edge pool's internal VIP.
fn without_internal_vip(text: &str) -> String {
    replace(
        text,
        "  [[pool.vip]]\n  service = \"internal\"\n  zone = \"perimeter-internal\"\n  address = \"172.25.33.100\"\n",
        "",
    )
}

const VIP: &str = "edgepool/internal-vip";

#[test]
fn sfb_hlb_edge_plans_sip_to_and_from_each_edge_servers_internal_address() {
    // The page's internal VIP table names the Edge internal interface for 5061/5062 and its note
    // sends traffic to the individual Edge servers unless Exchange 2007/2010 UM or legacy clients
    // need the VIP: the plan carries the servers' addresses, and the VIP where there is one.
    let t = topology(&hlb_without_director());
    let plan = plan::compile(&t);
    for host in ["edge01", "edge02", VIP] {
        assert!(
            flows_with(&plan, Transport::Tcp, 5061, host, false) > 0,
            "5061 to {host}"
        );
        assert!(
            flows_with(&plan, Transport::Tcp, 5061, host, true) > 0,
            "5061 from {host}"
        );
        assert!(
            flows_with(&plan, Transport::Tcp, 5062, host, false) > 0,
            "5062 to {host}"
        );
    }
    // the rules the fw-internal firewall gets: 5061 in and out for the servers' own addresses
    let servers = ["172.25.33.11/32", "172.25.33.21/32"];
    let rules: Vec<_> = plan.rules_for("fw-internal").collect();
    let text = |r: &&portplan::plan::Rule, side: &str| -> String {
        serde_json::to_value(r).unwrap()[side].to_string()
    };
    for port in [5061, 5062] {
        let inbound = rules
            .iter()
            .filter(|r| r.ports.start == port)
            .any(|r| servers.iter().all(|s| text(r, "destination").contains(s)));
        assert!(
            inbound,
            "{port} towards the Edge servers' internal addresses"
        );
    }
    let outbound = rules
        .iter()
        .filter(|r| r.ports.start == 5061)
        .any(|r| servers.iter().all(|s| text(r, "source").contains(s)));
    assert!(outbound, "5061 from the Edge servers' internal addresses");
    // Lync Server 2013's HLB tables name the internal VIP alone: its plan is unchanged
    let lync = plan::compile(&topology(include_str!("../examples/reference.toml")));
    assert_eq!(flows_with(&lync, Transport::Tcp, 5061, "edge01", false), 0);
    assert!(flows_with(&lync, Transport::Tcp, 5061, VIP, false) > 0);
}

#[test]
fn sfb_hlb_edge_without_internal_vip_is_accepted_with_a_note() {
    // EER keeps the internal VIP for Exchange 2007/2010 UM and legacy clients only; it used to be
    // `missing-vip` (exit 2) on every version.
    let text = without_internal_vip(&hlb_without_director());
    let t = topology(&text);
    let notes: Vec<_> = portplan::topology::lint::lint(&t)
        .findings
        .into_iter()
        .filter(|f| f.code == "sfb-edge-no-internal-vip")
        .collect();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].severity, portplan::topology::Severity::Info);
    assert!(
        notes[0].message.contains("Unified Messaging"),
        "{}",
        notes[0].message
    );
    let plan = plan::compile(&t);
    for host in ["edge01", "edge02"] {
        assert!(flows_with(&plan, Transport::Tcp, 5061, host, false) > 0);
        assert!(flows_with(&plan, Transport::Tcp, 5061, host, true) > 0);
        assert!(flows_with(&plan, Transport::Tcp, 5062, host, false) > 0);
    }
    // nothing of the Edge tables is left out for want of the VIP
    let skipped: Vec<String> = plan
        .skipped
        .iter()
        .filter(|s| s.row.scenario == "sfb-edge-hlb")
        .map(|s| format!("{}: {}", s.row, s.reason))
        .collect();
    assert!(skipped.iter().all(|s| s.contains("XMPP")), "{skipped:?}");
    // with the VIP the note is gone
    let with_vip = topology(&hlb_without_director());
    assert!(
        !portplan::topology::lint::lint(&with_vip)
            .findings
            .iter()
            .any(|f| f.code == "sfb-edge-no-internal-vip")
    );
    // Lync Server 2013 routes all internal Edge traffic through the VIP: still required there
    let lync = replace(&text, "version = \"sfb2019\"\n", "");
    let errors = parse(&lync).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("missing-vip:") && e.contains("`internal` VIP")),
        "{errors:?}"
    );
}
