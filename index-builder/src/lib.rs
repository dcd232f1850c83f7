//! The credgate snapshot: source parsing, the immutable memory-mapped format (writer and
//! reader), and the vocabulary shared with the decision engine.

#![deny(unsafe_code)]

pub mod date;
pub mod ids;
pub mod model;
pub mod synth;
