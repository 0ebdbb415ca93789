//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod topogen;

use std::path::{Path, PathBuf};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every example topology shipped in `examples/`: one per Edge variant, plus the dual-stack one.
pub const EXAMPLES: [&str; 6] = [
    "reference.toml",
    "dns-director-3edge.toml",
    "edge-single-public.toml",
    "edge-single-nat.toml",
    "edge-dns-public.toml",
    "edge-dns-nat.toml",
];

/// The Skype for Business Server examples (`version` set): planned from the Skype for Business
/// tables, rendered and checked in the real tools like [`EXAMPLES`].
pub const SFB_EXAMPLES: [&str; 3] = [
    "sfb2019-hlb.toml",
    "sfb2019-hybrid.toml",
    "sfbse-edge-nat.toml",
];

/// [`EXAMPLES`] followed by [`SFB_EXAMPLES`].
pub fn all_examples() -> impl Iterator<Item = &'static str> {
    EXAMPLES.into_iter().chain(SFB_EXAMPLES)
}

pub fn example(name: &str) -> PathBuf {
    repo().join("examples").join(name)
}

/// Compares `actual` with the golden file `tests/golden/<name>`. With `PORTPLAN_BLESS=1` the file is
/// (re)written instead, so an intended change is one command and a reviewed diff.
pub fn golden(name: &str, actual: &str) {
    let path = repo().join("tests/golden").join(name);
    if std::env::var_os("PORTPLAN_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "golden file {} is missing; run with PORTPLAN_BLESS=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let diff = first_difference(&expected, actual);
        panic!(
            "output differs from {} ({diff}); if the change is intended, rerun with PORTPLAN_BLESS=1 and review the diff",
            path.display()
        );
    }
}

fn first_difference(expected: &str, actual: &str) -> String {
    for (i, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
        if e != a {
            return format!("line {}: expected `{e}`, got `{a}`", i + 1);
        }
    }
    format!(
        "expected {} lines, got {}",
        expected.lines().count(),
        actual.lines().count()
    )
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// Asserts a command succeeded; otherwise fails with `what` and the command's standard error.
pub fn assert_ok(out: &std::process::Output, what: impl std::fmt::Display) {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A tiny deterministic generator (xorshift), so random inputs are reproducible by seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The audit corpus (`tests/fixtures/audit/corpus/`): (path, firewall, format), the firewall and
/// format read from the file name. The kernel test records what the kernel did with each file;
/// the plain test compares portplan's verdicts with those records.
pub fn audit_corpus() -> Vec<(std::path::PathBuf, String, portplan::audit::Format)> {
    use portplan::audit::Format;
    let dir = repo().join("tests/fixtures/audit/corpus");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let format = if name.ends_with(".nft.json") {
            Format::NftablesJson
        } else if name.ends_with(".nft") {
            Format::Nftables
        } else if name.ends_with(".iptables") {
            Format::Iptables
        } else {
            continue;
        };
        let firewall = name.split('-').take(2).collect::<Vec<_>>().join("-");
        out.push((path, firewall, format));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
