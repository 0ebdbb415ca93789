//! Documents for the people who approve firewall changes: the deployment diagram (SVG or DOT) and a
//! self-contained HTML report with the plan, the lint findings and, when given, audit and probe results.

pub mod diagram;
pub mod html;
pub mod inputs;
