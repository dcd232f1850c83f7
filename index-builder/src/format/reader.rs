//! Opening a snapshot generation: map every file, check headers and the manifest's sizes,
//! and hand out rows by ordinal. Opening costs the same for any size; [`Snapshot::verify`]
//! reads everything and must pass before a snapshot is served.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use roaring::RoaringBitmap;

use super::idix::{IdIndex, KEY_LEN};
use super::layout::{
    EventRow, LinkRow, RecordRow, StrRef, SubjectRow, BITMAP_CLASS, BITMAP_DOMAIN, BITMAP_LIST,
};
use super::{
    check_header, verify_payload, FileKind, FormatError, Mapped, Problem, Utf8Window, Window,
    HEADER_LEN,
};
use crate::manifest::Manifest;
use crate::model::SubjectType;
use crate::publish;

pub struct Snapshot {
    dir: PathBuf,
    manifest: Manifest,
    catalog_toml: String,
    files: Vec<(FileKind, Mapped)>,
    ids: fst::Map<Window>,
    /// `ids.idx` (format version 2 on); version 1 snapshots look identifiers up in `ids`.
    idix: Option<IdIndex<Window>>,
    names: fst::Map<Window>,
    subjects: Window,
    records: Window,
    events: Window,
    links_by_person: Window,
    links_by_org: Window,
    strings: Window,
    postings: Window,
    bitmaps: Window,
    /// The string heap once [`Snapshot::verify`] has found all of it UTF-8: strings are then
    /// borrowed without a per-call check.
    strings_utf8: OnceLock<Utf8Window>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("dir", &self.dir)
            .field("id", &self.manifest.snapshot_id)
            .finish()
    }
}

/// A bitmap of subject ordinals, by group and name.
pub struct NamedBitmap {
    pub group: u8,
    pub name: String,
    pub bitmap: RoaringBitmap,
}

impl Snapshot {
    /// Opens the generation `path` names: a root (via `CURRENT`) or a generation directory.
    pub fn open(path: &Path) -> Result<Snapshot, FormatError> {
        let dir = publish::resolve(path)?;
        let manifest_path = dir.join(FileKind::Manifest.file_name());
        let manifest_map = map(&manifest_path)?;
        let payload = check_header(&manifest_path, FileKind::Manifest, &manifest_map)?;
        // The manifest is small and everything else is checked against it: verify it now.
        verify_payload(&manifest_path, &manifest_map)?;
        let manifest: Manifest = serde_json::from_slice(payload)
            .map_err(|e| FormatError::malformed(&manifest_path, format!("manifest JSON: {e}")))?;
        // The version the manifest states decides how the other files are read (version 2
        // added ids.idx): one outside the range read here is refused like such a header.
        if manifest.format_version > super::FORMAT_VERSION {
            return Err(FormatError::new(
                &manifest_path,
                Problem::NewerVersion {
                    found: manifest.format_version,
                },
            ));
        }
        if manifest.format_version < super::MIN_READ_VERSION {
            return Err(FormatError::new(
                &manifest_path,
                Problem::OlderVersion {
                    found: manifest.format_version,
                },
            ));
        }
        // A generation's name states its snapshot id: a directory holding another snapshot
        // (copied or renamed over, or swapped whole) is not the generation CURRENT means.
        let stated = dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(publish::generation_id);
        if let Some(stated) = stated.filter(|s| *s != manifest.snapshot_id) {
            return Err(FormatError::new(
                &dir,
                Problem::ManifestMismatch {
                    what: format!(
                        "the name states snapshot {stated}, its MANIFEST snapshot {}; \
                         was another generation copied or renamed here?",
                        manifest.snapshot_id
                    ),
                },
            ));
        }

        let mut files = Vec::new();
        let mut window = |kind: FileKind| -> Result<Window, FormatError> {
            let path = dir.join(kind.file_name());
            let mapped = map(&path)?;
            check_header(&path, kind, &mapped)?;
            let entry = manifest
                .files
                .iter()
                .find(|f| f.name == kind.file_name())
                .ok_or_else(|| {
                    FormatError::new(
                        &path,
                        Problem::ManifestMismatch {
                            what: "not listed in the manifest".into(),
                        },
                    )
                })?;
            if entry.bytes != mapped.len() as u64 || entry.crc32c != super::header_crc(&mapped) {
                return Err(FormatError::new(
                    &path,
                    Problem::ManifestMismatch {
                        what: format!(
                            "manifest records {} bytes with CRC32C {:08x}, file has {} bytes with CRC32C {:08x}",
                            entry.bytes,
                            entry.crc32c,
                            mapped.len(),
                            super::header_crc(&mapped)
                        ),
                    },
                ));
            }
            let w = Window::new(mapped.clone(), HEADER_LEN, mapped.len());
            files.push((kind, mapped));
            Ok(w)
        };
        let catalog = window(FileKind::Catalog)?;
        let ids_w = window(FileKind::Ids)?;
        // Version 2 added the identifier index; a version 1 manifest does not list it.
        let idix_w = if manifest.format_version >= 2
            || manifest
                .files
                .iter()
                .any(|f| f.name == FileKind::IdIndex.file_name())
        {
            Some(window(FileKind::IdIndex)?)
        } else {
            None
        };
        let names_w = window(FileKind::Names)?;
        let subjects = window(FileKind::Subjects)?;
        let records = window(FileKind::Records)?;
        let events = window(FileKind::Events)?;
        let links_by_person = window(FileKind::LinksByPerson)?;
        let links_by_org = window(FileKind::LinksByOrg)?;
        let strings = window(FileKind::Strings)?;
        let postings = window(FileKind::Postings)?;
        let bitmaps = window(FileKind::Bitmaps)?;

        let catalog_toml = std::str::from_utf8(&catalog)
            .map_err(|_| {
                FormatError::malformed(
                    dir.join(FileKind::Catalog.file_name()),
                    "catalogue is not UTF-8",
                )
            })?
            .to_owned();
        let fst_err = |kind: FileKind| {
            let path = dir.join(kind.file_name());
            move |e: fst::Error| FormatError::malformed(&path, format!("FST: {e}"))
        };
        let ids = fst::Map::new(ids_w).map_err(fst_err(FileKind::Ids))?;
        let names = fst::Map::new(names_w).map_err(fst_err(FileKind::Names))?;

        let snap = Snapshot {
            dir,
            manifest,
            catalog_toml,
            files,
            ids,
            idix: None,
            names,
            subjects,
            records,
            events,
            links_by_person,
            links_by_org,
            strings,
            postings,
            bitmaps,
            strings_utf8: OnceLock::new(),
        };
        snap.check_table_widths()?;
        let snap = match idix_w {
            None => snap,
            Some(w) => {
                let idix = IdIndex::new(w, snap.subject_count())
                    .map_err(|e| FormatError::malformed(snap.path_of(FileKind::IdIndex), e))?;
                Snapshot {
                    idix: Some(idix),
                    ..snap
                }
            }
        };
        Ok(snap)
    }

    fn path_of(&self, kind: FileKind) -> PathBuf {
        self.dir.join(kind.file_name())
    }

    fn check_table_widths(&self) -> Result<(), FormatError> {
        for (kind, w, width) in [
            (FileKind::Subjects, &self.subjects, SubjectRow::LEN),
            (FileKind::Records, &self.records, RecordRow::LEN),
            (FileKind::Events, &self.events, EventRow::LEN),
            (FileKind::LinksByPerson, &self.links_by_person, LinkRow::LEN),
            (FileKind::LinksByOrg, &self.links_by_org, LinkRow::LEN),
            (FileKind::Postings, &self.postings, 4),
        ] {
            if w.len() % width != 0 {
                return Err(FormatError::malformed(
                    self.path_of(kind),
                    format!(
                        "{} bytes is not a whole number of {width}-byte rows",
                        w.len()
                    ),
                ));
            }
        }
        if self.ids.len() != self.subject_count() as usize {
            return Err(FormatError::malformed(
                self.path_of(FileKind::Ids),
                format!(
                    "{} identifiers for {} subjects",
                    self.ids.len(),
                    self.subject_count()
                ),
            ));
        }
        Ok(())
    }

    /// Compares every file's payload with the checksum in its header, reading the whole
    /// snapshot once: what a damaged or altered file fails. [`Snapshot::verify`] does this
    /// and checks the structure as well.
    pub fn verify_checksums(&self) -> Result<(), FormatError> {
        for (kind, mapped) in &self.files {
            verify_payload(&self.path_of(*kind), mapped)?;
        }
        Ok(())
    }

    /// Compares every file's payload with the SHA-256 the manifest records for it, and the
    /// manifest's content digest (and so the snapshot id every answer and receipt names)
    /// with those digests. CRC32C catches damage; this catches a file swapped for another
    /// whose CRC was made to match.
    pub fn verify_digests(&self) -> Result<(), FormatError> {
        use sha2::{Digest, Sha256};
        for (kind, mapped) in &self.files {
            let path = self.path_of(*kind);
            let recorded = self
                .manifest
                .files
                .iter()
                .find(|f| f.name == kind.file_name())
                .map(|f| f.sha256.as_str());
            let found = super::writer::hex(&Sha256::digest(&mapped[HEADER_LEN..]));
            if recorded != Some(found.as_str()) {
                return Err(FormatError::malformed(
                    path,
                    format!(
                        "payload SHA-256 {found} is not the manifest's {}",
                        recorded.unwrap_or("(none)")
                    ),
                ));
            }
        }
        let mut content = Sha256::new();
        for f in &self.manifest.files {
            content.update(format!("{}:{}\n", f.name, f.sha256));
        }
        let content = super::writer::hex(&content.finalize());
        let m = &self.manifest;
        if content != m.content_sha256 || !content.starts_with(m.snapshot_id.as_str()) {
            return Err(FormatError::malformed(
                self.path_of(FileKind::Manifest),
                format!(
                    "the files' digests give content SHA-256 {content}; the manifest says {} \
                     (snapshot id {})",
                    m.content_sha256, m.snapshot_id
                ),
            ));
        }
        Ok(())
    }

    /// Reads every byte: payload checksums and SHA-256 digests, FST checksums, every row's
    /// references in bounds, every identifier mapped to the subject that carries it,
    /// bitmaps readable.
    pub fn verify(&self) -> Result<(), FormatError> {
        self.verify_checksums()?;
        for (kind, map) in [(FileKind::Ids, &self.ids), (FileKind::Names, &self.names)] {
            map.as_fst()
                .verify()
                .map_err(|e| FormatError::malformed(self.path_of(kind), format!("FST: {e}")))?;
        }
        let bad =
            |kind: FileKind, what: String| Err(FormatError::malformed(self.path_of(kind), what));
        // The heap holds nothing but strings, so all of it is UTF-8; checking it in one pass is
        // cheaper than string by string, and lets the check path skip the test afterwards.
        let heap = Utf8Window::new(self.strings.clone()).map_err(|e| {
            FormatError::malformed(
                self.path_of(FileKind::Strings),
                format!("not UTF-8 at byte {}", e.valid_up_to()),
            )
        })?;
        let str_ok = |r: StrRef| heap.get(r.offset(), r.end()).is_some();
        let (n_subj, n_rec, n_ev) = (
            self.subject_count(),
            self.record_count(),
            self.event_count(),
        );

        use fst::Streamer;
        let mut stream = self.ids.stream();
        let mut expected_ord = 0u32;
        while let Some((key, ord)) = stream.next() {
            if ord != expected_ord as u64 {
                return bad(
                    FileKind::Ids,
                    format!("identifier #{expected_ord} maps to ordinal {ord}"),
                );
            }
            let s = self.subject(expected_ord).expect("ordinal below count");
            if key != s.id {
                return bad(
                    FileKind::Subjects,
                    format!("subject {expected_ord} does not carry its identifier"),
                );
            }
            expected_ord += 1;
        }
        let (mut rec_next, mut lp_next, mut lo_next) = (0u32, 0u32, 0u32);
        for ord in 0..n_subj {
            let s = self.subject(ord).expect("ordinal below count");
            if SubjectType::from_code(s.subject_type).is_none() || !str_ok(s.name) {
                return bad(
                    FileKind::Subjects,
                    format!("subject {ord}: bad type or name"),
                );
            }
            if s.rec_start != rec_next {
                return bad(
                    FileKind::Subjects,
                    format!("subject {ord}: records do not follow the previous subject's"),
                );
            }
            rec_next = s
                .rec_start
                .checked_add(s.rec_count)
                .filter(|&e| e <= n_rec)
                .ok_or_else(|| {
                    FormatError::malformed(
                        self.path_of(FileKind::Subjects),
                        format!("subject {ord}: record range out of bounds"),
                    )
                })?;
            let next = if s.subject_type == SubjectType::Person.code() {
                &mut lp_next
            } else {
                &mut lo_next
            };
            if s.link_start != *next {
                return bad(
                    FileKind::Subjects,
                    format!("subject {ord}: links do not follow the previous subject's"),
                );
            }
            *next += s.link_count;
        }
        if rec_next != n_rec {
            return bad(
                FileKind::Records,
                format!("{} records, subjects account for {rec_next}", n_rec),
            );
        }
        if lp_next as usize * LinkRow::LEN != self.links_by_person.len()
            || lo_next as usize * LinkRow::LEN != self.links_by_org.len()
        {
            return bad(
                FileKind::Subjects,
                "link ranges do not cover the link tables".into(),
            );
        }
        let lists = self.manifest.lists.len();
        let mut ev_next = 0u32;
        for i in 0..n_rec {
            let r = self.record(i).expect("index below count");
            let strs = [r.record_id, r.authority, r.doc_no, r.reason, r.subject_name];
            if r.subject >= n_subj || r.list as usize >= lists || !strs.into_iter().all(str_ok) {
                return bad(
                    FileKind::Records,
                    format!("record {i}: subject, list or string out of bounds"),
                );
            }
            if r.event_start != ev_next
                || r.event_start
                    .checked_add(r.event_count)
                    .is_none_or(|e| e > n_ev)
            {
                return bad(
                    FileKind::Records,
                    format!("record {i}: event range out of order or bounds"),
                );
            }
            ev_next += r.event_count;
        }
        for i in 0..n_ev {
            let e = self.event(i).expect("index below count");
            if e.record >= n_rec || !str_ok(e.authority) || !str_ok(e.doc_no) {
                return bad(
                    FileKind::Events,
                    format!("event {i}: record or string out of bounds"),
                );
            }
        }
        for (kind, table) in [
            (FileKind::LinksByPerson, &self.links_by_person),
            (FileKind::LinksByOrg, &self.links_by_org),
        ] {
            for (i, row) in table.chunks_exact(LinkRow::LEN).enumerate() {
                let l = LinkRow::decode(row);
                if l.this >= n_subj
                    || l.other >= n_subj
                    || crate::model::Role::from_code(l.role).is_none()
                {
                    return bad(kind, format!("link {i}: subject or role out of bounds"));
                }
            }
        }
        let mut names = self.names.stream();
        let n_post = (self.postings.len() / 4) as u64;
        while let Some((_, v)) = names.next() {
            let (a, b) = super::layout::posting_range(v);
            if b as u64 > n_post {
                return bad(FileKind::Names, "postings range out of bounds".into());
            }
            if self.posting_slice(a, b).any(|o| o >= n_subj) {
                return bad(
                    FileKind::Postings,
                    "posting names a subject out of bounds".into(),
                );
            }
        }
        if let Some(idix) = &self.idix {
            idix.verify(|ord| self.subject_key(ord))
                .map_err(|e| FormatError::malformed(self.path_of(FileKind::IdIndex), e))?;
        }
        self.named_bitmaps()?;
        let _ = self.strings_utf8.set(heap);
        // Last, so that a structural fault is reported as such rather than as a digest.
        self.verify_digests()
    }

    /// Whether identifiers are looked up in `ids.idx` (format version 2 on) rather than in
    /// `ids.fst`.
    pub fn has_id_index(&self) -> bool {
        self.idix.is_some()
    }

    /// Whether [`Snapshot::verify`] has passed, so strings are borrowed unchecked.
    pub fn strings_verified(&self) -> bool {
        self.strings_utf8.get().is_some()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The snapshot id (short content digest).
    pub fn id(&self) -> &str {
        &self.manifest.snapshot_id
    }

    /// The catalogue the snapshot was built with, as TOML text.
    pub fn catalog_toml(&self) -> &str {
        &self.catalog_toml
    }

    pub fn subject_count(&self) -> u32 {
        (self.subjects.len() / SubjectRow::LEN) as u32
    }

    pub fn record_count(&self) -> u32 {
        (self.records.len() / RecordRow::LEN) as u32
    }

    pub fn event_count(&self) -> u32 {
        (self.events.len() / EventRow::LEN) as u32
    }

    /// The ordinal of a normalised 18-character identifier: from `ids.idx` when the snapshot
    /// has one, else from `ids.fst`.
    #[inline]
    pub fn lookup(&self, id: &[u8]) -> Option<u32> {
        match (&self.idix, <&[u8; KEY_LEN]>::try_from(id)) {
            (Some(idix), Ok(key)) => idix.get(key, |ord| self.subject_key(ord)),
            (Some(_), Err(_)) => None,
            (None, _) => self.lookup_fst(id),
        }
    }

    /// The ordinal of an identifier by `ids.fst` alone (every version has it).
    pub fn lookup_fst(&self, id: &[u8]) -> Option<u32> {
        self.ids.get(id).map(|v| v as u32)
    }

    /// The identifier bytes subject `ord` carries (the first 18 bytes of its row).
    #[inline]
    fn subject_key(&self, ord: u32) -> Option<&[u8]> {
        row(&self.subjects, ord, SubjectRow::LEN).map(|b| &b[..KEY_LEN])
    }

    #[inline]
    pub fn subject(&self, ord: u32) -> Option<SubjectRow> {
        row(&self.subjects, ord, SubjectRow::LEN).map(SubjectRow::decode)
    }

    /// A subject's identifier, borrowed from the mapped table ("" for a bad ordinal).
    #[inline]
    pub fn subject_id(&self, ord: u32) -> &str {
        row(&self.subjects, ord, SubjectRow::LEN)
            .and_then(|b| std::str::from_utf8(&b[..18]).ok())
            .unwrap_or("")
    }

    #[inline]
    pub fn record(&self, index: u32) -> Option<RecordRow> {
        row(&self.records, index, RecordRow::LEN).map(RecordRow::decode)
    }

    #[inline]
    pub fn event(&self, index: u32) -> Option<EventRow> {
        row(&self.events, index, EventRow::LEN).map(EventRow::decode)
    }

    /// A subject's records with their table indices.
    pub fn records_of(&self, s: &SubjectRow) -> impl Iterator<Item = (u32, RecordRow)> + '_ {
        (s.rec_start..s.rec_start.saturating_add(s.rec_count))
            .filter_map(|i| self.record(i).map(|r| (i, r)))
    }

    pub fn events_of(&self, r: &RecordRow) -> impl Iterator<Item = EventRow> + '_ {
        (r.event_start..r.event_start.saturating_add(r.event_count)).filter_map(|i| self.event(i))
    }

    /// A person's roles in organisations, or an organisation's persons, by the subject's type.
    pub fn links_of(&self, s: &SubjectRow) -> impl Iterator<Item = LinkRow> + '_ {
        let table = if s.subject_type == SubjectType::Person.code() {
            &self.links_by_person
        } else {
            &self.links_by_org
        };
        (s.link_start..s.link_start.saturating_add(s.link_count))
            .filter_map(move |i| row(table, i, LinkRow::LEN).map(LinkRow::decode))
    }

    /// A string from the heap; empty when the reference is out of bounds (only possible in
    /// an unverified, damaged snapshot).
    #[inline]
    pub fn str(&self, r: StrRef) -> &str {
        match self.strings_utf8.get() {
            Some(heap) => heap.get(r.offset(), r.end()),
            None => self
                .strings
                .get(r.offset()..r.end())
                .and_then(|b| std::str::from_utf8(b).ok()),
        }
        .unwrap_or("")
    }

    /// The bytes of `strings.heap`, every string of the snapshot (a [`StrRef`] is a range of
    /// them).
    pub fn strings_heap(&self) -> &[u8] {
        &self.strings
    }

    /// The names FST: normalised subject name → postings (see [`Snapshot::posting`]).
    pub fn names(&self) -> &fst::Map<Window> {
        &self.names
    }

    /// The subject ordinals behind a names-FST value.
    pub fn posting(&self, value: u64) -> impl Iterator<Item = u32> + '_ {
        let (a, b) = super::layout::posting_range(value);
        self.posting_slice(a, b)
    }

    fn posting_slice(&self, a: usize, b: usize) -> impl Iterator<Item = u32> + '_ {
        let bytes = self.postings.get(a * 4..b * 4).unwrap_or(&[]);
        bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
    }

    /// Every bitmap (per list code, class and domain), decoded.
    pub fn named_bitmaps(&self) -> Result<Vec<NamedBitmap>, FormatError> {
        let path = self.path_of(FileKind::Bitmaps);
        let b: &[u8] = &self.bitmaps;
        let short = || FormatError::malformed(&path, "entry runs past the end");
        let mut out = Vec::new();
        let mut at = 0usize;
        let count = b.get(0..4).ok_or_else(short)?;
        let count = u32::from_le_bytes(count.try_into().expect("4 bytes"));
        at += 4;
        for _ in 0..count {
            let group = *b.get(at).ok_or_else(short)?;
            if ![BITMAP_LIST, BITMAP_CLASS, BITMAP_DOMAIN].contains(&group) {
                return Err(FormatError::malformed(
                    &path,
                    format!("unknown bitmap group {group}"),
                ));
            }
            let nlen = u16::from_le_bytes(
                b.get(at + 1..at + 3)
                    .ok_or_else(short)?
                    .try_into()
                    .expect("2"),
            ) as usize;
            at += 3;
            let name = std::str::from_utf8(b.get(at..at + nlen).ok_or_else(short)?)
                .map_err(|_| FormatError::malformed(&path, "bitmap name is not UTF-8"))?
                .to_owned();
            at += nlen;
            let blen =
                u32::from_le_bytes(b.get(at..at + 4).ok_or_else(short)?.try_into().expect("4"))
                    as usize;
            at += 4;
            let bytes = b.get(at..at + blen).ok_or_else(short)?;
            let bitmap = RoaringBitmap::deserialize_from(bytes)
                .map_err(|e| FormatError::malformed(&path, format!("bitmap {name}: {e}")))?;
            at += blen;
            out.push(NamedBitmap {
                group,
                name,
                bitmap,
            });
        }
        if at != b.len() {
            return Err(FormatError::malformed(&path, "bytes after the last bitmap"));
        }
        Ok(out)
    }
}

#[inline]
fn row(table: &[u8], index: u32, width: usize) -> Option<&[u8]> {
    let start = index as usize * width;
    table.get(start..start + width)
}

fn map(path: &Path) -> Result<Mapped, FormatError> {
    Mapped::open(path).map_err(|e| FormatError::new(path, Problem::Io(e)))
}
