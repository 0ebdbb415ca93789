//! portplan: Lync Server 2013 / Skype for Business Server firewall port requirements as verified policy.
//!
//! Data flows one way: [`catalog`] + [`topology`] → [`plan`] → render / audit / probe.
//! [`view`] holds the human-readable text (tables, labels, status lines) the others show.

pub mod audit;
pub mod catalog;
pub mod endpoints;
pub mod plan;
pub mod probe;
pub mod render;
pub mod report;
pub mod topology;
pub mod view;
