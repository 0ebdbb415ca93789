//! Tests that need root and the real kernel: the generated rules are loaded into network namespaces
//! built from the topology, and real packets prove they allow what the plan allows and drop the rest.
//! All such tests live in this one binary (one module per subject) and take the harness lock, so
//! they run one at a time.

#[path = "../common/mod.rs"]
mod common;
#[path = "../harness/mod.rs"]
mod harness;

mod aerleon;
mod constructs;
mod corpus;
mod differential;
mod differential_nft;
mod enforce;
mod hostile;
mod lb;
mod nat_audit;
mod nft_refuse;
mod probe;
mod random;
mod syntax;

use portplan::plan::{self, Plan};
use portplan::render::{self, Artifact, Scope, Target};
use portplan::topology::Topology;

pub fn load(name: &str) -> (Topology, Plan) {
    let t = Topology::parse(name, &common::read(&common::example(name))).unwrap();
    let p = plan::compile(&t);
    (t, p)
}

pub fn files(t: &Topology, p: &Plan, target: Target) -> Vec<Artifact> {
    // a target with nothing to serve in this topology (keepalived without Edge VIPs) writes none
    match render::render_files(p, t, target, &Scope::All) {
        Err(render::RenderError::Nothing { .. }) => Vec::new(),
        other => other.unwrap(),
    }
}

pub fn file<'a>(files: &'a [Artifact], name: &str) -> Option<&'a str> {
    files
        .iter()
        .find(|a| a.file == name)
        .map(|a| a.text.as_str())
}

/// A bare namespace for syntax checks, removed on drop.
pub struct ScratchNs(String);

impl ScratchNs {
    pub fn new(name: &str) -> ScratchNs {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", name])
            .output();
        let ok = std::process::Command::new("ip")
            .args(["netns", "add", name])
            .status()
            .unwrap();
        assert!(ok.success());
        ScratchNs(name.to_string())
    }
    pub fn stdin(&self, cmd: &str, input: &str) {
        use std::io::Write;
        let mut child = std::process::Command::new("ip")
            .args(["netns", "exec", &self.0, "sh", "-c", cmd])
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        common::assert_ok(&out, cmd);
    }
}

impl Drop for ScratchNs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.0])
            .output();
    }
}
