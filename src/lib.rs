//! portplan: Lync Server 2013 / Skype for Business Server firewall port requirements as verified policy.
//!
//! Data flows one way: [`catalog`] + [`topology`] → [`plan`] → render / audit / probe.

pub mod audit;
pub mod catalog;
pub mod endpoints;
pub mod plan;
pub mod probe;
pub mod render;
pub mod report;
pub mod topology;
