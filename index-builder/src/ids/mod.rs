//! Identifiers: Unified Social Credit Codes (organisations) and resident identity numbers
//! (people).

pub mod ric;
pub mod uscc;
