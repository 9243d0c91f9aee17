//! A minimal reader for the artefact's CSV files (comma-separated, no quoting, header line).
//!
//! The openb traces and the expected-results files never quote fields; a quote character is
//! rejected with an error rather than misread.

use super::error::FgdError;

/// One CSV file split into a header and records, with line numbers for errors.
pub struct Table<'a> {
    pub file: String,
    header: Vec<&'a str>,
    rows: Vec<(usize, Vec<&'a str>)>,
}

impl<'a> Table<'a> {
    pub fn parse(file: &str, text: &'a str) -> Result<Self, FgdError> {
        let mut lines = text.lines().enumerate();
        let header = loop {
            match lines.next() {
                None => {
                    return Err(FgdError::Empty {
                        file: file.to_string(),
                    });
                }
                Some((_, l)) => {
                    let l = l.trim_end_matches('\r').trim_start_matches('\u{feff}');
                    if !l.trim().is_empty() {
                        break l.split(',').map(str::trim).collect::<Vec<_>>();
                    }
                }
            }
        };
        let mut rows = Vec::new();
        for (i, l) in lines {
            let l = l.trim_end_matches('\r');
            if l.trim().is_empty() {
                continue;
            }
            if l.contains('"') {
                return Err(FgdError::Parse {
                    file: file.to_string(),
                    line: i + 1,
                    field: "(record)".into(),
                    msg: "quoted fields are not supported".into(),
                });
            }
            let fields: Vec<&str> = l.split(',').collect();
            if fields.len() != header.len() {
                return Err(FgdError::Parse {
                    file: file.to_string(),
                    line: i + 1,
                    field: "(record)".into(),
                    msg: format!("{} fields, header has {}", fields.len(), header.len()),
                });
            }
            rows.push((i + 1, fields));
        }
        Ok(Table {
            file: file.to_string(),
            header,
            rows,
        })
    }

    /// Index of a required column.
    pub fn col(&self, name: &str) -> Result<usize, FgdError> {
        self.header
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| FgdError::MissingColumn {
                file: self.file.clone(),
                column: name.to_string(),
            })
    }

    /// Index of an optional column.
    pub fn opt_col(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| *h == name)
    }

    pub fn rows(&self) -> impl Iterator<Item = Row<'_, 'a>> {
        self.rows.iter().map(move |(line, f)| Row {
            table: self,
            line: *line,
            fields: f,
        })
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }
}

/// One record, with typed accessors whose errors name file, line and field.
pub struct Row<'t, 'a> {
    table: &'t Table<'a>,
    pub line: usize,
    fields: &'t [&'a str],
}

impl<'a> Row<'_, 'a> {
    pub fn str(&self, col: usize) -> &'a str {
        self.fields[col].trim()
    }

    pub fn err(&self, col: usize, msg: impl Into<String>) -> FgdError {
        FgdError::Parse {
            file: self.table.file.clone(),
            line: self.line,
            field: self.table.header[col].to_string(),
            msg: msg.into(),
        }
    }

    pub fn i64(&self, col: usize) -> Result<i64, FgdError> {
        let s = self.str(col);
        s.parse::<i64>()
            .map_err(|e| self.err(col, format!("`{s}` is not an integer ({e})")))
    }

    pub fn f64(&self, col: usize) -> Result<f64, FgdError> {
        let s = self.str(col);
        if s.is_empty() || s.eq_ignore_ascii_case("nan") {
            return Ok(f64::NAN);
        }
        s.parse::<f64>()
            .map_err(|e| self.err(col, format!("`{s}` is not a number ({e})")))
    }
}
