//! The human-readable text portplan shows that is not a render target: tables and their CSV and
//! Markdown spellings, the labels of addresses and groups, the audit report, the `between`
//! tables, the probe matrix and summary line, the listener's status lines and the table of
//! doubtful catalog rows. Everything here returns a `String` (or a [`table::Table`]); nothing
//! prints. Render targets, the HTML report and the command line all take their tables and labels
//! from here.

pub mod audit;
pub mod between;
pub mod catalog;
pub mod check;
pub mod listen;
pub mod plan;
pub mod probe;
pub mod table;
