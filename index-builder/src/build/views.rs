//! Reading the rows of passes 3 and 5 in place, from the bytes of their frames.
//!
//! Decoding a row into its owned form ([`ListRec`], [`EventRec`]) allocates a `String` per
//! text field: five a list row, tens of millions a build, all on the single thread that
//! writes the tables. The views here borrow the fields from the frame instead. They also
//! keep the encoded row itself, so a pass that re-sorts a row under a new key copies its
//! bytes behind the key rather than decoding and encoding it again.
//!
//! Run files are only ours (every string in them was written from a `str`), but they are
//! not checksummed, and a damaged one must be an error, not a panic or a bad snapshot. So
//! each string is still checked as UTF-8, once: where pass 5 writes it into the snapshot
//! ([`text`]). Pass 3 only copies strings from frame to frame and never checks them (the
//! checks were a seventh of pass 3 and 5's instructions when both made them).
//!
//! The owned decoders in `items` are written on these views, so both read the same bytes
//! the same way.

use std::borrow::Cow;
use std::io;

use super::codec::{put_i32, put_id, put_key_bytes, put_u64, Dec};
use super::items::{EventRec, ListRec};
use super::spill::Sorted;

/// A string field of a view, not yet checked as UTF-8: passes that only copy it (into
/// another frame, or compare it) never check it; the pass that writes it into the
/// snapshot checks it there, once ([`text`]).
pub(crate) type Text<'a> = &'a [u8];

/// A string field as a `str`: an error when it is not UTF-8, which only a damaged run
/// file can cause (every string entered the runs from a `str`).
pub(crate) fn text(b: Text<'_>) -> io::Result<&str> {
    let mut d = Dec::new(&[]);
    let s = d.utf8(b);
    d.finish()?;
    Ok(s)
}

/// A list row read in place: the fields of [`ListRec`], borrowed, and its encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ListView<'a> {
    /// The row's own encoding (what `ListRec` encodes to).
    pub enc: &'a [u8],
    pub file: u16,
    pub line: u64,
    pub record_id: Text<'a>,
    pub list: u16,
    pub subject_type: u8,
    pub subject_id: [u8; 18],
    pub nonconforming: bool,
    pub subject_name: Text<'a>,
    pub authority: Text<'a>,
    pub doc_no: Text<'a>,
    pub reason: Text<'a>,
    pub decided_on: i32,
    pub effective_from: i32,
    pub effective_until: i32,
    pub act_ended_on: i32,
    pub erase_on: i32,
}

impl<'a> ListView<'a> {
    pub(crate) fn read(d: &mut Dec<'a>) -> ListView<'a> {
        let start = d.rest();
        let mut v = ListView {
            enc: &[],
            file: d.u16(),
            line: d.u64(),
            record_id: d.str_bytes(),
            list: d.u16(),
            subject_type: d.u8(),
            subject_id: d.id(),
            nonconforming: d.u8() != 0,
            subject_name: d.str_bytes(),
            authority: d.str_bytes(),
            doc_no: d.str_bytes(),
            reason: d.str_bytes(),
            decided_on: d.i32(),
            effective_from: d.i32(),
            effective_until: d.i32(),
            act_ended_on: d.i32(),
            erase_on: d.i32(),
        };
        v.enc = &start[..start.len() - d.rest().len()];
        v
    }

    /// The row's encoding without its place in the source, the file and line it begins
    /// with: equal for two copies of a row that agree in every column (as parsed and
    /// normalised), wherever they were read.
    pub(crate) fn content(&self) -> &'a [u8] {
        // `ListRec::encode` writes the file (u16) and the line (u64) first.
        const PLACE: usize = 2 + 8;
        self.enc.get(PLACE..).unwrap_or(&[])
    }

    /// The source columns (SPEC §3 names, in file order) in which two rows of the same
    /// record id differ. Only the columns are compared: the fields derived from them
    /// (`nonconforming`, `erase_on`) follow.
    pub(crate) fn differing_columns(&self, other: &ListView<'_>) -> Vec<&'static str> {
        let differs = [
            ("list_code", self.list != other.list),
            ("subject_type", self.subject_type != other.subject_type),
            ("subject_id", self.subject_id != other.subject_id),
            ("subject_name", self.subject_name != other.subject_name),
            ("authority", self.authority != other.authority),
            ("doc_no", self.doc_no != other.doc_no),
            ("reason", self.reason != other.reason),
            ("decided_on", self.decided_on != other.decided_on),
            (
                "effective_from",
                self.effective_from != other.effective_from,
            ),
            (
                "effective_until",
                self.effective_until != other.effective_until,
            ),
            ("act_ended_on", self.act_ended_on != other.act_ended_on),
        ];
        differs.iter().filter(|d| d.1).map(|d| d.0).collect()
    }

    /// The owned row; `d` (the decoder the view was read with) fails when a string is not
    /// UTF-8.
    pub(crate) fn to_owned(self, d: &mut Dec<'a>) -> ListRec {
        ListRec {
            file: self.file,
            line: self.line,
            record_id: d.utf8(self.record_id).to_owned(),
            list: self.list,
            subject_type: self.subject_type,
            subject_id: self.subject_id,
            nonconforming: self.nonconforming,
            subject_name: d.utf8(self.subject_name).to_owned(),
            authority: d.utf8(self.authority).to_owned(),
            doc_no: d.utf8(self.doc_no).to_owned(),
            reason: d.utf8(self.reason).to_owned(),
            decided_on: self.decided_on,
            effective_from: self.effective_from,
            effective_until: self.effective_until,
            act_ended_on: self.act_ended_on,
            erase_on: self.erase_on,
        }
    }

    /// The encoding of this row as a `LiveRecord` (its table order, then the row): what
    /// `LiveRecord::encode` writes, without decoding the row.
    pub(crate) fn encode_live(&self, out: &mut Vec<u8>) {
        put_id(out, &self.subject_id);
        put_i32(out, self.effective_from);
        put_key_bytes(out, self.record_id);
        out.extend_from_slice(self.enc);
    }

    /// A `LiveRecord` frame read in place (the key fields skipped: the row repeats them),
    /// and the length of its key, which its events' frames begin with.
    pub(crate) fn live(frame: &'a [u8]) -> io::Result<(ListView<'a>, usize)> {
        let mut d = Dec::new(frame);
        d.id();
        d.i32();
        d.skip_key_str();
        let key_len = frame.len() - d.rest().len();
        let v = ListView::read(&mut d);
        d.finish()?;
        Ok((v, key_len))
    }
}

/// A repair or objection read in place: the fields of [`EventRec`], borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EventView<'a> {
    pub enc: &'a [u8],
    pub file: u16,
    pub line: u64,
    pub record_id: Text<'a>,
    pub kind: u8,
    pub outcome: u8,
    pub date: i32,
    pub closed_on: i32,
    pub authority: Text<'a>,
    pub doc_no: Text<'a>,
}

impl<'a> EventView<'a> {
    pub(crate) fn read(d: &mut Dec<'a>) -> EventView<'a> {
        let start = d.rest();
        let mut v = EventView {
            enc: &[],
            file: d.u16(),
            line: d.u64(),
            record_id: d.str_bytes(),
            kind: d.u8(),
            outcome: d.u8(),
            date: d.i32(),
            closed_on: d.i32(),
            authority: d.str_bytes(),
            doc_no: d.str_bytes(),
        };
        v.enc = &start[..start.len() - d.rest().len()];
        v
    }

    /// The owned event; `d` fails when a string is not UTF-8.
    pub(crate) fn to_owned(self, d: &mut Dec<'a>) -> EventRec {
        EventRec {
            file: self.file,
            line: self.line,
            record_id: d.utf8(self.record_id).to_owned(),
            kind: self.kind,
            outcome: self.outcome,
            date: self.date,
            closed_on: self.closed_on,
            authority: d.utf8(self.authority).to_owned(),
            doc_no: d.utf8(self.doc_no).to_owned(),
        }
    }

    /// The encoding of this event as a `LiveEvent` of the record (`subject_id`,
    /// `effective_from`) with arrival number `seq`: what `LiveEvent::encode` writes.
    pub(crate) fn encode_live(
        &self,
        subject_id: &[u8; 18],
        effective_from: i32,
        seq: u64,
        out: &mut Vec<u8>,
    ) {
        put_id(out, subject_id);
        put_i32(out, effective_from);
        put_key_bytes(out, self.record_id);
        put_i32(out, self.date);
        out.push(self.kind);
        put_u64(out, seq);
        out.extend_from_slice(self.enc);
    }
}

/// A `LiveEvent` frame read in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LiveEventView<'a> {
    pub subject_id: [u8; 18],
    pub effective_from: i32,
    pub seq: u64,
    pub ev: EventView<'a>,
}

impl<'a> LiveEventView<'a> {
    pub(crate) fn read(d: &mut Dec<'a>) -> LiveEventView<'a> {
        let subject_id = d.id();
        let effective_from = d.i32();
        d.skip_key_str();
        d.i32();
        d.u8();
        LiveEventView {
            subject_id,
            effective_from,
            seq: d.u64(),
            ev: EventView::read(d),
        }
    }

    pub(crate) fn of_frame(frame: &'a [u8]) -> io::Result<LiveEventView<'a>> {
        let mut d = Dec::new(frame);
        let v = LiveEventView::read(&mut d);
        d.finish()?;
        Ok(v)
    }
}

/// A `NameOffer` frame read in place; the name is borrowed unless it holds a NUL (which
/// its encoding escapes).
pub(crate) struct NameView<'a> {
    pub seq: u64,
    pub name: Cow<'a, str>,
}

impl<'a> NameView<'a> {
    pub(crate) fn of_frame(frame: &'a [u8]) -> io::Result<NameView<'a>> {
        let mut d = Dec::new(frame);
        d.id();
        d.i32();
        let seq = d.u64();
        let mut again = d.clone();
        let name = match d.key_str_borrowed() {
            Some(s) => Cow::Borrowed(s),
            None => {
                let s = again.key_str();
                d = again;
                Cow::Owned(s)
            }
        };
        d.finish()?;
        Ok(NameView { seq, name })
    }
}

/// The length of the key a `ByRecordId` frame begins with (its record id): the frames of
/// one record id are those that begin with the same bytes.
pub(crate) fn record_id_key_len(frame: &[u8]) -> io::Result<usize> {
    let mut d = Dec::new(frame);
    d.skip_key_str();
    d.finish()?;
    Ok(frame.len() - d.rest().len())
}

/// A list row or an event, as pass 3 groups them by record id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RowView<'a> {
    List(ListView<'a>),
    Event(EventView<'a>),
}

/// A `ByRecordId` frame read in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ByRecordIdView<'a> {
    pub seq: u64,
    pub erased: bool,
    pub row: RowView<'a>,
}

impl<'a> ByRecordIdView<'a> {
    pub(crate) fn read(d: &mut Dec<'a>) -> ByRecordIdView<'a> {
        d.skip_key_str();
        d.u64();
        let erased = d.u8() != 0;
        let seq = d.u64();
        let row = match d.u8() {
            0 => RowView::List(ListView::read(d)),
            _ => RowView::Event(EventView::read(d)),
        };
        ByRecordIdView { seq, erased, row }
    }

    pub(crate) fn of_frame(frame: &'a [u8]) -> io::Result<ByRecordIdView<'a>> {
        let mut d = Dec::new(frame);
        let v = ByRecordIdView::read(&mut d);
        d.finish()?;
        Ok(v)
    }
}

/// A sorted stream read a frame at a time, with one frame of lookahead. Streams held in
/// memory or merged ahead are looked at where their frames lie; the others (a file read
/// back, a merge on this thread) through a copy of the frame.
pub(crate) struct Frames<T> {
    inner: Sorted<T>,
    in_place: bool,
    buf: Vec<u8>,
    /// Whether `buf` holds the next frame; `done` once the stream has ended.
    full: bool,
    done: bool,
}

impl<T> Frames<T> {
    pub(crate) fn new(inner: Sorted<T>) -> Frames<T> {
        Frames {
            in_place: inner.peeks_in_place(),
            inner,
            buf: Vec::new(),
            full: false,
            done: false,
        }
    }

    /// The next frame, without taking it.
    pub(crate) fn peek(&mut self) -> io::Result<Option<&[u8]>> {
        if self.in_place {
            return self.inner.peek_in_place();
        }
        if !self.full && !self.done {
            match self.inner.next_frame()? {
                Some(f) => {
                    self.buf.clear();
                    self.buf.extend_from_slice(f);
                    self.full = true;
                }
                None => self.done = true,
            }
        }
        Ok(if self.full { Some(&self.buf) } else { None })
    }

    /// Takes the frame [`Frames::peek`] returned.
    pub(crate) fn advance(&mut self) {
        if self.in_place {
            self.inner.skip_in_place();
        } else {
            self.full = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::codec::Codec;
    use super::super::items::{ByRecordId, LiveEvent, LiveRecord, Row};
    use super::*;

    fn list(record_id: &str, name: &str) -> ListRec {
        ListRec {
            file: 3,
            line: 1 << 33,
            record_id: record_id.into(),
            list: 7,
            subject_type: 1,
            subject_id: *b"110101199003074477",
            nonconforming: true,
            subject_name: name.into(),
            authority: "某某市人民法院".into(),
            doc_no: "".into(),
            reason: "a\0b".into(),
            decided_on: -5,
            effective_from: 19_000,
            effective_until: i32::MAX,
            act_ended_on: i32::MIN,
            erase_on: 20_000,
        }
    }

    fn event(record_id: &str) -> EventRec {
        EventRec {
            file: 1,
            line: 9,
            record_id: record_id.into(),
            kind: 2,
            outcome: 1,
            date: 19_500,
            closed_on: i32::MAX,
            authority: "局".into(),
            doc_no: "文号".into(),
        }
    }

    fn enc<T: Codec>(t: &T) -> Vec<u8> {
        let mut out = Vec::new();
        t.encode(&mut out);
        out
    }

    #[test]
    fn borrowed_reads_equal_owned_decodes_and_re_encode_the_same_bytes() {
        for (rid, name) in [("R1", "张三"), ("", ""), ("R\0x", "名\0")] {
            let rec = list(rid, name);
            let item = ByRecordId {
                seq: 77,
                erased: true,
                row: Row::List(Box::new(rec.clone())),
            };
            let frame = enc(&item);
            let v = ByRecordIdView::of_frame(&frame).unwrap();
            assert_eq!((v.seq, v.erased), (77, true));
            let RowView::List(l) = v.row else {
                panic!("a list row")
            };
            assert_eq!(l.to_owned(&mut Dec::new(&[])), rec);
            assert_eq!(text(l.subject_name).unwrap(), name);
            assert_eq!(ByRecordId::decode(&mut Dec::new(&frame)), item);
            // Re-keyed by copying the row's bytes = encoded from the owned row.
            let live = LiveRecord(Box::new(rec.clone()));
            let mut copied = Vec::new();
            l.encode_live(&mut copied);
            assert_eq!(copied, enc(&live));
            let (again, key_len) = ListView::live(&copied).unwrap();
            assert_eq!(again, l);
            assert_eq!(&copied[..key_len], &copied[..copied.len() - l.enc.len()]);

            let ev = event(rid);
            let item = ByRecordId {
                seq: 78,
                erased: false,
                row: Row::Event(Box::new(ev.clone())),
            };
            let frame = enc(&item);
            let v = ByRecordIdView::of_frame(&frame).unwrap();
            let RowView::Event(e) = v.row else {
                panic!("an event")
            };
            assert_eq!(e.to_owned(&mut Dec::new(&[])), ev);
            let live = LiveEvent {
                subject_id: rec.subject_id,
                effective_from: rec.effective_from,
                seq: 78,
                ev: ev.clone(),
            };
            let mut copied = Vec::new();
            e.encode_live(&rec.subject_id, rec.effective_from, 78, &mut copied);
            assert_eq!(copied, enc(&live));
            let lv = LiveEventView::of_frame(&copied).unwrap();
            assert_eq!((lv.seq, lv.ev), (78, e));
            // A record's events begin with its key.
            let mut rec_frame = Vec::new();
            l.encode_live(&mut rec_frame);
            let (_, key_len) = ListView::live(&rec_frame).unwrap();
            assert!(copied.starts_with(&rec_frame[..key_len]));
            assert!(!copied.starts_with(&rec_frame[..key_len + 1]));
        }
    }

    #[test]
    fn a_damaged_frame_is_an_error_not_a_panic() {
        let item = ByRecordId {
            seq: 1,
            erased: false,
            row: Row::List(Box::new(list("R1", "张三"))),
        };
        let frame = enc(&item);
        // Every truncation.
        for n in 0..frame.len() {
            assert!(ByRecordIdView::of_frame(&frame[..n]).is_err(), "cut at {n}");
        }
        // A string made invalid UTF-8 (the name's first byte): read as bytes, an error
        // where it is taken as text, and from the owned decoder.
        let mut bad = frame.clone();
        let at = frame.windows(3).position(|w| w == "张".as_bytes()).unwrap();
        bad[at] = 0xFF;
        let v = ByRecordIdView::of_frame(&bad).unwrap();
        let RowView::List(l) = v.row else {
            panic!("a list row")
        };
        let err = text(l.subject_name).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("damaged frame"), "{err}");
        let mut d = Dec::new(&bad);
        ByRecordId::decode(&mut d);
        assert!(d.finish().is_err());
        // A length running past the end.
        let mut long = frame.clone();
        let len_at = frame.windows(6).position(|w| w == b"\0\0\0\x02R1").unwrap();
        long[len_at] = 0x7F;
        assert!(ByRecordIdView::of_frame(&long).is_err());
    }

    #[test]
    fn frames_peek_the_same_stream_in_place_or_copied() {
        use super::super::items::IdixEntry;
        use super::super::spill::{read_seq, SeqWriter, SpillDir};
        let dir = tempfile::tempdir().unwrap();
        let items: Vec<IdixEntry> = (0..20_000u64)
            .map(|i| IdixEntry(i.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
            .collect();
        let mut want: Vec<Vec<u8>> = items.iter().map(enc).collect();
        want.sort();
        // In memory, merged ahead from spilled runs, and a sequence file (copied).
        let mut streams = Vec::new();
        for budget in [usize::MAX, 4096] {
            let spill = SpillDir::new(dir.path().join(format!("s{budget}")), budget).unwrap();
            let mut s = spill.sorter::<IdixEntry>();
            for i in &items {
                s.push(*i).unwrap();
            }
            let (sorted, runs) = s.finish().unwrap();
            assert_eq!(runs > 0, budget != usize::MAX);
            streams.push(sorted.prefetch());
        }
        let spill = SpillDir::new(dir.path().join("seq"), 1 << 20).unwrap();
        let mut w = SeqWriter::create(&spill).unwrap();
        let mut sorted_items = items.clone();
        sorted_items.sort();
        for i in &sorted_items {
            w.push(i).unwrap();
        }
        streams.push(read_seq::<IdixEntry>(&w.finish().unwrap()).unwrap());
        for (n, stream) in streams.into_iter().enumerate() {
            let mut frames = Frames::new(stream);
            let mut got = Vec::new();
            while let Some(f) = frames.peek().unwrap() {
                let f = f.to_vec();
                // Peeking again sees the same frame until it is taken.
                assert_eq!(frames.peek().unwrap(), Some(&f[..]));
                got.push(f);
                frames.advance();
            }
            assert_eq!(got, want, "stream {n}");
            assert!(frames.peek().unwrap().is_none());
        }
    }
}
