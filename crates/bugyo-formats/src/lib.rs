//! Bytes in, model out (and back): every file and wire format bugyo reads.
//!
//! Each parser returns an error value with a position (byte offset or line
//! number) for malformed input and never panics; where a format has records,
//! one bad record is skipped and counted and the good ones around it are kept.

pub mod as2org;
pub mod asrel;
pub mod bgp;
pub mod bmp;
pub mod input;
pub mod mrt;
pub mod pcap;
pub mod report;
pub mod report_mail;
pub mod rpki;
pub mod rpsl;
pub mod rtr;
pub mod watch;
