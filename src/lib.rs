//! credgate: screening of organisations and people against the joint incentive / joint
//! punishment lists.
//!
//! The decision engine lives here ([`engine`]); the snapshot it reads, and the vocabulary it
//! shares with the builder (dates, identifiers, list classes, scenarios), come from the
//! `credgate_index` crate and are re-exported.

#![deny(unsafe_code)]

pub mod batch;
pub mod cli;
pub mod engine;
pub mod scan;
pub mod server;
pub mod trust;

pub use credgate_index::{date, ids, model};
