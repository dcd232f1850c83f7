//! What calamine is not trusted with when it reads a workbook.
//!
//! calamine 0.30 keeps a shared string (`<si>`) only when it finds a `<t>` or a rich-text
//! run `<r>` in it, so an empty item — `<si/>`, which writers other than Excel emit for an
//! empty string — is dropped from its table. Every later item then moves up one place: a
//! cell that refers to item 5 is given item 6's text (a different person's number, in a
//! supplier list), and a cell that refers to the last item indexes past the table's end,
//! which panics. [`repair_shared_strings`] finds such a table before calamine does and
//! rewrites it with one `<t>` per item, so the numbering stays the workbook's.
//!
//! [`guarded`] covers what is left: calamine indexes its tables with numbers taken from the
//! file (a cell's shared-string number, for one), and a malformed workbook must become an
//! error, never a panic on a server thread.

use std::cell::Cell;
use std::io::{BufReader, Cursor, Read, Seek, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

use quick_xml::events::Event;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

/// Where calamine reads the shared strings (matched as calamine does: any case, `\` or `/`).
const SHARED_STRINGS: &str = "xl/sharedStrings.xml";

/// The message for a workbook that made the reader panic.
const MALFORMED: &str = "the workbook is malformed: a cell or part refers to something \
                         the workbook does not hold";

thread_local! {
    /// Set while this thread runs [`guarded`]: its panics are reported as errors instead.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `read` (a calamine read of a workbook), turning a panic into [`MALFORMED`]. The
/// panic's own message is neither printed nor passed on: it is about calamine's indexes,
/// not about the file, and a message of a panic over a string can quote the string, which
/// may be a person's number.
pub fn guarded<T>(read: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    static QUIET_HOOK: Once = Once::new();
    QUIET_HOOK.call_once(|| {
        let earlier = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(Cell::get) {
                earlier(info);
            }
        }));
    });
    let was = GUARDED.with(|g| g.replace(true));
    let result = catch_unwind(AssertUnwindSafe(read));
    GUARDED.with(|g| g.set(was));
    result.unwrap_or_else(|_| Err(MALFORMED.to_string()))
}

/// The workbook in `reader` again, with its shared-string table rewritten, when calamine
/// would drop an item of that table; `None` when calamine reads it right (nearly always),
/// or when the archive or the table cannot be parsed at all, which calamine then reports
/// in its own words. A rewritten workbook is held in memory: its parts are copied as they
/// are compressed, only the table is new.
pub fn repair_shared_strings<R: Read + Seek>(reader: &mut R) -> Result<Option<Vec<u8>>, String> {
    let Ok(mut zip) = ZipArchive::new(&mut *reader) else {
        return Ok(None);
    };
    let Some(name) = zip
        .file_names()
        .find(|n| n.replace('\\', "/").eq_ignore_ascii_case(SHARED_STRINGS))
        .map(str::to_string)
    else {
        return Ok(None);
    };
    // A first reading only looks; the texts are kept only for a table that needs them.
    let mut read = |texts: bool| match zip.by_name(&name) {
        Ok(part) => shared_strings(BufReader::new(part), texts),
        Err(_) => None,
    };
    if !read(false).is_some_and(|t| t.dropped) {
        return Ok(None);
    }
    let Some(table) = read(true) else {
        return Ok(None);
    };
    let table = table.items;
    let fail = |e: zip::result::ZipError| format!("rewriting the shared strings: {e}");
    let mut out = ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..zip.len() {
        let part = zip.by_index_raw(i).map_err(fail)?;
        if part.name() != name {
            out.raw_copy_file(part).map_err(fail)?;
        }
    }
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    out.start_file(SHARED_STRINGS, options).map_err(fail)?;
    out.write_all(&table_xml(&table))
        .map_err(|e| format!("rewriting the shared strings: {e}"))?;
    Ok(Some(out.finish().map_err(fail)?.into_inner()))
}

/// A shared-string table as the workbook means it.
struct Table {
    /// Every item's text, in order: its `<t>` runs, phonetic guides (`<rPh>`) left out;
    /// empty when the texts were not asked for.
    items: Vec<String>,
    /// Whether calamine would leave out an item: one with neither a `<t>` outside a
    /// phonetic guide nor an `<r>`.
    dropped: bool,
}

/// Reads a shared-string table, its texts only when `texts`; `None` when it is not
/// well-formed XML.
fn shared_strings(part: impl std::io::BufRead, texts: bool) -> Option<Table> {
    let mut xml = quick_xml::Reader::from_reader(part);
    let config = xml.config_mut();
    // As calamine reads it, so that `<si/>` and `<t/>` are items like any other.
    config.check_end_names = false;
    config.trim_text(false);
    config.expand_empty_elements = true;
    let mut table = Table {
        items: Vec::new(),
        dropped: false,
    };
    let mut buf = Vec::new();
    // Inside an item: its text so far and whether calamine would keep it.
    let mut item: Option<(String, bool)> = None;
    let mut phonetic = false;
    let mut in_text = false;
    loop {
        buf.clear();
        match xml.read_event_into(&mut buf).ok()? {
            Event::Start(e) => match e.local_name().as_ref() {
                b"si" => item = Some((String::new(), false)),
                b"rPh" => phonetic = true,
                b"r" => {
                    if let Some((_, kept)) = &mut item {
                        *kept = true;
                    }
                }
                b"t" if !phonetic => {
                    in_text = true;
                    if let Some((_, kept)) = &mut item {
                        *kept = true;
                    }
                }
                _ => {}
            },
            Event::End(e) => match e.local_name().as_ref() {
                b"si" => {
                    let (text, kept) = item.take()?;
                    table.dropped |= !kept;
                    if texts {
                        table.items.push(text);
                    }
                }
                b"rPh" => phonetic = false,
                b"t" => in_text = false,
                _ => {}
            },
            Event::Text(t) if in_text && texts => {
                if let Some((text, _)) = &mut item {
                    text.push_str(&t.unescape().ok()?);
                }
            }
            Event::CData(t) if in_text && texts => {
                if let Some((text, _)) = &mut item {
                    text.push_str(std::str::from_utf8(&t).ok()?);
                }
            }
            Event::Eof => return Some(table),
            _ => {}
        }
    }
}

/// A shared-string table with one plain `<t>` per item, which calamine reads item for item.
fn table_xml(items: &[String]) -> Vec<u8> {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<sst \
         xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" count=\"{n}\" \
         uniqueCount=\"{n}\">",
        n = items.len()
    );
    for text in items {
        xml.push_str("<si><t xml:space=\"preserve\">");
        xml.push_str(&quick_xml::escape::escape(text.as_str()));
        xml.push_str("</t></si>");
    }
    xml.push_str("</sst>");
    xml.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(xml: &str) -> Table {
        let t = shared_strings(xml.as_bytes(), true).expect("well-formed");
        let looked = shared_strings(xml.as_bytes(), false).expect("well-formed");
        assert_eq!(looked.dropped, t.dropped);
        assert!(looked.items.is_empty());
        t
    }

    #[test]
    fn every_item_keeps_its_place_and_empty_ones_are_flagged() {
        let t = table(
            "<sst><si><t>a</t></si><si/><si></si><si><t/></si>\
             <si><r><t>b</t></r><r><t xml:space=\"preserve\"> c</t></r></si>\
             <si><t>中</t><rPh><t>ちゅう</t></rPh></si><si><t>x &amp; y</t></si></sst>",
        );
        assert_eq!(t.items, ["a", "", "", "", "b c", "中", "x & y"]);
        assert!(t.dropped);
        // A table calamine reads right is left alone.
        let plain = table("<sst><si><t>a</t></si><si><t/></si><si><r><t>b</t></r></si></sst>");
        assert_eq!(plain.items, ["a", "", "b"]);
        assert!(!plain.dropped);
        // An item that is only a phonetic guide has no text, and calamine drops it.
        assert!(table("<sst><si><rPh><t>x</t></rPh></si></sst>").dropped);
    }

    #[test]
    fn a_rewritten_table_reads_back_item_for_item() {
        let items = ["", "a<b>&\"'", "  spaced  ", "行\n二"].map(String::from);
        let t = table(std::str::from_utf8(&table_xml(&items)).unwrap());
        assert_eq!(t.items, items);
        assert!(!t.dropped);
    }

    #[test]
    fn a_panic_becomes_the_malformed_error() {
        let r: Result<(), String> = guarded(|| {
            let v: Vec<u8> = Vec::new();
            let i = v.len() + 1;
            Err(v[i].to_string())
        });
        assert_eq!(r.unwrap_err(), MALFORMED);
        assert_eq!(guarded(|| Ok::<_, String>(7)), Ok(7));
    }
}
