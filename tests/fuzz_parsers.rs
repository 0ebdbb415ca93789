//! Structure-aware fuzzing of the five configuration readers and the audit behind them: the
//! fixtures under `tests/fixtures/audit/` are mutated (lines dropped, duplicated, swapped, cut,
//! tokens exchanged between lines, bytes flipped) and every result is parsed and audited against
//! the reference plan. Nothing may panic, and no single input may take longer than 2 s.
//!
//! CI runs a short deterministic pass; `PORTPLAN_FUZZ_CASES=100000 cargo test --release --test
//! fuzz_parsers -- --nocapture` (or `bench/fuzz-audit.sh`) is the long mode, which also reports
//! the slowest input and the peak memory.

mod common;

use portplan::audit::{self, Format, judge};
use std::time::{Duration, Instant};

use common::Rng;

fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for _ in 0..=rng.below(4) {
        if lines.is_empty() {
            break;
        }
        let i = rng.below(lines.len());
        match rng.below(8) {
            0 => {
                lines.remove(i);
            }
            1 => {
                let copy = lines[i].clone();
                let times = 1 + rng.below(3);
                for _ in 0..times {
                    lines.insert(i, copy.clone());
                }
            }
            2 => {
                let j = rng.below(lines.len());
                lines.swap(i, j);
            }
            3 => {
                let cut = rng.below(lines[i].len() + 1);
                let cut = (0..=cut)
                    .rev()
                    .find(|c| lines[i].is_char_boundary(*c))
                    .unwrap_or(0);
                lines[i].truncate(cut);
            }
            4 => {
                // a word from another line takes the place of one of this line's
                let j = rng.below(lines.len());
                let donor: Vec<String> = lines[j].split_whitespace().map(str::to_string).collect();
                let mut words: Vec<String> =
                    lines[i].split_whitespace().map(str::to_string).collect();
                if !donor.is_empty() && !words.is_empty() {
                    let w = rng.below(words.len());
                    words[w] = donor[rng.below(donor.len())].clone();
                    lines[i] = words.join(" ");
                }
            }
            5 => {
                let mut bytes = lines[i].clone().into_bytes();
                if !bytes.is_empty() {
                    let b = rng.below(bytes.len());
                    bytes[b] = b"{};\"$@.-!:/[]0123456789"[rng.below(23)];
                }
                lines[i] = String::from_utf8_lossy(&bytes).into_owned();
            }
            6 => lines.insert(i, "}".into()),
            _ => lines.truncate(i),
        }
    }
    lines.join("\n") + "\n"
}

#[test]
fn mutated_configurations_never_panic_or_hang() {
    let long: Option<usize> = std::env::var("PORTPLAN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok());
    let cases = long.unwrap_or(300);
    let t = portplan::topology::Topology::reference();
    let p = portplan::plan::compile(&t);
    let dir = common::repo().join("tests/fixtures/audit");
    let mut seeds: Vec<(Format, String)> = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let format = if name.ends_with(".nft.json") {
            Format::NftablesJson
        } else if name.ends_with(".nft") {
            Format::Nftables
        } else if name.ends_with(".iptables") {
            Format::Iptables
        } else if name.ends_with(".asa") {
            Format::Asa
        } else {
            continue;
        };
        let text = std::fs::read_to_string(&path).unwrap();
        if format == Format::Iptables {
            seeds.push((Format::Ip6tables, text.clone()));
        }
        seeds.push((format, text));
    }
    assert!(seeds.len() >= 5, "fixtures: {}", seeds.len());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut slowest = (Duration::ZERO, String::new());
    let (mut read, mut refused) = (0usize, 0usize);
    for case in 0..cases {
        let (format, seed) = &seeds[case % seeds.len()];
        let text = mutate(seed, &mut rng);
        let start = Instant::now();
        match audit::parse(*format, &text) {
            Ok(config) => {
                read += 1;
                let _ = judge::audit(&p, &t, "fw-external", &config);
            }
            Err(_) => refused += 1,
        }
        let took = start.elapsed();
        if took > slowest.0 {
            slowest = (took, text);
        }
    }
    let peak = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_default();
    eprintln!(
        "fuzz: {cases} inputs ({read} read, {refused} refused), no panic; slowest {:?}; peak memory {peak}",
        slowest.0
    );
    // time is judged in the long (benchmark) mode only; CI checks for panics
    if long.is_some() {
        assert!(
            slowest.0 < Duration::from_secs(2),
            "an input took {:?}:\n{}",
            slowest.0,
            slowest.1
        );
    }
    assert!(read > cases / 4, "mutations should mostly stay readable");
}
