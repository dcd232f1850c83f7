//! credgate: screening of organisations and people against the joint incentive / joint
//! punishment lists.

#![deny(unsafe_code)]

pub use credgate_index::{date, ids, model};
