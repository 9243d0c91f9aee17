//! Errors of the trace importers. Every message starts with `file:line:` (1-based, the
//! header is line 1) so an editor can jump to the offending row.

/// Why a trace file could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceError {
    /// One field of one row does not hold what the format expects.
    #[error("{file}:{line}: field '{field}': found \"{}\", expected {expected}", clip(.found))]
    Field {
        file: String,
        line: u64,
        field: String,
        found: String,
        expected: String,
    },

    /// The file has no header line at all.
    #[error("{file}: empty file: expected the header line `{expected}` and at least one data row")]
    EmptyFile { file: String, expected: String },

    /// The file has a header but no data rows.
    #[error("{file}: no data rows: the file has only its header (line 1)")]
    NoRows { file: String },

    /// Philly: the virtual-cluster filter kept no row.
    #[error(
        "{file}: no rows with cluster {vc:?} (the Philly virtual-cluster filter); clusters in the file: {}", clip(.available)
    )]
    NoRowsForVc {
        file: String,
        vc: String,
        available: String,
    },

    /// Required columns are missing from the header (or the header is not a header).
    #[error(
        "{file}:1: header is missing column(s) {missing}; expected a header like `{expected}`, found `{}`", clip(.found)
    )]
    MissingColumns {
        file: String,
        missing: String,
        expected: String,
        found: String,
    },

    /// The header is another format's (e.g. a Pollux workload read as `philly`).
    #[error("{file}:1: this is a {suggest} file (header `{}`), not {format}: use `format: {suggest}`", clip(.found))]
    OtherFormat {
        file: String,
        format: String,
        suggest: String,
        found: String,
    },

    /// The same column name appears twice in the header.
    #[error("{file}:1: column '{}' appears more than once in the header", clip(.column))]
    DuplicateColumn { file: String, column: String },

    /// orrery-csv: a column that the format does not know (typo protection).
    #[error("{file}:1: unknown column '{}'; valid columns are: {valid}", clip(.column))]
    UnknownColumn {
        file: String,
        column: String,
        valid: String,
    },

    /// A row has more or fewer fields than the header.
    #[error(
        "{file}:{line}: wrong number of fields: found {found}, expected {expected} (header `{}`)", clip(.header)
    )]
    FieldCount {
        file: String,
        line: u64,
        found: usize,
        expected: usize,
        header: String,
    },

    /// Two rows carry the same id.
    #[error("{file}:{line}: duplicate {what} \"{}\": already used on line {first_line}", clip(.id))]
    Duplicate {
        file: String,
        what: &'static str,
        id: String,
        line: u64,
        first_line: u64,
    },

    /// An openb pod list in the 5-column layout of the `multigpu*` files.
    #[error(
        "{file}:1: this is the 5-column openb pod layout (`name,cpu_milli,memory_mib,num_gpu,gpu_milli`, as in the openb_pod_list_multigpu* files): it has no creation/deletion times, so it cannot be replayed; use a pod list with creation_time, deletion_time and scheduled_time columns (e.g. openb_pod_list_default.csv)"
    )]
    OpenbNoTimes { file: String },

    /// The CSV reader itself failed (e.g. an unterminated quote).
    #[error("{file}:{line}: malformed CSV: {message}")]
    Csv {
        file: String,
        line: u64,
        message: String,
    },

    /// A trace format name that is not known.
    #[error("unknown trace format {name:?}; valid formats are: {valid}")]
    UnknownFormat { name: String, valid: String },

    /// An import option that cannot be used.
    #[error("invalid import option: {0}")]
    InvalidOption(String),
}

/// File content quoted in a message: at most 80 characters, control characters and quotes
/// escaped, so an error never dumps a long or binary line of whatever file was named.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 80;
    let mut out: String = s
        .chars()
        .take(MAX)
        .flat_map(|c| {
            if c.is_control() || c == '"' || c == '\\' {
                c.escape_debug().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    if s.chars().nth(MAX).is_some() {
        out.push_str("...");
    }
    out
}
