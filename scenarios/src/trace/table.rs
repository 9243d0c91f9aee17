//! A small CSV layer shared by the importers: header by name, rows with their line
//! numbers, and typed cells whose errors name file, line and column.

use std::borrow::Cow;

use super::error::TraceError;

/// Largest number of whole seconds that fits a `SimTime` in nanoseconds (about 584 years).
pub(crate) const MAX_SECS: u64 = u64::MAX / sim_core::NANOS_PER_SEC;

/// A parsed CSV file: its header and its data rows, borrowing the text.
pub(crate) struct Table<'a> {
    pub path: &'a str,
    pub header: Vec<String>,
    pub rows: Vec<Row>,
    /// Every field of every record (the header's first), row after row: one buffer, not
    /// one per row, so a million-row trace costs one `Cow` per field and one [`Row`] per
    /// row.
    cells: Vec<Cow<'a, str>>,
}

/// One data row: the 1-based line it starts on and where its fields start in the table's
/// cells (a row has exactly as many fields as the header). A field borrows the text unless
/// it was quoted with a doubled `""` inside (a million-row trace then takes a fraction of
/// the memory of a copy of every field).
pub(crate) struct Row {
    pub line: u64,
    first: usize,
}

/// The records of a CSV text: all fields in one buffer, and per record its line and the
/// index of its first field.
struct Records<'t> {
    cells: Vec<Cow<'t, str>>,
    starts: Vec<Row>,
}

impl Records<'_> {
    /// Number of fields of record `i`.
    fn width(&self, i: usize) -> usize {
        let end = self.starts.get(i + 1).map_or(self.cells.len(), |r| r.first);
        self.starts.get(i).map_or(0, |r| end - r.first)
    }
}

impl<'a> Table<'a> {
    /// Read `text`. Blank lines (e.g. a trailing one) are skipped, a missing final newline
    /// is fine, fields are trimmed. Errors on an empty file, a header-only file, a duplicate
    /// column name and a row whose field count differs from the header's.
    /// `expected` is the header to show in an "empty file" error.
    pub fn parse(path: &'a str, text: &'a str, expected: &str) -> Result<Table<'a>, TraceError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let recs = split_records(path, text)?;
        let n = recs.starts.len();
        if n == 0 {
            return Err(TraceError::EmptyFile {
                file: path.to_string(),
                expected: expected.to_string(),
            });
        }
        let width = recs.width(0);
        let bad = (1..n).find(|&i| recs.width(i) != width);
        let found = bad.map_or(0, |i| recs.width(i));
        let Records { mut cells, starts } = recs;
        let header: Vec<String> = cells[..width]
            .iter_mut()
            .map(|c| std::mem::take(c).into_owned())
            .collect();
        let mut seen = std::collections::BTreeSet::new();
        for h in &header {
            if !seen.insert(h.as_str()) {
                return Err(TraceError::DuplicateColumn {
                    file: path.to_string(),
                    column: h.clone(),
                });
            }
        }
        if let Some(bad) = bad {
            return Err(TraceError::FieldCount {
                file: path.to_string(),
                line: starts[bad].line,
                found,
                expected: header.len(),
                header: header.join(","),
            });
        }
        let mut rows = starts;
        rows.remove(0);
        if rows.is_empty() {
            return Err(TraceError::NoRows {
                file: path.to_string(),
            });
        }
        Ok(Table {
            path,
            header,
            rows,
            cells,
        })
    }

    /// Index of column `name`, if present.
    pub fn col(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// Indices of all `names`, in order; otherwise an error naming every missing one.
    pub fn require(&self, names: &[&str], expected: &str) -> Result<Vec<usize>, TraceError> {
        let missing: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| self.col(n).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(TraceError::MissingColumns {
                file: self.path.to_string(),
                missing: missing
                    .iter()
                    .map(|m| format!("'{m}'"))
                    .collect::<Vec<_>>()
                    .join(", "),
                expected: expected.to_string(),
                found: self.header.join(","),
            });
        }
        Ok(names.iter().filter_map(|n| self.col(n)).collect())
    }

    /// The cell of `row` in column `idx`.
    pub fn cell<'r>(&'r self, row: &'r Row, idx: usize) -> Cell<'r> {
        let text = if idx < self.header.len() {
            self.cells.get(row.first + idx).map_or("", |f| f.as_ref())
        } else {
            ""
        };
        Cell {
            file: self.path,
            line: row.line,
            name: self.header.get(idx).map_or("?", String::as_str),
            text,
        }
    }
}

/// Split CSV text (RFC 4180: `,` separators, `"` quotes with `""` escapes, LF or CRLF
/// line ends) into records, each with the 1-based line it starts on. Blank lines are
/// skipped but counted; unquoted fields are trimmed; a missing final newline is fine.
/// (The `csv` crate is not used here because its record positions do not count skipped
/// blank lines or CRLF line ends, and error messages must give the line an editor shows.)
fn split_records<'t>(path: &str, text: &'t str) -> Result<Records<'t>, TraceError> {
    let b = text.as_bytes();
    let len = b.len();
    let csv_err = |line: u64, message: &str| TraceError::Csv {
        file: path.to_string(),
        line,
        message: message.to_string(),
    };
    let mut cells = Vec::new();
    let mut starts = Vec::new();
    let mut i = 0;
    let mut line: u64 = 1;
    while i < len {
        let start_line = line;
        let first = cells.len();
        let mut blank = true;
        loop {
            let mut j = i;
            while b.get(j).is_some_and(|&c| c == b' ' || c == b'\t') {
                j += 1;
            }
            if b.get(j) == Some(&b'"') {
                blank = false;
                let quote_line = line;
                let mut field: Cow<'t, str> = Cow::Borrowed("");
                j += 1;
                loop {
                    let Some(k) = b[j..].iter().position(|&c| c == b'"').map(|k| j + k) else {
                        return Err(csv_err(
                            quote_line,
                            "unterminated quoted field (a '\"' is never closed)",
                        ));
                    };
                    let chunk = &text[j..k];
                    line += chunk.bytes().filter(|&c| c == b'\n').count() as u64;
                    if field.is_empty() {
                        field = Cow::Borrowed(chunk);
                    } else {
                        field.to_mut().push_str(chunk);
                    }
                    if b.get(k + 1) == Some(&b'"') {
                        field.to_mut().push('"');
                        j = k + 2;
                    } else {
                        j = k + 1;
                        break;
                    }
                }
                while b.get(j).is_some_and(|&c| c == b' ' || c == b'\t') {
                    j += 1;
                }
                if b.get(j)
                    .is_some_and(|&c| !matches!(c, b',' | b'\n' | b'\r'))
                {
                    return Err(csv_err(
                        line,
                        "unexpected text after the closing '\"' of a quoted field",
                    ));
                }
                cells.push(field);
                i = j;
            } else {
                let k = b[i..]
                    .iter()
                    .position(|&c| matches!(c, b',' | b'\n' | b'\r'))
                    .map_or(len, |k| i + k);
                let field = text[i..k].trim();
                if !field.is_empty() {
                    blank = false;
                }
                cells.push(Cow::Borrowed(field));
                i = k;
            }
            match b.get(i) {
                None => break,
                Some(b',') => {
                    blank = false;
                    i += 1;
                }
                Some(b'\r') => {
                    i += if b.get(i + 1) == Some(&b'\n') { 2 } else { 1 };
                    line += 1;
                    break;
                }
                Some(_) => {
                    i += 1;
                    line += 1;
                    break;
                }
            }
        }
        if blank {
            cells.truncate(first);
        } else {
            starts.push(Row {
                line: start_line,
                first,
            });
        }
    }
    Ok(Records { cells, starts })
}

/// One field of one row, with what is needed to report it.
#[derive(Clone, Copy)]
pub(crate) struct Cell<'r> {
    pub file: &'r str,
    pub line: u64,
    pub name: &'r str,
    pub text: &'r str,
}

impl<'r> Cell<'r> {
    /// The error "found <text>, expected <expected>" for this cell.
    pub fn error(&self, expected: impl Into<String>) -> TraceError {
        TraceError::Field {
            file: self.file.to_string(),
            line: self.line,
            field: self.name.to_string(),
            found: self.text.to_string(),
            expected: expected.into(),
        }
    }

    pub fn non_empty(&self, expected: &str) -> Result<&'r str, TraceError> {
        if self.text.is_empty() {
            Err(self.error(expected))
        } else {
            Ok(self.text)
        }
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// A non-negative decimal integer (digits only).
    pub fn u64(&self) -> Result<u64, TraceError> {
        let bad = || self.error("a non-negative integer");
        if self.text.is_empty() || !self.text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        self.text
            .parse::<u64>()
            .map_err(|_| self.error(format!("a non-negative integer up to {}", u64::MAX)))
    }

    pub fn u32(&self) -> Result<u32, TraceError> {
        let v = self.u64()?;
        u32::try_from(v)
            .map_err(|_| self.error(format!("a non-negative integer up to {}", u32::MAX)))
    }

    /// A CPU (millicores) or memory (MiB) quantity, at most `models::MAX_QUANTITY` so
    /// that no sum of them can wrap.
    pub fn quantity(&self) -> Result<u64, TraceError> {
        let v = self.u64()?;
        if v > models::MAX_QUANTITY {
            return Err(self.error(format!(
                "a non-negative integer up to {} (2^40)",
                models::MAX_QUANTITY
            )));
        }
        Ok(v)
    }

    /// A job's whole GPUs, split into pods of at most `max_per_pod` GPUs: at most
    /// `models::MAX_PODS_PER_JOB` pods.
    pub fn job_gpus(&self, max_per_pod: u32) -> Result<u32, TraceError> {
        let v = self.u32()?;
        let max = u64::from(models::MAX_PODS_PER_JOB) * u64::from(max_per_pod.max(1));
        if u64::from(v) > max {
            return Err(self.error(format!(
                "at most {max} GPUs ({} pods of max_gpus_per_pod {max_per_pod})",
                models::MAX_PODS_PER_JOB
            )));
        }
        Ok(v)
    }

    /// Whole seconds that fit a `SimTime`.
    pub fn secs(&self) -> Result<u64, TraceError> {
        let v = self.u64()?;
        if v > MAX_SECS {
            return Err(self.error(format!("a number of seconds up to {MAX_SECS}")));
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_and_fields(text: &str) -> Vec<(u64, Vec<String>)> {
        match split_records("t.csv", text) {
            Ok(recs) => (0..recs.starts.len())
                .map(|i| {
                    let r = &recs.starts[i];
                    let fields = &recs.cells[r.first..r.first + recs.width(i)];
                    (r.line, fields.iter().map(|f| f.to_string()).collect())
                })
                .collect(),
            Err(e) => panic!("{e}"),
        }
    }

    fn v(fields: &[&str]) -> Vec<String> {
        fields.iter().map(|f| f.to_string()).collect()
    }

    #[test]
    fn line_numbers_count_blank_lines_and_crlf() {
        assert_eq!(
            lines_and_fields("h,x\na,1\n\n  \nb, 2 \r\n\r\nc,3"),
            vec![
                (1, v(&["h", "x"])),
                (2, v(&["a", "1"])),
                (5, v(&["b", "2"])),
                (7, v(&["c", "3"]))
            ]
        );
        assert_eq!(
            lines_and_fields("h\na\n\n"),
            vec![(1, v(&["h"])), (2, v(&["a"]))]
        );
        assert_eq!(lines_and_fields(""), vec![]);
        assert_eq!(
            lines_and_fields("a,,\n,\n"),
            vec![(1, v(&["a", "", ""])), (2, v(&["", ""]))]
        );
    }

    #[test]
    fn quoted_fields() {
        assert_eq!(
            lines_and_fields("h,x\n\"a, \"\"b\"\"\nc\",1\nd,\"\"\n"),
            vec![
                (1, v(&["h", "x"])),
                (2, v(&["a, \"b\"\nc", "1"])),
                (4, v(&["d", ""]))
            ]
        );
        let e = split_records("t.csv", "h\n\"abc\nd\n")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("t.csv:2: malformed CSV: unterminated quoted field (a '\"' is never closed)")
        );
        let e = split_records("t.csv", "h\n\"a\"b,1\n")
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.starts_with("t.csv:2: malformed CSV: unexpected text")));
    }

    /// Rows share one buffer of fields: each row's cells are its own, with its line.
    #[test]
    fn cells_of_each_row() {
        let t = match Table::parse("t.csv", "a, b\n1,\"x\"\"y\"\n\n 3 ,4\n", "a,b") {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(t.header, v(&["a", "b"]));
        let got: Vec<(u64, String, String)> = t
            .rows
            .iter()
            .map(|r| {
                (
                    r.line,
                    t.cell(r, 0).text.to_string(),
                    t.cell(r, 1).text.to_string(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (2, "1".to_string(), "x\"y".to_string()),
                (4, "3".to_string(), "4".to_string())
            ]
        );
        assert_eq!(t.cell(&t.rows[0], 2).text, "", "no column 2");
        let e = Table::parse("t.csv", "a,a\n1\n", "a,a")
            .err()
            .map(|e| e.to_string());
        // The duplicate column is reported before the short row below it, as before.
        assert_eq!(
            e.as_deref(),
            Some("t.csv:1: column 'a' appears more than once in the header")
        );
    }

    #[test]
    fn byte_order_mark_and_field_count() {
        let t = Table::parse("t.csv", "\u{feff}a,b\n1,2\n", "a,b").map(|t| t.header);
        assert_eq!(t.ok(), Some(v(&["a", "b"])));
        let e = Table::parse("t.csv", "a,b\n1,2\n\n3\n", "a,b")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("t.csv:4: wrong number of fields: found 1, expected 2 (header `a,b`)")
        );
    }
}
