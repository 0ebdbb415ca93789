//! Live verification: `listen` answers on the ports a host must receive, `probe` tests every flow a
//! host must reach. This module owns the wire protocols (STUN), the choice of what to test, and the
//! verdicts; it never prints.

pub mod document;
pub mod listener;
pub mod prober;
pub mod stun;
pub mod targets;
pub mod tls;
