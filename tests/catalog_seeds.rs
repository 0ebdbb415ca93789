//! The catalog against its source documents, row by row.
//!
//! `tests/fixtures/seed_tables.tsv` holds the fact columns of every seed table as the seeds write
//! them, `page_tables.tsv` those of the English port summary pages, `page_internal_servers.tsv` the
//! internal servers page; `labels.tsv` maps the documents' names for each end to role ids. One test
//! proves the seed fixture equals the seeds (when `../shared/seeds` is present: always in CI); the
//! others prove the catalog equals each fixture.

use portplan::catalog::{Catalog, PortRange, Role, Transport};
use std::collections::HashMap;
use std::path::Path;

struct FixtureRow {
    seed: String,
    scenario: String,
    table: String,
    port_cell: String,
    source: String,
    destination: String,
}

fn fixture() -> Vec<FixtureRow> {
    parse_fixture(include_str!("fixtures/seed_tables.tsv"))
}

fn page_fixture() -> Vec<FixtureRow> {
    parse_fixture(include_str!("fixtures/page_tables.tsv"))
}

fn parse_fixture(text: &str) -> Vec<FixtureRow> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            assert_eq!(c.len(), 6, "fixture line has 6 columns: {l}");
            FixtureRow {
                seed: c[0].into(),
                scenario: c[1].into(),
                table: c[2].into(),
                port_cell: c[3].into(),
                source: c[4].into(),
                destination: c[5].into(),
            }
        })
        .collect()
}

/// Label -> role, keyed by (scenario, label) for scenario-specific lines and ("", label) otherwise.
type Labels = HashMap<(String, String), (Role, Vec<Role>)>;

fn labels() -> Labels {
    include_str!("fixtures/labels.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .flat_map(|l| {
            let mut cols = l.split('\t');
            let label = cols.next().expect("label");
            let role = cols.next().expect("label<TAB>role");
            let scenarios: Vec<String> = match cols.next() {
                Some(list) => list.split(',').map(str::to_string).collect(),
                None => vec![String::new()],
            };
            let parsed = match role.split_once('[') {
                Some((r, narrow)) => (
                    r.parse::<Role>().unwrap(),
                    narrow
                        .trim_end_matches(']')
                        .split(',')
                        .map(|n| n.parse::<Role>().unwrap())
                        .collect(),
                ),
                None => (role.parse::<Role>().unwrap(), Vec::new()),
            };
            scenarios
                .into_iter()
                .map(move |s| ((s, label.to_string()), parsed.clone()))
        })
        .collect()
}

fn label<'a>(labels: &'a Labels, scenario: &str, text: &str, at: &str) -> &'a (Role, Vec<Role>) {
    labels
        .get(&(scenario.to_string(), text.to_string()))
        .or_else(|| labels.get(&(String::new(), text.to_string())))
        .unwrap_or_else(|| panic!("{at}: no label for `{text}`"))
}

/// "A/V/RTP/TCP/50,000-59,999" -> (tcp, 50000-59999); "HTTP/TCP 8080" -> (tcp, 8080).
fn parse_port_cell(cell: &str) -> (Transport, PortRange) {
    for (needle, transport) in [("TCP", Transport::Tcp), ("UDP", Transport::Udp)] {
        if let Some(at) = cell.rfind(needle) {
            let ports = cell[at + 3..]
                .trim_start_matches(['/', ' '])
                .replace(',', "");
            return (transport, ports.parse().expect(cell));
        }
    }
    panic!("no transport in seed cell `{cell}`");
}

/// The catalog rows of one table, in order.
fn rows_of(scenario: &str, table: &str) -> Vec<&'static portplan::catalog::Row> {
    Catalog::builtin()
        .rows
        .iter()
        .filter(|r| r.scenario == scenario && r.table == table)
        .collect()
}

#[test]
fn catalog_has_the_table_row_counts_of_the_seeds() {
    let catalog = Catalog::builtin();
    let count = |s: &str, t: &str| rows_of(s, t).len();
    assert_eq!(count("director-pool-hlb", "director"), 9);
    assert_eq!(count("director-dns-hlb", "director"), 9);
    assert_eq!(count("edge-consolidated-hlb", "external-interface"), 11);
    assert_eq!(count("edge-consolidated-hlb", "internal-interface"), 8);
    assert_eq!(count("edge-consolidated-hlb", "external-vip"), 8);
    assert_eq!(count("edge-consolidated-hlb", "internal-vip"), 6);
    assert_eq!(count("reverse-proxy", "external-interface"), 2);
    assert_eq!(count("reverse-proxy", "internal-interface"), 3);
    // the Lync Server 2013 rows (tests/catalog_sfb.rs counts the Skype for Business ones)
    assert_eq!(lync_rows(catalog).count(), 56 + 262);
}

/// Rows of the scenarios Lync Server 2013 plans.
fn lync_rows(
    catalog: &Catalog,
) -> impl Iterator<Item = (portplan::catalog::RowId, &portplan::catalog::Row)> {
    // the port summary pages of Lync Server 2013 (hybrid, planned for every version, has a page of
    // its own: tests/hybrid.rs)
    catalog.rows_with_ids().filter(|(id, _)| {
        id.scenario != "hybrid"
            && catalog
                .scenario(&id.scenario)
                .is_some_and(|s| s.applies_to(portplan::catalog::Version::Lync2013))
    })
}

#[test]
fn catalog_has_the_table_row_counts_of_the_pages() {
    let count = |s: &str, t: &str| rows_of(s, t).len();
    for edge in [
        "edge-single-public",
        "edge-single-nat",
        "edge-dns-public",
        "edge-dns-nat",
    ] {
        // only the DNS/NAT page lists outbound XMPP 5269 on the external interface
        let external = if edge == "edge-dns-nat" { 17 } else { 16 };
        assert_eq!(count(edge, "external-interface"), external, "{edge}");
        assert_eq!(count(edge, "internal-interface"), 11, "{edge}");
        assert_eq!(count(edge, "federation"), 1, "{edge}");
        assert_eq!(count(edge, "public-im"), 6, "{edge}");
        assert_eq!(count(edge, "xmpp"), 3, "{edge}");
    }
    assert_eq!(count("director-single", "director"), 9);
    assert_eq!(count("autodiscover", "external-interface"), 2);
    assert_eq!(count("autodiscover", "internal-interface"), 2);
    assert_eq!(count("public-im", "public-im"), 6);
    // 52 page rows, two of them TCP/UDP (one catalog row per transport)
    assert_eq!(count("internal-servers", "server-ports"), 54);
    assert_eq!(count("internal-servers", "hlb-only"), 20);
    // 7 page rows, one of them empty
    assert_eq!(count("internal-servers", "dns-lb"), 6);
    // 12 page rows, two TCP/UDP
    assert_eq!(count("internal-servers", "clients"), 14);
}

#[test]
fn catalog_matches_the_seed_fixture_row_by_row() {
    assert_catalog_matches(&fixture(), "seed");
}

#[test]
fn catalog_matches_the_page_fixture_row_by_row() {
    assert_catalog_matches(&page_fixture(), "page");
}

/// Every table of every document in `fixture` equals the catalog's rows of that scenario and table.
fn assert_catalog_matches(fixture: &[FixtureRow], kind: &str) {
    let labels = labels();
    let mut docs: Vec<&str> = fixture.iter().map(|r| r.seed.as_str()).collect();
    docs.dedup();
    for doc in docs {
        let rows: Vec<&FixtureRow> = fixture.iter().filter(|r| r.seed == doc).collect();
        let mut tables: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (r.scenario.as_str(), r.table.as_str()))
            .collect();
        tables.dedup();
        for (scenario, table) in tables {
            let want: Vec<&&FixtureRow> = rows
                .iter()
                .filter(|r| r.scenario == scenario && r.table == table)
                .collect();
            let have = rows_of(scenario, table);
            assert_eq!(
                want.len(),
                have.len(),
                "{kind} {doc} {scenario}/{table}: row count"
            );
            for (i, (w, h)) in want.iter().zip(have.iter()).enumerate() {
                let at = format!("{kind} {doc} {scenario}/{table} row {}", i + 1);
                let (transport, ports) = parse_port_cell(&w.port_cell);
                assert_eq!(h.transport, transport, "{at}: transport");
                assert_eq!(h.ports, ports, "{at}: ports");
                let (src, src_narrow) = label(&labels, scenario, &w.source, &at);
                let (dst, dst_narrow) = label(&labels, scenario, &w.destination, &at);
                assert_eq!(h.source, *src, "{at}: source");
                assert_eq!(&h.narrow_source, src_narrow, "{at}: narrowed source");
                assert_eq!(h.destination, *dst, "{at}: destination");
                assert_eq!(
                    &h.narrow_destination, dst_narrow,
                    "{at}: narrowed destination"
                );
            }
        }
    }
}

#[test]
fn conditions_follow_the_seed_notes() {
    use portplan::catalog::Feature::*;
    let catalog = Catalog::builtin();
    let seed_scenarios = [
        "director-pool-hlb",
        "director-dns-hlb",
        "edge-consolidated-hlb",
        "reverse-proxy",
    ];
    let with = |f| {
        catalog
            .rows
            .iter()
            .filter(|r| seed_scenarios.contains(&r.scenario.as_str()) && r.condition == Some(f))
            .count()
    };
    // 3 CLS ports on each Director table and on the Edge internal interface
    assert_eq!(with(CentralizedLogging), 9);
    // RTP in/out UDP and inbound TCP
    assert_eq!(with(Ocs2007Federation), 3);
    // 5269 in/out on the Access VIP, 23456 on the internal interface
    assert_eq!(with(Xmpp), 3);
    // RP 80 external + 8080 on both Director tables and the RP internal table
    assert_eq!(with(MobilityAutodiscoverHttp), 4);
    assert_eq!(with(OfficeWebApps), 1);
    // outbound RTP/TCP, 5061 in and out on the Access VIP
    assert_eq!(with(Federation), 3);
}

// ---- the fixture against the seed documents themselves ----

fn seeds_dir() -> Option<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/seeds");
    dir.is_dir().then_some(dir)
}

/// Text of a table cell: the English `sxs-lookup` spans where present, else the cell's own text.
fn cell_text(cell: &str) -> String {
    const MARK: &str = "<span class=\"sxs-lookup\">";
    let mut english = Vec::new();
    let mut rest = cell;
    while let Some(at) = rest.find(MARK) {
        let after = &rest[at + MARK.len()..];
        let inner_start = after.find('>').map(|i| i + 1).unwrap_or(0);
        let inner = &after[inner_start..];
        let end = inner.find("</span>").unwrap_or(inner.len());
        english.push(&inner[..end]);
        rest = &inner[end..];
    }
    let raw = if english.is_empty() {
        cell.to_string()
    } else {
        english.join(" ")
    };
    let mut text = String::new();
    let mut in_tag = false;
    for ch in raw.chars() {
        match ch {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(a) = rest.find(open) {
        let after = &rest[a + open.len()..];
        let Some(b) = after.find(close) else { break };
        out.push(&after[..b]);
        rest = &after[b + close.len()..];
    }
    out
}

#[test]
fn seed_fixture_matches_the_seed_documents() {
    let Some(dir) = seeds_dir() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run this test: ../shared/seeds is missing"
        );
        eprintln!("skipped: ../shared/seeds is not beside this clone");
        return;
    };
    let fixture = fixture();
    let mut seeds: Vec<&str> = fixture.iter().map(|r| r.seed.as_str()).collect();
    seeds.dedup();
    for seed in seeds {
        let file = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .find(|e| e.file_name().to_string_lossy().starts_with(seed))
            .unwrap_or_else(|| panic!("seed {seed} not found"));
        let html = std::fs::read_to_string(file.path()).unwrap();
        let mut extracted = Vec::new();
        for table in between(&html, "<table>", "</table>") {
            for row in between(table, "<tr", "</tr>").into_iter().skip(1) {
                let cells: Vec<String> = between(row, "<td", "</td>")
                    .into_iter()
                    .map(|c| cell_text(&c[c.find('>').map(|i| i + 1).unwrap_or(0)..]))
                    .collect();
                extracted.push(cells[..3].to_vec());
            }
        }
        let want: Vec<Vec<String>> = fixture
            .iter()
            .filter(|r| r.seed == seed)
            .map(|r| vec![r.port_cell.clone(), r.source.clone(), r.destination.clone()])
            .collect();
        assert_eq!(extracted, want, "seed {seed}");
    }
}

// ---- the internal servers page: listening ports per role, load balancers, clients ----

struct InternalRow {
    table: String,
    role: String,
    port_cell: String,
    protocol: String,
}

fn internal_fixture() -> Vec<InternalRow> {
    include_str!("fixtures/page_internal_servers.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            assert_eq!(c.len(), 7, "fixture line has 7 columns: {l}");
            InternalRow {
                table: c[2].into(),
                role: c[3].into(),
                port_cell: c[5].into(),
                protocol: c[6].into(),
            }
        })
        .collect()
}

/// The role a row of the internal servers page is about (the end that is not "everything inside").
fn internal_role(cell: &str) -> Role {
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
        // "Clients" and the list of Lync Phone Edition devices
        _ => "internal-clients",
    };
    role.parse().unwrap()
}

fn internal_transports(protocol: &str) -> Vec<Transport> {
    if protocol.starts_with("TCP/UDP") {
        vec![Transport::Tcp, Transport::Udp]
    } else if protocol.starts_with("UDP") || protocol == "DHCP" {
        vec![Transport::Udp]
    } else {
        // TCP, TLS, MTLS, HTTP(S), DCOM/RPC, and the Office Web Apps row that leaves it empty
        vec![Transport::Tcp]
    }
}

#[test]
fn catalog_matches_the_internal_servers_fixture_row_by_row() {
    let fixture = internal_fixture();
    let mut tables: Vec<&str> = fixture.iter().map(|r| r.table.as_str()).collect();
    tables.dedup();
    for table in tables {
        let have = rows_of("internal-servers", table);
        let mut want = Vec::new();
        for (i, row) in fixture.iter().filter(|r| r.table == table).enumerate() {
            if row.role.is_empty() && row.port_cell.is_empty() {
                continue; // the page's empty row
            }
            let ports: PortRange = row
                .port_cell
                .trim_end_matches(" *")
                .replace('/', "-")
                .parse()
                .unwrap_or_else(|e| panic!("{table} row {}: {e}", i + 1));
            for t in internal_transports(&row.protocol) {
                want.push((i + 1, internal_role(&row.role), t, ports));
            }
        }
        assert_eq!(
            want.len(),
            have.len(),
            "internal-servers/{table}: row count"
        );
        for ((line, role, transport, ports), h) in want.into_iter().zip(have) {
            let at = format!("internal-servers/{table} page row {line}");
            assert_eq!(h.transport, transport, "{at}: transport");
            assert_eq!(h.ports, ports, "{at}: ports");
            let subject = match h.direction {
                portplan::catalog::Direction::Inbound => h.destination,
                portplan::catalog::Direction::Outbound => h.source,
            };
            assert_eq!(subject, role, "{at}: the row's role");
        }
    }
}

// ---- where the documents disagree ----

/// The facts of one table as (transport, ports, source, destination).
fn facts(scenario: &str, table: &str) -> Vec<(Transport, PortRange, Role, Role)> {
    rows_of(scenario, table)
        .into_iter()
        .map(|r| (r.transport, r.ports, r.source, r.destination))
        .collect()
}

#[test]
fn pages_that_are_seed_originals_agree_with_the_seeds() {
    // Both fixtures are checked against the same catalog rows above; here the two fixtures are
    // compared with each other on their fact columns, so a drift in either shows as a disagreement.
    let labels = labels();
    let seeds = fixture();
    let pages = page_fixture();
    for (page, seed) in [
        ("Gg398739", "001"),
        ("JJ204983", "000"),
        ("JJ205179", "003"),
        ("JJ204932", "002"),
    ] {
        let mapped = |rows: &[FixtureRow], doc: &str| -> Vec<(String, Role, Role)> {
            rows.iter()
                .filter(|r| r.seed == doc)
                .map(|r| {
                    let (t, p) = parse_port_cell(&r.port_cell);
                    (
                        format!("{}/{} {t} {p}", r.scenario, r.table),
                        label(&labels, &r.scenario, &r.source, doc).0,
                        label(&labels, &r.scenario, &r.destination, doc).0,
                    )
                })
                .collect()
        };
        assert_eq!(
            mapped(&pages, page),
            mapped(&seeds, seed),
            "page {page} vs seed {seed}"
        );
    }
}

#[test]
fn known_disagreements_between_pages_are_kept_and_flagged() {
    let catalog = Catalog::builtin();
    let doubts: Vec<String> = lync_rows(catalog)
        .filter(|(_, r)| r.doubt.is_some())
        .map(|(id, _)| id.to_string())
        .collect();
    assert_eq!(
        doubts,
        [
            "edge-single-public/external-interface#9",
            "director-single/director#7",
            "director-single/director#8",
            "director-single/director#9",
            "autodiscover/internal-interface#1",
            "autodiscover/internal-interface#2",
            "public-im/public-im#4",
            "public-im/public-im#5",
            "public-im/public-im#6",
            "internal-servers/server-ports#39",
            "internal-servers/server-ports#51",
        ]
    );
    // The single Edge page with public addresses sends outbound RTP/TCP from the Access Edge address;
    // its NAT sister page (and every other Edge page) from the A/V Edge address.
    let public = facts("edge-single-public", "external-interface");
    let nat = facts("edge-single-nat", "external-interface");
    let differing: Vec<usize> = (0..public.len()).filter(|&i| public[i] != nat[i]).collect();
    assert_eq!(differing, [8]);
    assert_eq!(public[8].2, Role::EdgeAccessPublic);
    assert_eq!(nat[8].2, Role::EdgeAvPublic);
    // The DNS/NAT page is the only Edge page with outbound XMPP on the external interface.
    let dns_nat = facts("edge-dns-nat", "external-interface");
    assert_eq!(dns_nat.len(), public.len() + 1);
    assert_eq!(dns_nat[1].2, Role::EdgeAccessPublic);
    // Autodiscover vs reverse proxy: the same two external rows, different internal destinations.
    assert_eq!(
        facts("autodiscover", "external-interface"),
        facts("reverse-proxy", "external-interface")
    );
    assert_ne!(
        facts("autodiscover", "internal-interface"),
        facts("reverse-proxy", "internal-interface")[..2]
    );
    // The public IM page puts Messenger media on the Access Edge; the Edge pages on the A/V Edge.
    let page = facts("public-im", "public-im");
    let edge = facts("edge-single-nat", "public-im");
    assert_eq!(page[..3], edge[..3]);
    assert_eq!(page[3].2, Role::EdgeAccessPublic);
    assert_eq!(edge[3].2, Role::EdgeAvPublic);
}
