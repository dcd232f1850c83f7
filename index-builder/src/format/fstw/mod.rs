//! credgate's own writer of FST maps in the byte format of the `fst` crate (0.4, format
//! version 3), which the snapshot reader still uses to read them.
//!
//! Why our own: fst's builder keeps a registry of 10,000 two-way cells and compares whole
//! nodes on every probe; building ids.fst and names.fst through it was a fifth of a whole
//! snapshot build. This writer keeps the same algorithm (keys arrive sorted; the path of
//! the previous key is a stack of open nodes; when a key leaves that path the nodes below
//! the divergence are frozen, deepest first, and written unless an equal node was written
//! before) with a registry probed by a 64-bit hash (see `registry`), a cache of key tails that
//! stands in for whole chains of nodes (see `suffixes`), and nodes held in reused buffers,
//! so a key costs no allocation. The bytes of a node are laid out in `encode`.
//!
//! The format, as fst 0.4 reads it: a 16-byte header (version 3, type 0, both u64 LE); the
//! nodes, each read backwards from its last byte, whose offset is the node's address; a
//! footer of the key count and the root's address (u64 LE), then the masked CRC32C of
//! everything before it (u32 LE). The root is written last. A transition stores its
//! target as the distance back from the start of the node that holds it, so a node's bytes
//! depend on where it is written. Outputs are summed along a path: each transition holds
//! the least output of the keys below it and the excess moves down.

mod encode;
mod registry;
mod suffixes;
#[cfg(test)]
mod tests;

use std::fmt;
use std::io::{self, Write};

use encode::{canonical, encode, hash_words};
use registry::Registry;
use suffixes::{hash_tail, Suffixes};

/// The format version fst 0.4 writes and reads.
const VERSION: u64 = 3;
/// The address of a final node without transitions or output: it is never written.
const EMPTY_ADDRESS: u64 = 0;

/// Registry sizes: the small table 2^11 two-way sets of 64 bytes (256 KiB, cache-resident),
/// the large one 2^16 (8 MiB), and a ring of 4 MiB for the few nodes too large for a cell.
const RECENT_SET_BITS: u32 = 11;
const ALL_SET_BITS: u32 = 16;
const RING_WORDS: usize = 1 << 19;
/// The tails cache: 2^12 two-way sets of 64 bytes (512 KiB).
const SUFFIX_SET_BITS: u32 = 12;

/// The registry packs an address and an input byte into one word (see `canonical`): a map
/// stops well short of 2^56 bytes, at 256 TiB.
const MAX_LEN: u64 = (1 << 48) - (1 << 16);

/// Written bytes are buffered and checksummed in chunks of this size.
const CHUNK: usize = 64 << 10;

/// Why a key was refused.
#[derive(Debug)]
pub enum FstWriteError {
    /// The key is smaller than the one inserted before it.
    OutOfOrder {
        previous: Vec<u8>,
        got: Vec<u8>,
    },
    /// The key equals the one inserted before it.
    Duplicate {
        key: Vec<u8>,
    },
    Io(io::Error),
}

/// A key for a message: as text when it is UTF-8, else with its bytes escaped.
fn show(key: &[u8]) -> String {
    match std::str::from_utf8(key) {
        Ok(s) => format!("{s:?}"),
        Err(_) => format!("b\"{}\"", key.escape_ascii()),
    }
}

impl fmt::Display for FstWriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FstWriteError::OutOfOrder { previous, got } => write!(
                f,
                "FST key {} comes after {} but sorts before it; keys must be inserted in \
                 strictly increasing byte order (sort them first)",
                show(got),
                show(previous)
            ),
            FstWriteError::Duplicate { key } => write!(
                f,
                "FST key {} inserted twice; a map holds each key once (merge the values \
                 before inserting)",
                show(key)
            ),
            FstWriteError::Io(e) => write!(f, "writing an FST: {e}"),
        }
    }
}

impl std::error::Error for FstWriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FstWriteError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for FstWriteError {
    fn from(e: io::Error) -> Self {
        FstWriteError::Io(e)
    }
}

impl From<FstWriteError> for io::Error {
    fn from(e: FstWriteError) -> Self {
        match e {
            FstWriteError::Io(e) => e,
            other => io::Error::new(io::ErrorKind::InvalidInput, other.to_string()),
        }
    }
}

/// A frozen transition: its target is written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Arc {
    input: u8,
    output: u64,
    target: u64,
}

/// A node on the path of the last key: its frozen transitions, and the one leading further
/// down that path, whose target is not written yet.
#[derive(Default)]
struct Open {
    is_final: bool,
    final_output: u64,
    arcs: Vec<Arc>,
    /// The pending transition's input and output, when there is one.
    pending: Option<(u8, u64)>,
}

impl Open {
    /// Moves `extra` output from the transition into this node onto everything leaving it.
    fn add_output(&mut self, extra: u64) {
        if self.is_final {
            self.final_output += extra;
        }
        for a in &mut self.arcs {
            a.output += extra;
        }
        if let Some((_, out)) = &mut self.pending {
            *out += extra;
        }
    }

    fn freeze_pending(&mut self, target: u64) {
        if let Some((input, output)) = self.pending.take() {
            self.arcs.push(Arc {
                input,
                output,
                target,
            });
        }
    }
}

/// Writes an FST map to `W`. Keys must come in strictly increasing byte order.
pub struct FstWriter<W: Write> {
    out: W,
    /// Bytes not yet handed to `out`; `flushed` bytes were.
    buf: Vec<u8>,
    flushed: u64,
    /// CRC32C (unmasked) of the flushed bytes.
    crc: u32,
    /// The open nodes of the last key's path: `stack[..depth]`; deeper entries are kept
    /// only for their buffers.
    stack: Vec<Open>,
    depth: usize,
    last_key: Vec<u8>,
    /// The depth at which the last key left the path of the one before it: its nodes
    /// below that hold one transition each (see `freeze_below`).
    chain_from: usize,
    suffixes: Suffixes,
    keys: u64,
    /// The address of the node written last (a transition to it can omit its address).
    last_addr: u64,
    registry: Registry,
    /// A node's canonical words, rebuilt for each node frozen.
    canon: Vec<u64>,
}

impl<W: Write> FstWriter<W> {
    /// Starts a map, writing its header to `out`.
    pub fn new(out: W) -> io::Result<FstWriter<W>> {
        Self::with_tables(
            out,
            Registry::new(RECENT_SET_BITS, ALL_SET_BITS, RING_WORDS),
            Suffixes::new(SUFFIX_SET_BITS),
        )
    }

    fn with_tables(out: W, registry: Registry, suffixes: Suffixes) -> io::Result<FstWriter<W>> {
        let mut buf = Vec::with_capacity(CHUNK + 8192);
        buf.extend_from_slice(&VERSION.to_le_bytes());
        buf.extend_from_slice(&0u64.to_le_bytes());
        Ok(FstWriter {
            out,
            buf,
            flushed: 0,
            crc: 0,
            stack: vec![Open::default()],
            depth: 1,
            last_key: Vec::new(),
            chain_from: 0,
            suffixes,
            keys: 0,
            last_addr: u64::MAX,
            registry,
            canon: Vec::with_capacity(64),
        })
    }

    /// Keys inserted so far.
    pub fn len(&self) -> u64 {
        self.keys
    }

    pub fn is_empty(&self) -> bool {
        self.keys == 0
    }

    /// Adds `key` with `value`. An error, and nothing added, when the key is not greater
    /// than the previous one. After an I/O error the map is incomplete: drop the writer.
    pub fn insert(&mut self, key: &[u8], value: u64) -> Result<(), FstWriteError> {
        if self.keys > 0 && key <= self.last_key.as_slice() {
            return Err(if key == self.last_key.as_slice() {
                FstWriteError::Duplicate { key: key.to_vec() }
            } else {
                FstWriteError::OutOfOrder {
                    previous: self.last_key.clone(),
                    got: key.to_vec(),
                }
            });
        }
        self.keys += 1;
        if key.is_empty() {
            // Only ever the first key: the root itself accepts it.
            self.stack[0].is_final = true;
            self.stack[0].final_output = value;
            return Ok(());
        }
        // Walk the shared prefix, leaving on each transition the least of its output and
        // what remains of the value, and pushing the excess one node down.
        let mut value = value;
        let mut i = 0;
        while i < key.len() {
            let extra = match &mut self.stack[i].pending {
                Some((input, out)) if *input == key[i] => {
                    let common = (*out).min(value);
                    let extra = *out - common;
                    value -= common;
                    *out = common;
                    extra
                }
                _ => break,
            };
            i += 1;
            if extra != 0 {
                self.stack[i].add_output(extra);
            }
        }
        self.freeze_below(i)?;
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
        // The rest of the key: a new pending transition from node `i`, then a chain of new
        // nodes ending in a final one. The value rides on the first new transition.
        self.chain_from = i;
        self.stack[i].pending = Some((key[i], value));
        for &b in &key[i + 1..] {
            self.push_open(false, Some((b, 0)));
        }
        self.push_open(true, None);
        Ok(())
    }

    fn push_open(&mut self, is_final: bool, pending: Option<(u8, u64)>) {
        if self.depth == self.stack.len() {
            self.stack.push(Open::default());
        }
        let n = &mut self.stack[self.depth];
        n.is_final = is_final;
        n.final_output = 0;
        n.arcs.clear();
        n.pending = pending;
        self.depth += 1;
    }

    /// Freezes and writes the open nodes deeper than `level`, deepest first, and freezes
    /// the pending transition of node `level` onto the last of them.
    fn freeze_below(&mut self, level: usize) -> io::Result<()> {
        let mut target = None;
        // The last key's own nodes below where it left the key before it and below
        // `level` spell the rest of the last key (see `suffixes`): when a chain for those
        // bytes was written before, it replaces them all.
        let top = self.chain_from.max(level) + 1;
        let mut remember = None;
        if top + 1 < self.depth && self.depth - top <= Suffixes::MAX + 1 {
            let tail = &self.last_key[top..];
            let hash = hash_tail(tail);
            match self.suffixes.find(hash, tail) {
                Some(addr) => {
                    self.depth = top;
                    target = Some(addr);
                }
                None => remember = Some(hash),
            }
        }
        while self.depth > level + 1 {
            self.depth -= 1;
            let d = self.depth;
            if let Some(t) = target {
                self.stack[d].freeze_pending(t);
            }
            let addr = self.compile(d)?;
            if let (true, Some(hash)) = (d == top, remember) {
                self.suffixes.insert(hash, &self.last_key[top..], addr);
            }
            target = Some(addr);
        }
        if let Some(t) = target {
            self.stack[level].freeze_pending(t);
        }
        Ok(())
    }

    /// Writes the node at `stack[d]` unless an equal one was written, and returns the
    /// address it can be reached at.
    fn compile(&mut self, d: usize) -> io::Result<u64> {
        let node = &self.stack[d];
        if node.is_final && node.arcs.is_empty() && node.final_output == 0 {
            return Ok(EMPTY_ADDRESS);
        }
        // A node can only point at nodes written before it, so no node written so far
        // points at the node written last, and a node that does equals none of them.
        // Along a new key's suffix every node above the deepest one written is such a
        // node, so this saves most probes (each a likely cache miss) and loses nothing.
        // Nor is such a node registered: a twin would have to point at the same new
        // target, which itself was just missed by the registry, so one is unlikely.
        // Measured on the identifiers of a 1M-record source, leaving them out keeps
        // likelier twins in the table (the map came out 2 % smaller) and saves a miss.
        if node.arcs.last().is_some_and(|a| a.target == self.last_addr) {
            return self.write_node(d);
        }
        canonical(node, &mut self.canon);
        let hash = hash_words(&self.canon);
        if let Some(addr) = self.registry.find(hash, &self.canon) {
            return Ok(addr);
        }
        let addr = self.write_node(d)?;
        self.registry.insert(hash, &self.canon, addr);
        Ok(addr)
    }

    /// Encodes `stack[d]` at the end of the output and returns its address.
    fn write_node(&mut self, d: usize) -> io::Result<u64> {
        let start = self.flushed + self.buf.len() as u64;
        if start >= MAX_LEN {
            return Err(io::Error::other(format!(
                "an FST over {MAX_LEN} bytes; split the keys over several maps"
            )));
        }
        encode(&self.stack[d], start, self.last_addr, &mut self.buf);
        self.last_addr = self.flushed + self.buf.len() as u64 - 1;
        if self.buf.len() >= CHUNK {
            self.flush_buf()?;
        }
        Ok(self.last_addr)
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        self.crc = crc32c::crc32c_append(self.crc, &self.buf);
        self.out.write_all(&self.buf)?;
        self.flushed += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// Writes the remaining nodes, the root and the footer, and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.freeze_below(0)?;
        let root = &self.stack[0];
        // The reader finds the root right before the footer, so the root is always written
        // (never shared), unless it is the unwritten empty final node.
        let root_addr = if root.is_final && root.arcs.is_empty() && root.final_output == 0 {
            EMPTY_ADDRESS
        } else {
            self.write_node(0)?
        };
        self.buf.extend_from_slice(&self.keys.to_le_bytes());
        self.buf.extend_from_slice(&root_addr.to_le_bytes());
        self.flush_buf()?;
        let masked = (self.crc.rotate_right(15)).wrapping_add(0xA282_EAD8);
        self.out.write_all(&masked.to_le_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }

    /// Bytes the writer's tables hold, fixed at creation whatever the number of keys.
    pub fn table_memory(&self) -> usize {
        self.registry.memory() + self.suffixes.memory()
    }
}
