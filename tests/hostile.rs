//! Topologies that would break or silently thin the generated files: hostile names are refused at
//! their span by `check` (and so by every command), `-o` stays inside its directory, rows no
//! firewall can carry are errors, and targets say why they wrote nothing instead of exiting 0.
//! A hostile but valid topology (`tests/fixtures/hostile.toml`, every name at its limit) renders
//! inertly in every target and passes haproxy and aclgen (the root-only tools: tests/netns/hostile.rs),
//! and every target honours, refuses or explains every `--firewall`/`--host` scope.

mod common;

use assert_cmd::Command;

fn portplan() -> Command {
    let mut c = Command::cargo_bin("portplan").unwrap();
    c.env("NO_COLOR", "1");
    c
}

fn reference() -> String {
    common::read(&common::example("reference.toml"))
}

/// Writes `text` as a topology file in a fresh directory.
fn topology(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// Runs `args`, expecting exit 2, and returns what it said on standard error.
fn refused(args: &[&str]) -> String {
    let out = portplan().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    err
}

#[test]
fn server_name_with_powershell_subexpression_is_refused_at_its_span() {
    let text = reference().replace("name = \"edge01\"", "name = 'edge01$(Stop-Computer)\" x'");
    let (_d, path) = topology(&text);
    let p = path.to_str().unwrap();
    let err = refused(&["check", p]);
    assert!(err.contains("bad-name"), "{err}");
    assert!(
        err.contains("t.toml:90"),
        "the error points at the name: {err}"
    );
    // every command that reads the topology refuses it, so no script is ever written
    let err = refused(&["render", p, "--target", "windows"]);
    assert!(err.contains("Stop-Computer"), "{err}");
}

#[test]
fn render_o_never_writes_outside_its_directory() {
    let base = tempfile::tempdir().unwrap();
    let out_dir = base.path().join("out");
    for (from, to) in [
        ("name = \"owa01\"", "name = \"../../escaped-owa\""),
        ("name = \"fw-external\"", "name = \"../fw-escaped\""),
        ("name = \"fw-external\"", "name = \"/tmp/fw-abs\""),
        ("name = \"owa01\"", "name = \".hidden\""),
    ] {
        let text = reference().replace(from, to);
        let (_d, path) = topology(&text);
        for target in ["windows", "nftables", "iptables", "asa", "aerleon"] {
            let out = portplan()
                .args(["render", path.to_str().unwrap(), "--target", target, "-o"])
                .arg(&out_dir)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(2), "{to} {target}");
        }
    }
    // nothing was written anywhere under the base directory, inside `out` or beside it
    let written: Vec<_> = walk(base.path());
    assert!(written.is_empty(), "files written: {written:?}");
    assert!(!std::path::Path::new("/tmp/fw-abs.nft").exists());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn unsafe_artifact_paths_are_recognised() {
    use portplan::render::is_plain_relative;
    for ok in ["fw.nft", "def/networks.yaml", "policies/fw-a.yaml"] {
        assert!(is_plain_relative(ok), "{ok}");
    }
    for bad in [
        "",
        "../x",
        "a/../b",
        "/etc/passwd",
        ".x",
        "a//b",
        "a\\b",
        "c:x",
        "a/",
        "x\ny",
    ] {
        assert!(!is_plain_relative(bad), "{bad:?}");
    }
}

#[test]
fn interface_name_with_spaces_is_refused_at_its_span() {
    let text = reference().replace("name = \"outside\"", "name = \"outside interface to ISP\"");
    let (_d, path) = topology(&text);
    let err = refused(&["check", path.to_str().unwrap()]);
    assert!(err.contains("bad-interface-name"), "{err}");
    assert!(err.contains("white") && err.contains("space"), "{err}");
    assert!(err.contains("t.toml:46"), "{err}");
}

#[test]
fn interface_name_longer_than_linux_allows_is_refused() {
    let text = reference().replace("name = \"outside\"", "name = \"outside-to-the-isp\"");
    let (_d, path) = topology(&text);
    let err = refused(&["check", path.to_str().unwrap()]);
    assert!(err.contains("at most 15"), "{err}");
}

#[test]
fn published_name_that_is_not_a_dns_name_is_refused() {
    let text = reference().replace(
        "published = [\"owa.contoso.example\"]",
        "published = [\"owa.contoso.example; return 200 x\"]",
    );
    let (_d, path) = topology(&text);
    let err = refused(&["check", path.to_str().unwrap()]);
    assert!(err.contains("bad-published-name"), "{err}");
}

#[test]
fn windows_scripts_expand_nothing_from_the_topology() {
    // a valid name with every character the name rules allow
    let text = reference().replace("name = \"edge01\"", "name = \"Edge_01.x-y\"");
    let (_d, path) = topology(&text);
    let out = portplan()
        .args(["render", path.to_str().unwrap(), "--target", "windows"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let script = String::from_utf8(out.stdout).unwrap();
    assert!(script.contains("Edge_01.x-y"));
    // no double-quoted (expandable) string at all, so nothing can be expanded
    assert!(!script.contains('"'), "an expandable string in:\n{script}");
}

#[test]
fn multi_file_targets_always_write_a_directory() {
    let base = tempfile::tempdir().unwrap();
    let out_dir = base.path().join("fw");
    let out = portplan()
        .args([
            "render",
            "--target",
            "nftables",
            "--firewall",
            "fw-external",
            "-o",
        ])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(out_dir.join("fw-external.nft").is_file());
    // an existing file is not silently overwritten by a directory's worth of files
    let file = base.path().join("plain.txt");
    std::fs::write(&file, "keep").unwrap();
    let out = portplan()
        .args(["render", "--target", "nftables", "-o"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep");
}

#[test]
fn load_balancer_targets_refuse_a_scope_they_cannot_honour() {
    for target in ["keepalived", "nftables-lb", "nginx", "haproxy"] {
        let err = refused(&["render", "--target", target, "--firewall", "fw-external"]);
        assert!(err.contains("needs"), "{target}: {err}");
    }
}

#[test]
fn a_target_with_nothing_to_write_says_why() {
    let text = common::read(&common::example("edge-single-public.toml"));
    let (_d, path) = topology(&text);
    let err = refused(&["render", path.to_str().unwrap(), "--target", "keepalived"]);
    assert!(err.contains("wrote nothing"), "{err}");
    assert!(err.contains("hardware-balanced"), "{err}");
}

#[test]
fn missing_internal_firewall_is_an_error_naming_the_rows() {
    let text = reference();
    let start = text.find("[[firewall]]\nname = \"fw-internal\"").unwrap();
    let end = start + text[start..].find("[[pool]]").unwrap();
    let text = format!("{}{}", &text[..start], &text[end..]);
    let (_d, path) = topology(&text);
    let p = path.to_str().unwrap();
    let out = portplan().args(["check", p]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no-firewall-path"), "{err}");
    // the Edge internal-interface table is named, not silently dropped
    for row in ["internal-interface#3", "8057", "5062"] {
        assert!(err.contains(row), "{row} missing from: {err}");
    }
    // plan prints what it has but fails; firewall targets refuse to write a thinned ruleset
    let out = portplan().args(["plan", p]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = refused(&["render", p, "--target", "nftables"]);
    assert!(err.contains("no-firewall-path"), "{err}");
}

#[test]
fn error_past_column_65536_is_reported_not_a_panic() {
    let text = reference().replace(
        "name = \"reference\"",
        &format!(
            "name = \"reference\"\ndescription = \"{}\" ; bogus = 1",
            "x".repeat(70_000)
        ),
    );
    let (_d, path) = topology(&text);
    let err = refused(&["check", path.to_str().unwrap()]);
    assert!(
        err.contains("t.toml:9:70018"),
        "{}",
        &err[..err.len().min(2000)]
    );
    assert!(err.contains("too long to show"));
    // a hostile name far to the right is refused the same way
    let text = reference().replace(
        "name = \"edge01\"",
        &format!("name = \"edge01{}\"", "$".repeat(70_000)),
    );
    let (_d, path) = topology(&text);
    refused(&["check", path.to_str().unwrap()]);
}

#[test]
fn endless_topology_is_refused_not_read_until_memory_runs_out() {
    let err = refused(&["check", "/dev/zero"]);
    assert!(err.contains("larger than"), "{err}");
}

// ---- a hostile but valid topology through every target ----

use portplan::plan;
use portplan::render::{self, Scope, Target};
use portplan::topology::{Topology, lint};

const HOSTILE: &str = "tests/fixtures/hostile.toml";

fn hostile() -> (Topology, plan::Plan) {
    let text = common::read(&common::repo().join(HOSTILE));
    let t = Topology::parse(HOSTILE, &text).unwrap_or_else(|e| panic!("{:#?}", e.problems));
    let p = plan::compile(&t);
    (t, p)
}

/// Every name of the topology (objects and interfaces), longest first.
fn names(t: &Topology) -> Vec<String> {
    let mut out = vec![t.name.clone()];
    out.extend(t.zones.iter().map(|z| z.name.clone()));
    for f in &t.firewalls {
        out.push(f.name.clone());
        out.extend(f.interfaces.iter().map(|i| i.name.clone()));
    }
    for p in &t.pools {
        out.push(p.name.clone());
        for s in &p.servers {
            out.push(s.name.clone());
            out.extend(s.interfaces.iter().map(|i| i.name.clone()));
        }
    }
    out.extend(t.clients.iter().map(|c| c.name.clone()));
    out.extend(t.partners.iter().map(|p| p.name.clone()));
    out.sort_by_key(|n| std::cmp::Reverse(n.len()));
    out.dedup();
    out
}

#[test]
fn hostile_topology_is_valid_and_at_every_limit() {
    let (t, p) = hostile();
    let out = portplan().args(["check", HOSTILE]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!lint::lint(&t).has_errors());
    assert!(p.path_findings().is_empty());
    // object names at 63 bytes, interface names at 15, with every allowed punctuation character
    let objects = [t.name.as_str()]
        .into_iter()
        .chain(t.zones.iter().map(|z| z.name.as_str()))
        .chain(t.firewalls.iter().map(|f| f.name.as_str()))
        .chain(t.pools.iter().map(|p| p.name.as_str()))
        .chain(t.servers().map(|(_, s)| s.name.as_str()))
        .chain(t.clients.iter().map(|c| c.name.as_str()))
        .chain(t.partners.iter().map(|p| p.name.as_str()));
    for n in objects {
        assert_eq!(n.len(), portplan::topology::names::MAX_NAME, "{n}");
        assert!(n.contains('-') && n.contains('_') && n.contains('.'), "{n}");
    }
    for i in t.firewalls.iter().flat_map(|f| f.interfaces.iter()) {
        assert_eq!(i.name.len(), portplan::topology::names::MAX_INTERFACE);
    }
    let published: Vec<&String> = t.pools.iter().flat_map(|p| p.published.iter()).collect();
    assert!(published.len() >= 4);
    assert!(published.iter().all(|n| n.len() == 253), "{published:?}");
    // the description holds what breaks shells, PowerShell, TOML, nft, HTML: and a second line
    let d = t.description.as_deref().unwrap();
    for special in [
        "\"", "'", "$(", "${", "`", ";", "{", "}", "#", "\\", "<script>", "&", "\n", "\t", "東京",
        "🚀", "\u{202e}",
    ] {
        assert!(
            d.contains(special),
            "{special:?} missing from the description"
        );
    }
}

/// Drops single-quoted PowerShell strings ('' inside one is a quote), keeping the rest of a line.
fn outside_single_quotes(line: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, '\'') => quoted = true,
            (true, '\'') if chars.peek() == Some(&'\'') => {
                chars.next();
            }
            (true, '\'') => quoted = false,
            (false, c) => out.push(c),
            (true, _) => {}
        }
    }
    assert!(!quoted, "unterminated string in: {line}");
    out
}

fn csv_fields(line: &str) -> usize {
    let (mut n, mut quoted) = (1, false);
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => n += 1,
            _ => {}
        }
    }
    n
}

#[test]
fn hostile_topology_renders_every_target_inertly() {
    let (t, p) = hostile();
    let names = names(&t);
    let description = t.description.clone().unwrap();
    for target in Target::ALL {
        let files = render::render_files(&p, &t, *target, &Scope::All)
            .unwrap_or_else(|e| panic!("{target}: {e}"));
        assert!(!files.is_empty(), "{target}");
        for f in &files {
            assert!(render::is_plain_relative(&f.file), "{target}: {}", f.file);
            // the free text is written into no configuration
            for line in description.lines() {
                assert!(
                    !f.text.contains(line),
                    "{target} {}: holds the description",
                    f.file
                );
            }
            match target {
                Target::Windows => {
                    assert!(!f.text.contains('"'), "{}: a double-quoted string", f.file);
                    for line in f.text.lines().filter(|l| !l.starts_with('#')) {
                        let bare = outside_single_quotes(line);
                        assert!(!bare.contains('`'), "{}: {line}", f.file);
                        for n in &names {
                            assert!(
                                !bare.contains(n.as_str()),
                                "{}: `{n}` unquoted in {line}",
                                f.file
                            );
                        }
                    }
                }
                Target::Asa => {
                    // no ASA here to load it: its documented limits, checked by hand
                    for line in f.text.lines() {
                        let words: Vec<&str> = line.split_whitespace().collect();
                        if let Some(at) = words.iter().position(|w| *w == "remark") {
                            let text = words[at + 1..].join(" ");
                            assert!(text.len() <= 100, "{}: remark over 100: {line}", f.file);
                        }
                        if words.first() == Some(&"description") {
                            assert!(line.trim().len() - 12 <= 200, "{}: {line}", f.file);
                        }
                        if matches!(words.first(), Some(&"object" | &"object-group")) {
                            assert!(words[2].len() <= 64, "{}: {line}", f.file);
                        }
                        if let Some(at) = words.iter().position(|w| *w == "interface") {
                            if let Some(nameif) = words.get(at + 1) {
                                assert!(nameif.len() <= 48, "{}: {line}", f.file);
                            }
                        }
                    }
                }
                Target::Json => {
                    let v: serde_json::Value = serde_json::from_str(&f.text).unwrap();
                    assert_eq!(v["topology"], t.name);
                }
                Target::Csv => {
                    let mut lines = f.text.lines();
                    let width = csv_fields(lines.next().unwrap());
                    for l in lines {
                        assert_eq!(csv_fields(l), width, "{l}");
                    }
                }
                Target::Markdown => {
                    let rows: Vec<&str> = f.text.lines().filter(|l| l.starts_with('|')).collect();
                    let width = rows[0].matches('|').count();
                    assert!(rows.iter().all(|r| r.matches('|').count() == width));
                }
                _ => {}
            }
        }
    }
    // the description's one place is the HTML report, escaped there
    let html = portplan::report::html::report(
        &t,
        &p,
        &lint::lint(&t),
        &portplan::report::html::Extras::default(),
    );
    assert!(
        !html.contains("<script>alert"),
        "the description is not escaped"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("東京 – 🚀"));
}

/// Whether a tool is installed; in CI a missing one fails the test instead of skipping it.
fn tool(name: &str) -> bool {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install {name} for this test"
        );
        eprintln!("skipped: {name} is not installed");
    }
    found
}

fn write_all(files: &[render::Artifact]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in files {
        let path = dir.path().join(&f.file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &f.text).unwrap();
    }
    dir
}

#[test]
fn haproxy_accepts_the_hostile_topology() {
    if !tool("haproxy") {
        return;
    }
    let (t, p) = hostile();
    let files = render::render_files(&p, &t, Target::Haproxy, &Scope::All).unwrap();
    let dir = write_all(&files);
    // the proxy's own config and one per hardware-balanced Director / Front End pool
    assert_eq!(
        files.len(),
        3,
        "{:?}",
        files.iter().map(|f| &f.file).collect::<Vec<_>>()
    );
    for f in &files {
        let out = std::process::Command::new("haproxy")
            .arg("-c")
            .arg("-f")
            .arg(dir.path().join(&f.file))
            .output()
            .unwrap();
        common::assert_ok(&out, &f.file);
    }
}

#[test]
fn aclgen_compiles_the_hostile_topology() {
    if !tool("aclgen") {
        return;
    }
    let (t, p) = hostile();
    let dir = write_all(&render::render_files(&p, &t, Target::Aerleon, &Scope::All).unwrap());
    for fw in &t.firewalls {
        let out = std::process::Command::new("aclgen")
            .current_dir(dir.path())
            .args([
                "--policy_file",
                &format!("policies/{}.yaml", fw.name),
                "--definitions_directory",
                "def",
                "--output_directory",
                "out",
            ])
            .output()
            .unwrap();
        common::assert_ok(&out, &fw.name);
        // the stateful targets of the policy header: SRX, nftables and the ASA
        for ext in ["srx", "nft", "asa"] {
            let path = dir.path().join(format!("out/{}.{ext}", fw.name));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            for r in p.rules_for(&fw.name) {
                assert!(
                    text.contains(&format!("r{}-", r.id)) || text.contains(&format!("r{}_", r.id)),
                    "{}.{ext}: rule r{}",
                    fw.name,
                    r.id
                );
            }
        }
    }
}

// ---- every target x every scope: honoured, refused, or empty with a reason ----

/// What a scope selects, as the plan sees it.
fn scoped_rules(p: &plan::Plan, scope: &Scope) -> usize {
    render::rules_in_scope(p, scope).count()
}

fn is_windows(role: portplan::catalog::ServerRole) -> bool {
    use portplan::catalog::ServerRole::*;
    matches!(role, FrontEnd | Director | Edge | OfficeWebApps)
}

/// Data rows of a plan table in one of the text formats (the plan is the first table).
fn table_rows(target: Target, text: &str) -> usize {
    match target {
        Target::Table => text.lines().skip(2).take_while(|l| !l.is_empty()).count(),
        Target::Csv => text.lines().skip(1).take_while(|l| !l.is_empty()).count(),
        Target::Markdown => text.lines().filter(|l| l.starts_with('|')).skip(2).count(),
        _ => unreachable!(),
    }
}

#[test]
fn every_target_honours_refuses_or_explains_every_scope() {
    let mut topologies: Vec<(String, Topology)> = common::EXAMPLES
        .iter()
        .map(|name| {
            let text = common::read(&common::example(name));
            (name.to_string(), Topology::parse(name, &text).unwrap())
        })
        .collect();
    topologies.push(("hostile".into(), hostile().0));
    // whether a target refused a kind of scope; it must do so for every name of that kind
    let mut refuses: std::collections::BTreeMap<(String, &str), bool> = Default::default();
    for (name, t) in &topologies {
        let p = plan::compile(t);
        let mut scopes = vec![Scope::All];
        scopes.extend(t.firewalls.iter().map(|f| Scope::Firewall(f.name.clone())));
        scopes.extend(t.servers().map(|(_, s)| Scope::Host(s.name.clone())));
        for target in Target::ALL {
            for scope in &scopes {
                let kind = match scope {
                    Scope::All => "all",
                    Scope::Firewall(_) => "firewall",
                    Scope::Host(_) => "host",
                };
                let at = format!("{name} {target} {scope:?}");
                let result = render::render_files(&p, t, *target, scope);
                let refused = matches!(result, Err(render::RenderError::NeedsScope { .. }));
                let seen = refuses.entry((target.to_string(), kind)).or_insert(refused);
                assert_eq!(
                    *seen, refused,
                    "{at}: refuses this kind of scope only sometimes"
                );
                let files = match result {
                    Ok(files) => files,
                    Err(render::RenderError::NeedsScope { what, .. }) => {
                        assert!(kind != "all" && !what.is_empty(), "{at}");
                        continue;
                    }
                    Err(render::RenderError::Nothing { why, .. }) => {
                        assert!(!why.is_empty(), "{at}");
                        // the reason holds: the scope really selects nothing for this target
                        match (target, scope) {
                            (Target::Windows, Scope::Host(h)) => assert!(
                                t.servers()
                                    .any(|(p, s)| &s.name == h && !is_windows(p.role)),
                                "{at}: {why}"
                            ),
                            (Target::Nginx | Target::Haproxy, Scope::Host(h)) => assert!(
                                t.servers().any(|(p, s)| &s.name == h
                                    && p.role != portplan::catalog::ServerRole::ReverseProxy),
                                "{at}: {why}"
                            ),
                            (Target::NftablesLb | Target::Keepalived, Scope::All) => {}
                            (_, scope) => {
                                assert_eq!(scoped_rules(&p, scope), 0, "{at}: {why}")
                            }
                        }
                        continue;
                    }
                    Err(other) => panic!("{at}: {other}"),
                };
                assert!(!files.is_empty(), "{at}");
                let names: Vec<&str> = files.iter().map(|f| f.file.as_str()).collect();
                match (target, scope) {
                    (Target::Nftables | Target::Iptables | Target::Asa, Scope::Firewall(f)) => {
                        assert!(
                            names.iter().all(|n| n.starts_with(&format!("{f}."))),
                            "{at}: {names:?}"
                        )
                    }
                    (Target::Aerleon, Scope::Firewall(f)) => assert!(
                        names
                            .iter()
                            .all(|n| n.starts_with("def/") || *n == format!("policies/{f}.yaml")),
                        "{at}: {names:?}"
                    ),
                    (Target::Windows, Scope::Host(h)) => {
                        assert_eq!(names, [format!("{h}.ps1")], "{at}");
                        assert!(t.servers().any(|(p, s)| &s.name == h && is_windows(p.role)));
                    }
                    (Target::Nginx, Scope::Host(h)) => {
                        assert_eq!(names, [format!("{h}.nginx.conf")], "{at}")
                    }
                    (Target::Haproxy, Scope::Host(h)) => {
                        assert_eq!(names, [format!("{h}.haproxy.cfg")], "{at}")
                    }
                    (Target::Json, scope) => {
                        let v: serde_json::Value = serde_json::from_str(&files[0].text).unwrap();
                        let rules = v["rules"].as_array().unwrap();
                        assert_eq!(rules.len(), scoped_rules(&p, scope), "{at}");
                        if let Scope::Firewall(f) = scope {
                            assert!(rules.iter().all(|r| r["firewall"] == f.as_str()), "{at}");
                        }
                    }
                    (Target::Table | Target::Csv | Target::Markdown, scope) => assert_eq!(
                        table_rows(*target, &files[0].text),
                        scoped_rules(&p, scope),
                        "{at}"
                    ),
                    (_, Scope::All) => {}
                    (target, scope) => {
                        panic!("{at}: {target} accepted {scope:?} without a check here")
                    }
                }
            }
        }
    }
}
