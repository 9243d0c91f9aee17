//! A fast reader for the plain block-style YAML that `kubectl get -o yaml` prints, into the
//! same `serde_json::Value` that `serde_saphyr` builds — or nothing.
//!
//! ResourceSlices of large GPU nodes run to megabytes (64 HGX H100 nodes with their MIG
//! partitions are 6 MB), and a general YAML parser reads them at about 10 MB/s here. This
//! reader takes only the subset `kubectl` prints: block mappings and sequences (also a
//! sequence at its key's indentation), one-line plain, single- and double-quoted scalars,
//! `{}` and `[]`. For anything else it returns `None` and the caller reads the document
//! with `serde_saphyr` as before, so every error keeps its line, column and text: tabs,
//! any non-ASCII byte or control character, a comment after content (a whole-line comment
//! is skipped), anchors, aliases, tags, flow collections, block scalars, multi-line
//! scalars, duplicate keys, complex or unusual keys, escapes other than `\\ \" \/ \n \t`,
//! deep nesting or a very large document.
//!
//! A plain scalar is resolved (null, bool, integer, float or string) by `serde_saphyr`
//! itself, once per distinct text ([`Scalars`]); only a text that cannot be anything but
//! a string (longer than any YAML 1.1 null or bool word, starting with a letter, made of
//! letters, digits, spaces and `._/:-`) is taken as a string directly. A property test
//! (`tests` below) compares this reader with `serde_saphyr` on random documents.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// Plain scalars already resolved through `serde_saphyr`, by their text.
#[derive(Debug, Default)]
pub struct Scalars {
    seen: HashMap<String, Value>,
}

impl Scalars {
    pub fn new() -> Scalars {
        Scalars::default()
    }

    fn resolve(&mut self, text: &str) -> Option<Value> {
        if is_surely_string(text) {
            return Some(Value::String(text.to_string()));
        }
        if let Some(v) = self.seen.get(text) {
            return Some(v.clone());
        }
        let mut doc: Value = serde_saphyr::from_str(&format!("k: {text}\n")).ok()?;
        let Value::Object(map) = &mut doc else {
            return None;
        };
        if map.len() != 1 {
            return None;
        }
        let v = map.remove("k")?;
        // The cache is bounded by the document's own distinct scalars.
        self.seen.insert(text.to_string(), v.clone());
        Some(v)
    }
}

/// Text that `serde_saphyr` reads as exactly this string wherever a plain scalar stands:
/// too long for a YAML 1.1 bool or null word (`false` is the longest), not starting like
/// a number, and free of anything YAML reads specially.
fn is_surely_string(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() > 5
        && b[0].is_ascii_alphabetic()
        && b.iter().all(|&c| {
            c.is_ascii_alphanumeric() || matches!(c, b' ' | b'.' | b'_' | b'/' | b':' | b'-')
        })
        && !text.contains(": ")
        && !text.ends_with(':')
}

/// The most nodes (mappings, sequences, scalars; and here whole-line comments) of one
/// document; the manifest reader gives `serde_saphyr` the same budget. Documents of more
/// nodes, nested deeper than [`MAX_DEPTH`] (`serde_saphyr`: 64), or larger than
/// [`MAX_DOC_BYTES`] (`serde_saphyr` caps scalar and comment text at 64 MiB each) are
/// left to `serde_saphyr`, which then applies its own limits.
pub const MAX_NODES: usize = 10_000_000;
const MAX_DEPTH: usize = 32;
const MAX_KEY_BYTES: usize = 256;
const MAX_DOC_BYTES: usize = 64 << 20;

#[derive(Clone, Copy)]
struct Line<'a> {
    /// 1-based, in the document.
    number: usize,
    indent: usize,
    /// Without the indentation and trailing spaces; never empty.
    text: &'a str,
}

/// Reads one document (no `---` markers), or `None` if it is not in the subset.
pub fn read(doc: &str, scalars: &mut Scalars) -> Option<Value> {
    read_with_items(doc, scalars).map(|(v, _)| v)
}

/// [`read`], and the line (1-based, in the document) where each element of the
/// top-level `items` sequence starts (a `kind: List` document), as `serde_saphyr`'s
/// `Spanned` gives it.
pub fn read_with_items(doc: &str, scalars: &mut Scalars) -> Option<(Value, Vec<usize>)> {
    if doc.len() > MAX_DOC_BYTES
        || doc
            .bytes()
            .any(|c| !(c == b'\n' || (b' '..=b'~').contains(&c)))
    {
        return None;
    }
    let mut lines = Vec::new();
    let mut comments = 0;
    for (i, raw) in doc.split('\n').enumerate() {
        let t = raw.trim_end_matches(' ');
        let text = t.trim_start_matches(' ');
        if text.starts_with('#') {
            // A whole-line comment; a comment after content is left to serde_saphyr.
            comments += 1;
            continue;
        }
        if text.is_empty() {
            continue;
        }
        if text.contains('#') {
            return None;
        }
        lines.push(Line {
            number: i + 1,
            indent: t.len() - text.len(),
            text,
        });
    }
    let first = lines.first()?;
    if first.indent != 0 || is_item(first.text) {
        return None;
    }
    let mut r = Reader {
        lines,
        at: 0,
        nodes: comments,
        scalars,
        record_items: false,
        item_lines: Vec::new(),
    };
    let v = r.mapping(0, 1)?;
    (r.at == r.lines.len()).then_some((v, r.item_lines))
}

fn is_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

enum Split<'a> {
    Entry(String, &'a str),
    Scalar,
}

struct Reader<'a, 's> {
    lines: Vec<Line<'a>>,
    at: usize,
    nodes: usize,
    scalars: &'s mut Scalars,
    /// The next sequence is the top-level `items`: record its elements' lines.
    record_items: bool,
    item_lines: Vec<usize>,
}

impl<'a> Reader<'a, '_> {
    fn count(&mut self, depth: usize) -> Option<()> {
        self.nodes += 1;
        (self.nodes <= MAX_NODES && depth <= MAX_DEPTH).then_some(())
    }

    /// The block node starting at the current line (at `indent`).
    fn node(&mut self, indent: usize, depth: usize) -> Option<Value> {
        let line = self.lines[self.at];
        if is_item(line.text) {
            self.sequence(indent, depth)
        } else {
            self.mapping(indent, depth)
        }
    }

    fn mapping(&mut self, indent: usize, depth: usize) -> Option<Value> {
        self.count(depth)?;
        let mut map = Map::new();
        while let Some(&line) = self.lines.get(self.at) {
            if line.indent < indent {
                break;
            }
            if line.indent > indent || is_item(line.text) {
                return None;
            }
            let Split::Entry(key, rest) = split(line.text)? else {
                return None;
            };
            self.at += 1;
            self.record_items = depth == 1 && key == "items";
            let value = self.value(rest, indent, depth + 1)?;
            self.record_items = false;
            if map.contains_key(&key) {
                return None;
            }
            map.insert(key, value);
        }
        Some(Value::Object(map))
    }

    /// The value of a mapping entry whose key stands at `indent`; `rest` is what follows
    /// the key's colon on its line.
    fn value(&mut self, rest: &str, indent: usize, depth: usize) -> Option<Value> {
        if !rest.is_empty() {
            return self.inline(rest, indent, depth);
        }
        match self.lines.get(self.at) {
            Some(next) if next.indent > indent => self.node(next.indent, depth),
            Some(next) if next.indent == indent && is_item(next.text) => {
                self.sequence(indent, depth)
            }
            _ => {
                self.count(depth)?;
                Some(Value::Null)
            }
        }
    }

    fn sequence(&mut self, indent: usize, depth: usize) -> Option<Value> {
        self.count(depth)?;
        let record = std::mem::take(&mut self.record_items);
        let mut items = Vec::new();
        while let Some(&line) = self.lines.get(self.at) {
            if line.indent < indent || (line.indent == indent && !is_item(line.text)) {
                break;
            }
            if line.indent > indent || line.text == "-" {
                return None;
            }
            let after = &line.text[2..];
            let item = after.trim_start_matches(' ');
            if is_item(item) {
                return None;
            }
            if record {
                self.item_lines.push(line.number);
            }
            match split(item)? {
                Split::Entry(..) => {
                    // `- key: value`: a mapping whose keys stand at the column of `key`.
                    let column = indent + 2 + (after.len() - item.len());
                    self.lines[self.at] = Line {
                        number: line.number,
                        indent: column,
                        text: item,
                    };
                    items.push(self.mapping(column, depth + 1)?);
                }
                Split::Scalar => {
                    self.at += 1;
                    items.push(self.inline(item, indent, depth + 1)?);
                }
            }
        }
        Some(Value::Array(items))
    }

    /// A one-line scalar (or `{}`, `[]`) of a node at `indent`: the next line must not be
    /// more indented (that would continue a multi-line scalar).
    fn inline(&mut self, text: &str, indent: usize, depth: usize) -> Option<Value> {
        self.count(depth)?;
        if self.lines.get(self.at).is_some_and(|l| l.indent > indent) {
            return None;
        }
        let v = match text.as_bytes()[0] {
            b'\'' | b'"' => {
                let (s, len) = quoted(text)?;
                if len != text.len() {
                    return None;
                }
                Value::String(s)
            }
            _ if text == "{}" => Value::Object(Map::new()),
            _ if text == "[]" => Value::Array(Vec::new()),
            b'-' if text.len() == 1 || text.as_bytes()[1] == b' ' => return None,
            b'[' | b']' | b'{' | b'}' | b'&' | b'*' | b'!' | b'|' | b'>' | b'%' | b'@' | b'`'
            | b',' | b'?' | b':' => return None,
            _ => {
                if text.contains(": ") || text.ends_with(':') {
                    return None;
                }
                self.scalars.resolve(text)?
            }
        };
        Some(v)
    }
}

/// A mapping entry (`key: rest`, `key:`) or a scalar; `None` for a key outside the subset.
fn split(text: &str) -> Option<Split<'_>> {
    if text.starts_with(['\'', '"']) {
        let (key, len) = quoted(text)?;
        let after = &text[len..];
        if after.is_empty() {
            return Some(Split::Scalar);
        }
        let rest = after.strip_prefix(':')?;
        if !(rest.is_empty() || rest.starts_with(' ')) || key.len() > MAX_KEY_BYTES {
            return None;
        }
        return Some(Split::Entry(key, rest.trim_start_matches(' ')));
    }
    let colon = text
        .match_indices(':')
        .map(|(i, _)| i)
        .find(|&i| matches!(text.as_bytes().get(i + 1), None | Some(b' ')));
    let Some(colon) = colon else {
        return Some(Split::Scalar);
    };
    let key = &text[..colon];
    let plain_key = !key.is_empty()
        && key.len() <= MAX_KEY_BYTES
        && key.as_bytes()[0].is_ascii_alphanumeric()
        && key
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'/' | b'-'))
        && !matches!(key, "null" | "Null" | "NULL");
    if !plain_key {
        return None;
    }
    Some(Split::Entry(
        key.to_string(),
        text[colon + 1..].trim_start_matches(' '),
    ))
}

/// A quoted scalar at the start of `text`: its value and its length in `text`.
fn quoted(text: &str) -> Option<(String, usize)> {
    let b = text.as_bytes();
    let q = b[0];
    let mut out = String::new();
    let mut i = 1;
    let mut from = 1;
    while i < b.len() {
        match b[i] {
            c if c == q && q == b'\'' => {
                out.push_str(&text[from..i]);
                if b.get(i + 1) == Some(&b'\'') {
                    out.push('\'');
                    i += 2;
                    from = i;
                    continue;
                }
                return Some((out, i + 1));
            }
            c if c == q => {
                out.push_str(&text[from..i]);
                return Some((out, i + 1));
            }
            b'\\' if q == b'"' => {
                out.push_str(&text[from..i]);
                out.push(match b.get(i + 1)? {
                    b'\\' => '\\',
                    b'"' => '"',
                    b'/' => '/',
                    b'n' => '\n',
                    b't' => '\t',
                    _ => return None,
                });
                i += 2;
                from = i;
            }
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn saphyr(doc: &str) -> Option<Value> {
        serde_saphyr::from_str::<Value>(doc).ok()
    }

    fn fast(doc: &str) -> Option<Value> {
        read(doc, &mut Scalars::new())
    }

    #[test]
    fn reads_what_kubectl_prints() {
        let doc = "apiVersion: resource.k8s.io/v1\nkind: ResourceSlice\nmetadata:\n  name: n-gpu\n  \
                   labels: {}\nspec:\n  devices:\n  - attributes:\n      index:\n        int: 0\n      \
                   pcieBusID:\n        string: \"0000:18:00.0\"\n      productName:\n        string: NVIDIA H100 80GB HBM3\n    \
                   capacity:\n      memory:\n        value: 81559Mi\n    name: gpu-0\n  - name: 'it''s'\n  \
                   nodeName: n\n  pool:\n    generation: 1\n    name: n\n    resourceSliceCount: 1\n  \
                   tags:\n  - a\n  - \"b\\\\c\"\n  - -1\n  - yes\n  - ~\n  empty:\n";
        let want = saphyr(doc).expect("valid YAML");
        assert_eq!(fast(doc), Some(want.clone()));
        assert_eq!(want["spec"]["tags"][3], Value::Bool(true));
        assert_eq!(want["spec"]["devices"][0]["attributes"]["index"]["int"], 0);
    }

    #[test]
    fn leaves_the_rest_to_serde_saphyr() {
        for doc in [
            "a: 1\na: 2\n",           // duplicate key (an error there)
            "a: b # c\n",             // comment
            "a: &x 1\nb: *x\n",       // anchor, alias
            "a: !!str 1\n",           // tag
            "a: [1, 2]\n",            // flow sequence
            "a: {b: 1}\n",            // flow mapping
            "a: |\n  x\n",            // block scalar
            "a: x\n  y\n",            // multi-line plain scalar
            "a: \"x\n  y\"\n",        // multi-line quoted scalar
            "a:\t1\n",                // tab
            "a: \"\\u00e9\"\n",       // escape outside the subset
            "a: é\n",                 // non-ASCII
            "- a\n- b\n",             // not a mapping
            "a:\n    b: 1\n  c: 2\n", // bad indentation
            "a b: 1\n",               // key outside the subset
            "null: 1\n",              // null key (an error there)
            "a: b: c\n",              // an error there
            "a: - b\n",               // an error there
            "<<: {x: 1}\n",           // merge key
            "a:\n- - 1\n",            // nested compact sequence
        ] {
            assert_eq!(fast(doc), None, "{doc:?}");
        }
    }

    /// Every document of the repository's manifests (kubectl output and hand-written).
    #[test]
    fn agrees_with_serde_saphyr_on_the_bundled_manifests() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let mut answered = 0;
        for dir in ["dra", "tests/dra"] {
            let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
                .expect("scenarios folder")
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
                .collect();
            files.sort();
            for f in files {
                let text = std::fs::read_to_string(&f).expect("readable");
                for (_, doc) in crate::dra::manifests::split_documents(&text) {
                    if let Some(got) = fast(&doc) {
                        answered += 1;
                        assert_eq!(Some(got), saphyr(&doc), "{}: {doc}", f.display());
                    }
                }
            }
        }
        // Most of them are hand-written with flow mappings (`{string: gpu}`), left to
        // serde_saphyr; the plain block ones are read here.
        assert!(answered > 0, "answered {answered}");
    }

    /// Random documents in (and around) the subset: wherever the fast reader answers, its
    /// value is `serde_saphyr`'s; and it answers for most of them.
    #[test]
    fn agrees_with_serde_saphyr_on_random_documents() {
        const TOKENS: &[&str] = &[
            "0",
            "7",
            "-1",
            "+1",
            "01",
            "007",
            "0x1f",
            "0X1F",
            "0o17",
            "0b11",
            "1_000",
            "1.5",
            "1e3",
            ".5",
            "-.5",
            ".inf",
            ".nan",
            "~",
            "null",
            "Null",
            "NULL",
            "nUll",
            "true",
            "tRue",
            "yes",
            "No",
            "on",
            "OFF",
            "y",
            "n",
            "0000:2a:00.0",
            "190:20:30",
            "12:30",
            "2001-12-14",
            "81559Mi",
            "9.0.0",
            "1.",
            "1e",
            "18446744073709551616",
            "-9223372036854775809",
            "-0",
            "nan",
            "NaN",
            "inf",
            "Infinity",
            "a  b",
            "a b",
            "pci0000:15",
            "GPU-4a1c6b2e",
            "--",
            "-a",
            "a-",
            "e3",
            "0e0",
            "x:y",
            "http://x/y",
            "gpu.nvidia.com",
            "NVIDIA H100 80GB HBM3",
            "memorySlice0",
            "=",
            "a,b",
            "a[0]",
            "'q'",
            "'it''s'",
            "''",
            "\"\"",
            "\"d\\\"q\"",
            "\"a\\nb\"",
            "\"p:\"",
            "{}",
            "[]",
            "Hopper",
            "12345678",
            "-Infinity",
            "+.5",
            "0.",
            "1__0",
            "1,000",
            "y2",
            "TRUEX",
        ];
        const KEYS: &[&str] = &[
            "a", "b", "name", "int", "1", "true", "yes", "0x1f", "a.b/c", "a-b", "'k'", "\"k k\"",
            "x_y", "Z9",
        ];
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (mut answered, mut total) = (0, 0);
        for _ in 0..3000 {
            let mut doc = String::new();
            Gen {
                rng: &mut rng,
                out: &mut doc,
                tokens: TOKENS,
                keys: KEYS,
            }
            .mapping(0, 0);
            total += 1;
            let want = saphyr(&doc);
            if let Some(got) = fast(&doc) {
                answered += 1;
                assert_eq!(Some(got), want, "{doc}");
            }
        }
        assert!(answered * 2 > total, "answered {answered} of {total}");
    }

    /// `kind: List` documents: the items' values and the lines where they start are
    /// `serde_saphyr`'s (its `Spanned` lines are what list errors name).
    #[test]
    fn list_items_start_where_serde_saphyr_says() {
        #[derive(serde::Deserialize)]
        struct List {
            items: Vec<serde_saphyr::Spanned<Value>>,
        }
        const TOKENS: &[&str] = &["v1", "x", "1", "yes", "'q'", "NVIDIA H100 80GB HBM3"];
        const KEYS: &[&str] = &["apiVersion", "kind", "metadata", "name", "spec", "a"];
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut answered = 0;
        for _ in 0..500 {
            let mut doc = String::from("apiVersion: v1\n");
            if rng.random_bool(0.3) {
                doc.push_str("# items follow\n");
            }
            doc.push_str("items:\n");
            let indent = if rng.random_bool(0.5) { 0 } else { 2 };
            for _ in 0..rng.random_range(1..4) {
                if rng.random_bool(0.2) {
                    doc.push('\n');
                }
                doc.push_str(&" ".repeat(indent));
                doc.push_str("- ");
                Gen {
                    rng: &mut rng,
                    out: &mut doc,
                    tokens: TOKENS,
                    keys: KEYS,
                }
                .mapping(indent + 2, 1);
            }
            doc.push_str("kind: List\n");
            let Ok(want) = serde_saphyr::from_str::<List>(&doc) else {
                // No items (`items:` is null) or a YAML error (a duplicate key).
                if let Some(got) = fast(&doc) {
                    assert_eq!(Some(got), saphyr(&doc), "{doc}");
                }
                continue;
            };
            let Some((value, lines)) = read_with_items(&doc, &mut Scalars::new()) else {
                continue; // a comment after content
            };
            answered += 1;
            let items: Vec<Value> = want.items.iter().map(|s| s.value.clone()).collect();
            assert_eq!(value["items"], Value::Array(items), "{doc}");
            let want_lines: Vec<usize> = want
                .items
                .iter()
                .map(|s| s.referenced.line() as usize)
                .collect();
            assert_eq!(lines, want_lines, "{doc}");
        }
        assert!(answered > 150, "answered {answered}");
    }

    /// Writes random block YAML from a vocabulary of scalars and keys.
    struct Gen<'a> {
        rng: &'a mut ChaCha8Rng,
        out: &'a mut String,
        tokens: &'a [&'a str],
        keys: &'a [&'a str],
    }

    impl Gen<'_> {
        fn token(&mut self) -> &str {
            self.tokens[self.rng.random_range(0..self.tokens.len())]
        }

        fn mapping(&mut self, indent: usize, depth: usize) {
            let n = self.rng.random_range(1..4);
            for i in 0..n {
                if i > 0 || !self.out.ends_with("- ") {
                    if self.rng.random_bool(0.05) {
                        let pad = " ".repeat(self.rng.random_range(0..6));
                        self.out.push_str(&pad);
                        self.out.push_str("# a comment: - [x]\n");
                    }
                    self.out.push_str(&" ".repeat(indent));
                }
                let key = self.keys[self.rng.random_range(0..self.keys.len())];
                self.out.push_str(key);
                self.out.push(':');
                self.value(indent, depth);
            }
        }

        fn value(&mut self, indent: usize, depth: usize) {
            let pick = if depth >= 3 {
                0
            } else {
                self.rng.random_range(0..6)
            };
            match pick {
                0 | 1 => {
                    let t = self.token().to_string();
                    self.out.push(' ');
                    self.out.push_str(&t);
                    if self.rng.random_bool(0.05) {
                        self.out.push_str("  ");
                    }
                    if self.rng.random_bool(0.03) {
                        self.out.push_str(" # trailing");
                    }
                    self.out.push('\n');
                }
                2 => {
                    self.out.push('\n');
                    self.mapping(indent + 2, depth + 1);
                }
                3 | 4 => {
                    self.out.push('\n');
                    // A sequence at the key's indentation (as kubectl prints it) or deeper.
                    let at = if pick == 3 { indent } else { indent + 2 };
                    for _ in 0..self.rng.random_range(1..4) {
                        self.out.push_str(&" ".repeat(at));
                        self.out.push_str("- ");
                        if self.rng.random_bool(0.5) {
                            let t = self.token().to_string();
                            self.out.push_str(&t);
                            self.out.push('\n');
                        } else {
                            self.mapping(at + 2, depth + 1);
                        }
                    }
                }
                _ => self.out.push('\n'), // null
            }
        }
    }
}
