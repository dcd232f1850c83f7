//! credgate's own writer of FST maps in the byte format of the `fst` crate (0.4, format
//! version 3), which the snapshot reader still uses to read them.
//!
//! Why our own: fst's builder keeps a registry of 10,000 two-way cells and compares whole
//! nodes on every probe; building ids.fst and names.fst through it was a fifth of a whole
//! snapshot build. This writer keeps the same algorithm (keys arrive sorted; the path of
//! the previous key is a stack of open nodes; when a key leaves that path the nodes below
//! the divergence are frozen, deepest first, and written unless an equal node was written
//! before) with a registry probed by a 64-bit hash (see `registry`) and nodes held in
//! reused buffers, so a key costs no allocation.
//!
//! The format, as fst 0.4 reads it: a 16-byte header (version 3, type 0, both u64 LE); the
//! nodes, each read backwards from its last byte, whose offset is the node's address; a
//! footer of the key count and the root's address (u64 LE), then the masked CRC32C of
//! everything before it (u32 LE). The root is written last. A transition stores its
//! target as the distance back from the start of the node that holds it, so a node's bytes
//! depend on where it is written. Outputs are summed along a path: each transition holds
//! the least output of the keys below it and the excess moves down.

mod registry;
#[cfg(test)]
mod tests;

use std::fmt;
use std::io::{self, Write};

use registry::Registry;

/// The format version fst 0.4 writes and reads.
const VERSION: u64 = 3;
/// The address of a final node without transitions or output: it is never written.
const EMPTY_ADDRESS: u64 = 0;
/// Above this many transitions a node carries a 256-byte index from input byte to
/// transition (the reader expects it exactly then).
const INDEX_ABOVE: usize = 32;
/// The bytes a one-transition node can name by their rank in this list (1-based, in six
/// bits of its state byte) instead of spending a byte on its input; the order is fixed by
/// the format.
const COMMON_INPUTS: &[u8; 63] = b"te/oasripcnw.hlm-du012g=:bf3y5&_4v9678k%?xCDASFIBEjPTzRNM+LOqHG";

/// Registry sets (2^this, two cells each) and ring bytes: about 6 MiB and 16 MiB, enough to
/// share the suffixes of a few hundred thousand recent nodes while the cells stay in cache.
const REGISTRY_SET_BITS: u32 = 17;
const REGISTRY_RING_BYTES: usize = 16 << 20;

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
    keys: u64,
    /// The address of the node written last (a transition to it can omit its address).
    last_addr: u64,
    registry: Registry,
    /// A node's canonical bytes, rebuilt for each node frozen.
    canon: Vec<u8>,
}

impl<W: Write> FstWriter<W> {
    /// Starts a map, writing its header to `out`.
    pub fn new(out: W) -> io::Result<FstWriter<W>> {
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
            keys: 0,
            last_addr: u64::MAX,
            registry: Registry::new(REGISTRY_SET_BITS, REGISTRY_RING_BYTES),
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
    /// than the previous one.
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
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
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
        // The rest of the key: a new pending transition from node `i`, then a chain of new
        // nodes ending in a final one. The value rides on the first new transition.
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
        while self.depth > level + 1 {
            self.depth -= 1;
            let d = self.depth;
            if let Some(t) = target {
                self.stack[d].freeze_pending(t);
            }
            target = Some(self.compile(d)?);
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
        canonical(node, &mut self.canon);
        let hash = hash_bytes(&self.canon);
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

    /// Bytes the writer holds besides its output buffer, whatever the number of keys.
    pub fn registry_memory(&self) -> usize {
        self.registry.memory()
    }
}

/// A node's identity for the registry: final flag and transition count, final output,
/// then each transition's input, output and target, fixed-width.
fn canonical(node: &Open, out: &mut Vec<u8>) {
    out.clear();
    let head = node.arcs.len() as u16 | (node.is_final as u16) << 15;
    out.extend_from_slice(&head.to_le_bytes());
    out.extend_from_slice(&node.final_output.to_le_bytes());
    for a in &node.arcs {
        out.push(a.input);
        out.extend_from_slice(&a.output.to_le_bytes());
        out.extend_from_slice(&a.target.to_le_bytes());
    }
}

/// A 64-bit hash of canonical bytes, eight at a time (multiply and rotate). The registry
/// confirms every match byte for byte, so only its spread matters.
fn hash_bytes(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w.try_into().expect("8 bytes"))).wrapping_mul(K);
    }
    let mut last = [0u8; 8];
    let rest = words.remainder();
    last[..rest.len()].copy_from_slice(rest);
    h = (h.rotate_left(5) ^ u64::from_le_bytes(last)).wrapping_mul(K);
    h ^ h >> 29
}

/// Bytes needed for `v` little-endian, at least one.
fn pack_size(v: u64) -> usize {
    (((64 - v.leading_zeros()) as usize + 7) / 8).max(1)
}

fn pack(out: &mut Vec<u8>, v: u64, size: usize) {
    out.extend_from_slice(&v.to_le_bytes()[..size]);
}

/// The six-bit code of each byte: its 1-based rank in `COMMON_INPUTS`, 0 for the others.
const COMMON_CODE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < COMMON_INPUTS.len() {
        t[COMMON_INPUTS[i] as usize] = i as u8 + 1;
        i += 1;
    }
    t
};

fn common_code(input: u8) -> u8 {
    COMMON_CODE[input as usize]
}

/// How a transition written at `start` names its target: the distance back, or 0 for the
/// empty final node.
fn delta(start: u64, target: u64) -> u64 {
    if target == EMPTY_ADDRESS {
        0
    } else {
        start - target
    }
}

/// Appends the bytes of `node`, whose first byte lands at address `start`, to `out`.
/// `last_addr` is the node written just before it, which a lone transition without output
/// reaches implicitly.
fn encode(node: &Open, start: u64, last_addr: u64, out: &mut Vec<u8>) {
    let arcs = &node.arcs;
    if arcs.len() == 1 && !node.is_final {
        let a = arcs[0];
        let code = common_code(a.input);
        if a.target == last_addr && a.output == 0 {
            // One transition to the node right before: just the input.
            if code == 0 {
                out.push(a.input);
            }
            out.push(0b11_000000 | code);
        } else {
            let osize = if a.output == 0 {
                0
            } else {
                pack_size(a.output)
            };
            if osize > 0 {
                pack(out, a.output, osize);
            }
            let d = delta(start, a.target);
            let tsize = pack_size(d);
            pack(out, d, tsize);
            out.push((tsize << 4 | osize) as u8);
            if code == 0 {
                out.push(a.input);
            }
            out.push(0b10_000000 | code);
        }
        return;
    }
    // Any other node: outputs, targets and inputs, each in reverse transition order.
    let any_output = node.final_output != 0 || arcs.iter().any(|a| a.output != 0);
    let osize = if any_output {
        arcs.iter()
            .map(|a| pack_size(a.output))
            .fold(pack_size(node.final_output), usize::max)
    } else {
        0
    };
    let tsize = arcs
        .iter()
        .map(|a| pack_size(delta(start, a.target)))
        .max()
        .unwrap_or(0);
    if any_output {
        if node.is_final {
            pack(out, node.final_output, osize);
        }
        for a in arcs.iter().rev() {
            pack(out, a.output, osize);
        }
    }
    for a in arcs.iter().rev() {
        pack(out, delta(start, a.target), tsize);
    }
    out.extend(arcs.iter().rev().map(|a| a.input));
    if arcs.len() > INDEX_ABOVE {
        let at = out.len();
        out.resize(at + 256, 255);
        for (i, a) in arcs.iter().enumerate() {
            out[at + a.input as usize] = i as u8;
        }
    }
    out.push((tsize << 4 | osize) as u8);
    let n = arcs.len();
    let in_state = if (1..=63).contains(&n) { n as u8 } else { 0 };
    if in_state == 0 {
        // 256 transitions are written as 1, which the state byte would have held itself.
        out.push(if n == 256 { 1 } else { n as u8 });
    }
    out.push((node.is_final as u8) << 6 | in_state);
}
