//! credgate: screening subjects against the joint incentive / joint punishment lists.

#![deny(unsafe_code)]

pub mod batch;
pub mod cli;
pub mod engine;

pub use credgate_index::{date, ids, model};
