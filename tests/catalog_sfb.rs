//! The Skype for Business Server tables of the catalog against their pages, row by row, and the
//! product versions: which tables a version plans, what it lacks, and how two versions differ.
//!
//! `tests/fixtures/page_sfb_edge.tsv` holds the Edge page's port tables as written (and its IP count
//! tables), `page_sfb_servers.tsv` the server ports page (with its IPsec table), `page_sfb_vbss.tsv`
//! the video-based screen sharing page; `labels_sfb.tsv` maps the Edge page's names for each end to
//! role ids. The catalog normalises: a TCP/UDP row is two rows, a NAT/public cell feeds two scenarios.

use portplan::catalog::compare::{Comparison, compare};
use portplan::catalog::{Catalog, Direction, Feature, PortRange, Role, Row, Transport, Version};
use portplan::topology::Topology;
use std::collections::HashMap;

const SFB: [&str; 5] = [
    "sfb-edge-public",
    "sfb-edge-nat",
    "sfb-edge-hlb",
    "sfb-internal-servers",
    "sfb-video-screen-sharing",
];

fn rows_of(scenario: &str, table: &str) -> Vec<&'static Row> {
    Catalog::builtin()
        .rows
        .iter()
        .filter(|r| r.scenario == scenario && r.table == table)
        .collect()
}

fn lines(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').collect())
}

// ---- the Edge page ----

struct EdgeRow {
    scenarios: Vec<String>,
    table: String,
    protocol: String,
    transport: String,
    port: String,
    source: String,
    destination: String,
}

fn edge_fixture() -> Vec<EdgeRow> {
    lines(include_str!("fixtures/page_sfb_edge.tsv"))
        .filter(|c| !c[2].starts_with("ip-count"))
        .map(|c| {
            assert_eq!(c.len(), 8, "edge fixture line has 8 columns: {c:?}");
            EdgeRow {
                scenarios: c[1].split(',').map(str::to_string).collect(),
                table: c[2].into(),
                protocol: c[3].into(),
                transport: c[4].into(),
                port: c[5].into(),
                source: c[6].into(),
                destination: c[7].into(),
            }
        })
        .collect()
}

/// Label -> role, keyed by (scenario/table, label) for scoped lines and ("", label) otherwise.
type Labels = HashMap<(String, String), (Role, Vec<Role>)>;

fn labels() -> Labels {
    lines(include_str!("fixtures/labels_sfb.tsv"))
        .flat_map(|c| {
            let parse = |r: &str| r.parse::<Role>().unwrap_or_else(|e| panic!("{e}"));
            let role = match c[1].split_once('[') {
                Some((r, narrow)) => (
                    parse(r),
                    narrow.trim_end_matches(']').split(',').map(parse).collect(),
                ),
                None => (parse(c[1]), Vec::new()),
            };
            let scopes: Vec<String> = match c.get(2) {
                Some(list) => list.split(',').map(str::to_string).collect(),
                None => vec![String::new()],
            };
            let label = c[0].to_string();
            scopes
                .into_iter()
                .map(move |s| ((s, label.clone()), role.clone()))
        })
        .collect()
}

/// The part of a cell a scenario reads: NAT scenarios the "Private IP using NAT" half, others the
/// "Public IP" half; cells without the split are the same for all.
fn cell_for<'a>(cell: &'a str, scenario: &str) -> &'a str {
    match cell
        .strip_prefix("Private IP using NAT: ")
        .and_then(|rest| rest.split_once("; Public IP: "))
    {
        Some((nat, _)) if scenario == "sfb-edge-nat" => nat,
        Some((_, public)) => public,
        None => cell,
    }
}

fn role_of<'a>(
    labels: &'a Labels,
    scenario: &str,
    table: &str,
    text: &str,
) -> &'a (Role, Vec<Role>) {
    labels
        .get(&(format!("{scenario}/{table}"), text.to_string()))
        .or_else(|| labels.get(&(String::new(), text.to_string())))
        .unwrap_or_else(|| panic!("{scenario}/{table}: no label for `{text}`"))
}

#[test]
fn catalog_matches_the_sfb_edge_page_row_by_row() {
    let labels = labels();
    let fixture = edge_fixture();
    let mut checked = 0;
    for scenario in ["sfb-edge-public", "sfb-edge-nat", "sfb-edge-hlb"] {
        let mine: Vec<&EdgeRow> = fixture
            .iter()
            .filter(|r| r.scenarios.iter().any(|s| s == scenario))
            .collect();
        let mut tables: Vec<&str> = mine.iter().map(|r| r.table.as_str()).collect();
        tables.dedup();
        assert_eq!(
            tables.len(),
            Catalog::builtin().tables(scenario).len(),
            "{scenario}: tables"
        );
        for table in tables {
            let want: Vec<&&EdgeRow> = mine.iter().filter(|r| r.table == table).collect();
            let have = rows_of(scenario, table);
            assert_eq!(want.len(), have.len(), "{scenario}/{table}: row count");
            for (i, (w, h)) in want.iter().zip(&have).enumerate() {
                let at = format!("{scenario}/{table} row {}", i + 1);
                let transport = match w.transport.as_str() {
                    "TCP" => Transport::Tcp,
                    "UDP" => Transport::Udp,
                    other => panic!("{at}: transport `{other}`"),
                };
                assert_eq!(h.transport, transport, "{at}: transport");
                assert_eq!(h.ports, w.port.parse::<PortRange>().unwrap(), "{at}: ports");
                let (src, src_narrow) =
                    role_of(&labels, scenario, table, cell_for(&w.source, scenario));
                let (dst, dst_narrow) =
                    role_of(&labels, scenario, table, cell_for(&w.destination, scenario));
                assert_eq!(h.source, *src, "{at}: source");
                assert_eq!(&h.narrow_source, src_narrow, "{at}: narrowed source");
                assert_eq!(h.destination, *dst, "{at}: destination");
                assert_eq!(
                    &h.narrow_destination, dst_narrow,
                    "{at}: narrowed destination"
                );
                // the catalog's service label is the tail of the page's protocol cell (Lync 2013
                // spelling: STUN,MSTURN), or its head where the page adds a remark (XMPP)
                let protocol = w.protocol.replace("STUN.MSTURN", "STUN,MSTURN");
                assert!(
                    protocol.ends_with(&h.service) || protocol.starts_with(&h.service),
                    "{at}: service {} vs page {}",
                    h.service,
                    w.protocol
                );
                // the page marks these rows as gone in 2019: the catalog keeps them for 2015 only
                if w.protocol
                    .to_lowercase()
                    .contains("not supported in skype for business")
                {
                    assert_eq!(h.versions, [Version::Sfb2015], "{at}: versions");
                }
                checked += 1;
            }
        }
    }
    // 25 rows of the two non-HLB tables, read once for NAT and once for public addresses, and 30 HLB rows
    assert_eq!(checked, 25 * 2 + 30);
}

#[test]
fn sfb_tables_have_the_row_counts_of_their_pages() {
    let count = |s: &str, t: &str| rows_of(s, t).len();
    for edge in ["sfb-edge-public", "sfb-edge-nat"] {
        // Lync 2013's 16 less the two inbound 50000-59999 rows only OCS 2007 partners used
        assert_eq!(count(edge, "external-interface"), 14, "{edge}");
        assert_eq!(count(edge, "internal-interface"), 11, "{edge}");
    }
    assert_eq!(count("sfb-edge-hlb", "external-interface"), 9);
    assert_eq!(count("sfb-edge-hlb", "internal-interface"), 8);
    assert_eq!(count("sfb-edge-hlb", "external-vip"), 8);
    assert_eq!(count("sfb-edge-hlb", "internal-vip"), 5);
    // 53 page rows, two of them TCP/UDP
    assert_eq!(count("sfb-internal-servers", "server-ports"), 55);
    assert_eq!(count("sfb-internal-servers", "hlb-only"), 20);
    assert_eq!(count("sfb-internal-servers", "dns-lb"), 6);
    // 12 page rows, two TCP/UDP
    assert_eq!(count("sfb-internal-servers", "clients"), 14);
    // 2 + 1 page rows, two TCP/UDP
    assert_eq!(count("sfb-video-screen-sharing", "server-ports"), 3);
    assert_eq!(count("sfb-video-screen-sharing", "clients"), 2);
    let catalog = Catalog::builtin();
    let sfb = catalog
        .rows
        .iter()
        .filter(|r| SFB.contains(&r.scenario.as_str()))
        .count();
    assert_eq!(sfb, 25 * 2 + 30 + 95 + 5);
    for s in SFB {
        let scenario = catalog.scenario(s).unwrap();
        assert_eq!(
            scenario.versions,
            [Version::Sfb2015, Version::Sfb2019, Version::Sfbse],
            "{s}"
        );
    }
}

#[test]
fn sfb_ip_count_tables_follow_the_load_balancer_facts() {
    let lb = &Catalog::builtin().load_balancer;
    let mut seen = 0;
    for c in
        lines(include_str!("fixtures/page_sfb_edge.tsv")).filter(|c| c[2].starts_with("ip-count"))
    {
        let servers: usize = c[3].parse().unwrap();
        let dns: usize = c[4].parse().unwrap();
        // "3 (1 per VIP) + 6": VIPs plus server addresses
        let (vips, rest) = c[5].split_once(" (1 per VIP) +").unwrap();
        let (vips, hlb): (usize, usize) = (vips.parse().unwrap(), rest.trim().parse().unwrap());
        assert_eq!(
            hlb, dns,
            "{c:?}: the servers' own addresses are the DNS count"
        );
        if c[2] == "ip-count-per-role" {
            assert_eq!(dns, servers * lb.public_addresses_per_server, "{c:?}");
            assert_eq!(vips + hlb, lb.public_addresses_needed(servers), "{c:?}");
        } else {
            // one address for all three services: one per server and one VIP
            assert_eq!((vips, dns), (1, servers), "{c:?}");
        }
        seen += 1;
    }
    assert_eq!(seen, 8);
}

// ---- the server ports page and the video-based screen sharing page ----

/// The role a row of the server ports page is about.
fn server_role(cell: &str) -> Role {
    let role = match cell {
        "All Servers" | "All internal servers" => "internal-servers",
        "Front End Servers" | "Front End Servers that also run a Collocated Mediation Server" => {
            "front-end"
        }
        "Front End Servers where the Central Management store resides" => "front-end.cms",
        "Office Web Apps Servers" => "office-web-apps",
        "Directors" => "director",
        "Mediation Servers" => "mediation",
        "Persistent Chat Front End Server" => "persistent-chat",
        "Front End Server load balancer"
        | "Front End Server load balancer (if the pool also runs Mediation Server)" => {
            "front-end.vip"
        }
        "Mediation Server load balancer" => "mediation.vip",
        "Director load balancer" => "director.vip",
        // "Clients" and the list of IP phones
        _ => "internal-clients",
    };
    role.parse().unwrap()
}

fn transports(protocol: &str) -> Vec<Transport> {
    if protocol.starts_with("TCP/UDP") {
        vec![Transport::Tcp, Transport::Udp]
    } else if protocol.starts_with("UDP") || protocol == "DHCP" {
        vec![Transport::Udp]
    } else {
        // TCP, TLS, MTLS, HTTP(S), SMB/TCP, DCOM/RPC, and the Office Web Apps row that leaves it empty
        vec![Transport::Tcp]
    }
}

fn check_server_tables(text: &str, scenario: &str) -> usize {
    let rows: Vec<Vec<&str>> = lines(text).filter(|c| c[2] != "ipsec").collect();
    let mut tables: Vec<&str> = rows.iter().map(|c| c[2]).collect();
    tables.dedup();
    assert_eq!(
        tables,
        Catalog::builtin().tables(scenario),
        "{scenario}: tables"
    );
    let mut planned = 0;
    for table in tables {
        let mut want = Vec::new();
        for (i, c) in rows.iter().filter(|c| c[2] == table).enumerate() {
            assert_eq!(c.len(), 7, "{c:?}");
            assert_eq!(c[1], scenario);
            let ports: PortRange = c[5]
                .trim_end_matches(" *")
                .replace('/', "-")
                .parse()
                .unwrap_or_else(|e| panic!("{table} row {}: {e}", i + 1));
            for t in transports(c[6]) {
                want.push((i + 1, server_role(c[3]), t, ports));
            }
        }
        let have = rows_of(scenario, table);
        assert_eq!(want.len(), have.len(), "{scenario}/{table}: row count");
        for ((line, role, transport, ports), h) in want.into_iter().zip(have) {
            let at = format!("{scenario}/{table} page row {line}");
            assert_eq!(h.transport, transport, "{at}: transport");
            assert_eq!(h.ports, ports, "{at}: ports");
            let subject = match h.direction {
                Direction::Inbound => h.destination,
                Direction::Outbound => h.source,
            };
            assert_eq!(subject, role, "{at}: the row's role");
            planned += 1;
        }
    }
    planned
}

#[test]
fn catalog_matches_the_sfb_server_ports_page_row_by_row() {
    let n = check_server_tables(
        include_str!("fixtures/page_sfb_servers.tsv"),
        "sfb-internal-servers",
    );
    assert_eq!(n, 95);
}

#[test]
fn catalog_matches_the_video_screen_sharing_page_row_by_row() {
    let n = check_server_tables(
        include_str!("fixtures/page_sfb_vbss.tsv"),
        "sfb-video-screen-sharing",
    );
    assert_eq!(n, 5);
    assert!(
        rows_of("sfb-video-screen-sharing", "server-ports")
            .iter()
            .chain(&rows_of("sfb-video-screen-sharing", "clients"))
            .all(|r| r.condition == Some(Feature::VideoScreenSharing))
    );
}

#[test]
fn the_ipsec_exceptions_table_is_transcribed_but_not_planned() {
    let ipsec: Vec<Vec<&str>> = lines(include_str!("fixtures/page_sfb_servers.tsv"))
        .filter(|c| c[2] == "ipsec")
        .collect();
    assert_eq!(ipsec.len(), 15);
    assert!(
        ipsec
            .iter()
            .all(|c| c.len() == 10 && c[9] == "Do not authenticate")
    );
    // every destination port is Any: an IPsec policy, not a port rule
    assert!(ipsec.iter().all(|c| c[8] == "Any"));
    assert!(Catalog::builtin().rows.iter().all(|r| r.table != "ipsec"));
}

#[test]
fn the_new_file_share_row_goes_from_the_front_ends_to_the_internal_network() {
    let rows = rows_of("sfb-internal-servers", "server-ports");
    let smb: Vec<&&Row> = rows.iter().filter(|r| r.service == "SMB").collect();
    assert_eq!(smb.len(), 1);
    let r = smb[0];
    assert_eq!(
        (r.transport, r.ports),
        (Transport::Tcp, PortRange::single(445))
    );
    assert_eq!((r.source, r.destination), (Role::FrontEnd, Role::Internal));
    assert_eq!(r.direction, Direction::Outbound);
    assert!(r.doubt.is_some());
    // the Central Management store's own 445 stays inbound to the CMS pool
    assert!(
        rows.iter()
            .any(|r| r.ports == PortRange::single(445) && r.destination == Role::FrontEndCms)
    );
}

#[test]
fn sfb_disagreements_are_kept_and_flagged() {
    let catalog = Catalog::builtin();
    let doubts: Vec<String> = catalog
        .rows_with_ids()
        .filter(|(id, r)| SFB.contains(&id.scenario.as_str()) && r.doubt.is_some())
        .map(|(id, _)| id.to_string())
        .collect();
    assert_eq!(
        doubts,
        [
            // XMPP on the non-HLB tables: inbound 5269 only, the VIP table has it both ways
            "sfb-edge-public/external-interface#1",
            // outbound media: federation (TCP) or OCS 2007 (UDP) on the Lync pages, no condition here
            "sfb-edge-public/external-interface#9",
            "sfb-edge-public/external-interface#10",
            "sfb-edge-nat/external-interface#1",
            "sfb-edge-nat/external-interface#9",
            "sfb-edge-nat/external-interface#10",
            "sfb-edge-hlb/external-interface#4",
            "sfb-edge-hlb/external-interface#5",
            // the HLB internal table narrows STUN/TURN to Front End servers, the non-HLB one does not
            "sfb-edge-hlb/internal-interface#4",
            "sfb-edge-hlb/internal-interface#5",
            // external VIP cells name server addresses (and NAT); 5061 out goes to Any
            "sfb-edge-hlb/external-vip#3",
            "sfb-edge-hlb/external-vip#4",
            "sfb-edge-hlb/external-vip#5",
            "sfb-edge-hlb/external-vip#6",
            "sfb-edge-hlb/external-vip#7",
            "sfb-edge-hlb/external-vip#8",
            // the internal VIP table, read as the pool's internal side (servers and VIP): its cells
            // name the internal interface or the VIP, its note sends traffic to the servers
            "sfb-edge-hlb/internal-vip#1",
            "sfb-edge-hlb/internal-vip#2",
            "sfb-edge-hlb/internal-vip#3",
            "sfb-edge-hlb/internal-vip#4",
            "sfb-edge-hlb/internal-vip#5",
            // carried from the Lync 2013 page: twice listed SQL Browser, Mediation 5070 twice
            "sfb-internal-servers/server-ports#37",
            "sfb-internal-servers/server-ports#40",
            "sfb-internal-servers/server-ports#52",
            // video-based screen sharing: UDP where the server ports page says TCP only
            "sfb-video-screen-sharing/server-ports#3",
            "sfb-video-screen-sharing/clients#2",
        ]
    );
    // The single-Edge-with-public-addresses page of Lync 2013 sent outbound RTP/TCP from the Access
    // Edge; the Skype for Business page sends it from the A/V Edge in both variants.
    let public = rows_of("sfb-edge-public", "external-interface");
    let nat = rows_of("sfb-edge-nat", "external-interface");
    assert_eq!(public[8].source, Role::EdgeAvPublic);
    let facts = |rows: &[&Row]| -> Vec<(Transport, PortRange, Role, Role, Option<Feature>)> {
        rows.iter()
            .map(|r| (r.transport, r.ports, r.source, r.destination, r.condition))
            .collect()
    };
    // one table, two readings: the NAT and the public scenario are the same rows
    assert_eq!(facts(&public), facts(&nat));
}

#[test]
fn rows_left_out_of_2019_are_the_xmpp_and_persistent_chat_rows() {
    let catalog = Catalog::builtin();
    for (id, r) in catalog
        .rows_with_ids()
        .filter(|(id, _)| SFB.contains(&id.scenario.as_str()))
    {
        let xmpp = r.condition == Some(Feature::Xmpp);
        let pchat = r.destination == Role::PersistentChat;
        assert_eq!(
            !r.versions.is_empty(),
            xmpp || pchat,
            "{id}: only XMPP and Persistent Chat rows are version-limited"
        );
        if xmpp || pchat {
            assert_eq!(r.versions, [Version::Sfb2015], "{id}");
        }
    }
    let count = |v: Version| {
        catalog
            .rows_of_version(v)
            .filter(|(id, _)| SFB.contains(&id.scenario.as_str()))
            .count()
    };
    // 2 + 2 + 4 XMPP rows (external, internal, both Edge variants; HLB internal and two VIP rows)
    // and 3 Persistent Chat rows
    assert_eq!(count(Version::Sfb2015) - count(Version::Sfb2019), 4 + 3 + 3);
    assert_eq!(count(Version::Sfb2019), count(Version::Sfbse));
    assert_eq!(count(Version::Lync2013), 0);
}

// ---- catalog --compare ----

fn removed(c: &Comparison, slot: &str) -> Vec<(String, String)> {
    c.slot(slot)
        .unwrap()
        .removed
        .iter()
        .map(|e| {
            (
                e.table.clone(),
                format!(
                    "{} {} {} {}",
                    e.service,
                    e.transport,
                    e.ports,
                    e.direction.as_str()
                ),
            )
        })
        .collect()
}

#[test]
fn compare_lync2013_with_sfb2019_finds_the_known_differences() {
    let c = compare(Catalog::builtin(), Version::Lync2013, Version::Sfb2019);
    let s = |t: &str, k: &str| (t.to_string(), k.to_string());
    // HLB Edge: the OCS 2007 inbound media rows, XMPP, and the internal VIP's outbound STUN/TCP row
    assert_eq!(
        removed(&c, "edge-consolidated-hlb"),
        [
            s("external-interface", "RTP tcp 50000-59999 inbound"),
            s("external-interface", "RTP udp 50000-59999 inbound"),
            s("internal-interface", "XMPP/MTLS tcp 23456 inbound"),
            s("external-vip", "XMPP tcp 5269 inbound"),
            s("external-vip", "XMPP tcp 5269 outbound"),
            s("internal-vip", "STUN/MSTURN tcp 443 outbound"),
        ]
    );
    let hlb = c.slot("edge-consolidated-hlb").unwrap();
    assert!(hlb.added.is_empty());
    let changed: Vec<(String, u16, &[&str])> = hlb
        .changed
        .iter()
        .map(|x| {
            (
                x.from.table.clone(),
                x.from.ports.start,
                x.fields.as_slice(),
            )
        })
        .collect();
    assert_eq!(
        changed,
        [
            // outbound RTP: federation (TCP) and OCS 2007 (UDP) on the Lync page, no condition here
            ("external-interface".to_string(), 50000, &["condition"][..]),
            ("external-interface".to_string(), 50000, &["condition"][..]),
            ("internal-interface".to_string(), 8057, &["source"][..]),
            ("internal-interface".to_string(), 3478, &["source"][..]),
            ("internal-interface".to_string(), 443, &["source"][..]),
            ("external-vip".to_string(), 5061, &["destination"][..]),
            // Lync: the internal VIP; here the Edge pool's internal side (servers and VIP)
            ("internal-vip".to_string(), 5061, &["destination"][..]),
            ("internal-vip".to_string(), 5061, &["source"][..]),
            ("internal-vip".to_string(), 5062, &["destination"][..]),
            ("internal-vip".to_string(), 3478, &["destination"][..]),
            ("internal-vip".to_string(), 443, &["destination"][..]),
        ]
    );
    assert_eq!(hlb.changed[6].to.destination.as_str(), "edge.internal.pool");
    let vip = &hlb.changed[5];
    assert_eq!(
        (vip.from.destination.as_str(), vip.to.destination.as_str()),
        ("federated-partner", "any")
    );
    // the single Edge with NAT: OCS 2007 rows, XMPP everywhere, and the tables SfB has no page for
    let nat = removed(&c, "edge-single-nat");
    for gone in [
        s("external-interface", "RTP tcp 50000-59999 inbound"),
        s("external-interface", "RTP udp 50000-59999 inbound"),
        s("external-interface", "XMPP tcp 5269 inbound"),
        s("xmpp", "XMPP tcp 5269 outbound"),
        s("public-im", "RTP tcp 50000-59999 outbound"),
    ] {
        assert!(nat.contains(&gone), "{gone:?} in {nat:?}");
    }
    assert_eq!(nat.len(), 14);
    // the servers page: a File Share row added, Persistent Chat gone
    let servers = c.slot("internal-servers").unwrap();
    assert_eq!(servers.added.len(), 1);
    assert_eq!(servers.added[0].service, "SMB");
    assert_eq!(removed(&c, "internal-servers").len(), 3);
    assert!(servers.changed.is_empty());
    // the tables carried over unchanged
    for slot in [
        "director-pool-hlb",
        "director-dns-hlb",
        "director-single",
        "reverse-proxy",
        "autodiscover",
    ] {
        assert!(c.slot(slot).unwrap().is_empty(), "{slot}");
    }
    assert_eq!((c.added(), c.removed(), c.changed()), (6, 72, 19));
    let text = c.to_string();
    assert!(
        text.contains("edge-consolidated-hlb: edge-consolidated-hlb -> sfb-edge-hlb"),
        "{text}"
    );
    assert!(
        text.ends_with("6 added, 72 removed, 19 changed\n"),
        "{text}"
    );
}

#[test]
fn compare_keeps_xmpp_for_2015_and_finds_nothing_between_2019_and_se() {
    let catalog = Catalog::builtin();
    let c = compare(catalog, Version::Lync2013, Version::Sfb2015);
    let hlb = removed(&c, "edge-consolidated-hlb");
    assert_eq!(hlb.len(), 3, "{hlb:?}");
    assert!(hlb.iter().all(|(_, k)| !k.starts_with("XMPP")));
    let c = compare(catalog, Version::Sfb2015, Version::Sfb2019);
    // two XMPP rows in each of the four non-HLB slots (two scenarios, each filling two slots), three
    // in the HLB slot, three Persistent Chat rows
    assert_eq!((c.added(), c.removed(), c.changed()), (0, 2 * 4 + 3 + 3, 0));
    for v in Version::ALL {
        let same = compare(catalog, *v, *v);
        assert!(same.slots.iter().all(|s| s.is_empty()), "{v}");
    }
    let c = compare(catalog, Version::Sfb2019, Version::Sfbse);
    assert!(c.slots.iter().all(|s| s.is_empty()));
}

// ---- topologies and their version ----

const REFERENCE: &str = include_str!("../examples/reference.toml");
const SFB2019: &str = include_str!("../examples/sfb2019-hlb.toml");

fn parse(text: &str) -> Result<Topology, Vec<(String, String)>> {
    Topology::parse("test.toml", text).map_err(|e| {
        e.problems
            .iter()
            .map(|p| (p.code.to_string(), p.message.clone()))
            .collect()
    })
}

fn with_version(version: &str) -> String {
    REFERENCE.replacen(
        "name = \"reference\"\n",
        &format!("name = \"reference\"\nversion = \"{version}\"\n"),
        1,
    )
}

#[test]
fn a_file_without_version_is_lync2013_and_keeps_its_tables() {
    let t = parse(REFERENCE).unwrap();
    assert_eq!(t.version, Version::Lync2013);
    assert_eq!(
        t.scenarios(),
        [
            "director-pool-hlb",
            "edge-consolidated-hlb",
            "reverse-proxy"
        ]
    );
}

#[test]
fn the_version_picks_the_skype_for_business_tables() {
    let t = parse(SFB2019).unwrap();
    assert_eq!(t.version, Version::Sfb2019);
    assert_eq!(
        t.scenarios(),
        ["director-pool-hlb", "reverse-proxy", "sfb-edge-hlb"]
    );
    // 2015 still has XMPP: the reference file as it is checks
    let t = parse(&with_version("sfb2015")).unwrap();
    assert_eq!(
        t.scenarios(),
        ["director-pool-hlb", "reverse-proxy", "sfb-edge-hlb"]
    );
    let on = |f: &str| SFB2019.replacen("[features]\n", &format!("[features]\n{f} = true\n"), 1);
    let t = parse(&on("internal-servers")).unwrap();
    assert!(t.scenarios().contains(&"sfb-internal-servers"));
    let t = parse(&on("video-screen-sharing")).unwrap();
    assert!(t.scenarios().contains(&"sfb-video-screen-sharing"));
}

#[test]
fn xmpp_on_2019_and_se_is_an_error_at_the_feature_with_the_reason() {
    for v in ["sfb2019", "sfbse"] {
        let text = with_version(v);
        let problems = parse(&text).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].0, "feature-not-in-version");
        assert!(
            problems[0].1.contains("`xmpp`") && problems[0].1.contains("deprecated-2019"),
            "{problems:?}"
        );
        let err = Topology::parse("t.toml", &text).unwrap_err();
        let span = err.problems[0].span().unwrap();
        assert_eq!(&text[span], "xmpp");
    }
}

#[test]
fn a_persistent_chat_pool_on_2019_is_an_error_at_its_role() {
    let pool = "\n[[pool]]\nname = \"pchat\"\nrole = \"persistent-chat\"\n  [[pool.server]]\n  name = \"pc01\"\n    [[pool.server.interface]]\n    name = \"lan\"\n    zone = \"internal\"\n    address = \"10.10.5.11\"\n";
    assert!(parse(&format!("{}{pool}", with_version("sfb2015"))).is_ok());
    let text = format!("{SFB2019}{pool}");
    let err = Topology::parse("t.toml", &text).unwrap_err();
    assert_eq!(err.problems.len(), 1, "{:?}", err.problems);
    let p = &err.problems[0];
    assert_eq!(p.code, "role-not-in-version");
    assert!(p.message.contains("Persistent Chat"), "{}", p.message);
    assert_eq!(&text[p.span().unwrap()], "\"persistent-chat\"");
}

#[test]
fn features_a_version_has_no_rows_for_are_errors() {
    let on = |text: &str, f: &str| {
        text.replacen("[features]\n", &format!("[features]\n{f} = true\n"), 1)
    };
    // video-based screen sharing came with Skype for Business Server 2015
    let problems = parse(&on(REFERENCE, "video-screen-sharing")).unwrap_err();
    assert_eq!(problems[0].0, "feature-not-in-version");
    assert!(problems[0].1.contains("Lync Server 2013"), "{problems:?}");
    // the Skype for Business Edge page has no OCS 2007-only rows and no public IM table
    let sfb = SFB2019.replacen("ocs2007-federation = false\n", "", 1);
    for f in ["ocs2007-federation", "public-im"] {
        let problems = parse(&on(&sfb, f)).unwrap_err();
        assert_eq!(problems.len(), 1, "{f}: {problems:?}");
        assert!(problems[0].1.contains("plan nothing"), "{problems:?}");
    }
    // Lync 2013 has both
    let lync = REFERENCE.replacen("ocs2007-federation = false\n", "", 1);
    assert!(parse(&on(&on(&lync, "ocs2007-federation"), "public-im")).is_ok());
}

#[test]
fn an_unknown_version_and_a_scenario_of_another_version_are_errors() {
    let problems = parse(&with_version("sfb2020")).unwrap_err();
    assert_eq!(problems[0].0, "unknown-version");
    assert!(problems[0].1.contains("sfb2019"), "{problems:?}");
    let text = SFB2019.replacen(
        "[options]\n",
        "[options]\nscenarios = [\"public-im\", \"autodiscover\"]\n",
        1,
    );
    let problems = parse(&text).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].0, "scenario-not-in-version");
    let text = SFB2019.replacen(
        "[options]\n",
        "[options]\nscenarios = [\"autodiscover\"]\n",
        1,
    );
    assert!(parse(&text).unwrap().scenarios().contains(&"autodiscover"));
}

#[test]
fn xmpp_partners_on_2019_are_errors() {
    let text = format!(
        "{SFB2019}\n[[partner]]\nname = \"jabber\"\nkind = \"xmpp\"\nnetworks = [\"192.0.2.0/24\"]\n"
    );
    let problems = parse(&text).unwrap_err();
    assert!(
        problems
            .iter()
            .any(|(c, m)| c == "feature-not-in-version" && m.contains("XMPP partners")),
        "{problems:?}"
    );
}

// ---- the command line ----

fn portplan(args: &[&str]) -> (i32, String, String) {
    let out = assert_cmd::Command::cargo_bin("portplan")
        .unwrap()
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn catalog_compare_prints_the_differences_and_refuses_unknown_versions() {
    let (code, out, err) = portplan(&["catalog", "--compare", "lync2013", "sfb2019"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(
            "lync2013 (Lync Server 2013) -> sfb2019 (Skype for Business Server 2019)\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("  - internal-vip STUN/MSTURN tcp 443 outbound: edge.internal.vip -> any  (edge-consolidated-hlb/internal-vip#6)"),
        "{out}"
    );
    assert!(
        out.contains("  + server-ports SMB tcp 445 outbound: front-end -> internal"),
        "{out}"
    );
    let (code, json, _) = portplan(&[
        "catalog",
        "--compare",
        "lync2013",
        "sfb2019",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["to"], "sfb2019");
    assert!(
        v["slots"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["to_scenario"] == "sfb-edge-hlb")
    );
    let (code, _, err) = portplan(&["catalog", "--compare", "lync2013", "sfb2020"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown version `sfb2020`"), "{err}");
    let (code, _, err) = portplan(&[
        "catalog",
        "--compare",
        "lync2013",
        "sfb2019",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = portplan(&[
        "catalog",
        "--compare",
        "lync2013",
        "sfb2019",
        "--scenario",
        "reverse-proxy",
    ]);
    assert_eq!(code, 2);
}

#[test]
fn catalog_scenarios_show_their_versions_and_between_its_version() {
    let (_, out, _) = portplan(&["catalog", "--scenario"]);
    let line = out
        .lines()
        .find(|l| l.starts_with("sfb-edge-hlb "))
        .unwrap();
    assert!(line.contains("sfb2015 sfb2019 sfbse"), "{line}");
    let line = out
        .lines()
        .find(|l| l.starts_with("reverse-proxy "))
        .unwrap();
    assert!(line.contains("lync2013 sfb2015 sfb2019 sfbse"), "{line}");
    let (_, lync, _) = portplan(&["between", "edge", "front-end"]);
    assert!(
        lync.starts_with("version: lync2013 (Lync Server 2013)\n"),
        "{lync}"
    );
    assert!(lync.contains("23456"), "{lync}");
    let (code, sfb, err) = portplan(&["between", "edge", "front-end", "--version", "sfb2019"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        sfb.starts_with("version: sfb2019 (Skype for Business Server 2019)\n"),
        "{sfb}"
    );
    // no XMPP gateway traffic in 2019, and only Skype for Business (or carried-over) rows
    assert!(!sfb.contains("23456"), "{sfb}");
    assert!(!sfb.contains("edge-consolidated-hlb/"), "{sfb}");
    assert!(sfb.contains("sfb-edge-hlb/"), "{sfb}");
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sfb2019-hlb.toml");
    let (code, out, err) = portplan(&[
        "between",
        "rp01",
        "fepool",
        "--topology",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("version: sfb2019 "), "{out}");
}
