//! The catalog against the seed documents, row by row.
//!
//! `tests/fixtures/seed_tables.tsv` holds the fact columns of every seed table as the seeds write
//! them; `seed_labels.tsv` maps the seeds' names for each end to role ids. The first test proves the
//! fixture equals the seeds (when `../shared/seeds` is present: always in CI); the second proves the
//! catalog equals the fixture.

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
    include_str!("fixtures/seed_tables.tsv")
        .lines()
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

fn labels() -> HashMap<String, (Role, Vec<Role>)> {
    include_str!("fixtures/seed_labels.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (label, role) = l.split_once('\t').expect("label<TAB>role");
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
            (label.to_string(), parsed)
        })
        .collect()
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

#[test]
fn catalog_has_the_table_row_counts_of_the_seeds() {
    let catalog = Catalog::builtin();
    let count = |s: &str, t: &str| {
        catalog
            .rows
            .iter()
            .filter(|r| r.scenario == s && r.table == t)
            .count()
    };
    assert_eq!(count("director-pool-hlb", "director"), 9);
    assert_eq!(count("director-dns-hlb", "director"), 9);
    assert_eq!(count("edge-consolidated-hlb", "external-interface"), 11);
    assert_eq!(count("edge-consolidated-hlb", "internal-interface"), 8);
    assert_eq!(count("edge-consolidated-hlb", "external-vip"), 8);
    assert_eq!(count("edge-consolidated-hlb", "internal-vip"), 6);
    assert_eq!(count("reverse-proxy", "external-interface"), 2);
    assert_eq!(count("reverse-proxy", "internal-interface"), 3);
    assert_eq!(catalog.rows.len(), 56);
}

#[test]
fn catalog_matches_the_seed_fixture_row_by_row() {
    let catalog = Catalog::builtin();
    let labels = labels();
    let fixture = fixture();
    let mut seeds: Vec<&str> = fixture.iter().map(|r| r.seed.as_str()).collect();
    seeds.dedup();
    for seed in seeds {
        let rows: Vec<&FixtureRow> = fixture.iter().filter(|r| r.seed == seed).collect();
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
            let have: Vec<_> = catalog
                .rows
                .iter()
                .filter(|r| r.scenario == scenario && r.table == table)
                .collect();
            assert_eq!(
                want.len(),
                have.len(),
                "seed {seed} {scenario}/{table}: row count"
            );
            for (i, (w, h)) in want.iter().zip(have.iter()).enumerate() {
                let at = format!("seed {seed} {scenario}/{table} row {}", i + 1);
                let (transport, ports) = parse_port_cell(&w.port_cell);
                assert_eq!(h.transport, transport, "{at}: transport");
                assert_eq!(h.ports, ports, "{at}: ports");
                let (src, src_narrow) = labels
                    .get(&w.source)
                    .unwrap_or_else(|| panic!("{at}: no label for `{}`", w.source));
                let (dst, dst_narrow) = labels
                    .get(&w.destination)
                    .unwrap_or_else(|| panic!("{at}: no label for `{}`", w.destination));
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
    let with = |f| {
        catalog
            .rows
            .iter()
            .filter(|r| r.condition == Some(f))
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
