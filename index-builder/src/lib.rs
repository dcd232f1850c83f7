//! The credgate snapshot: source parsing, the immutable memory-mapped format (writer and
//! reader), and the vocabulary shared with the decision engine.

#![deny(unsafe_code)]

pub mod build;
pub mod catalog;
pub mod date;
pub mod format;
pub mod ids;
pub mod manifest;
pub mod model;
pub mod names;
pub mod publish;
pub mod source;
pub mod synth;
