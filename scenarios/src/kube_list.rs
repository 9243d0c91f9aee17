//! `kind: List` wrappers, as `kubectl get A,B,C -o yaml` prints them: one document
//! `apiVersion: v1, kind: List, items: [...]` (or a typed `<Kind>List`). Every
//! `*.manifests` reader (Kueue, Volcano, Coscheduling, `scheduler.config`) reads its
//! documents through [`unwrap_lists`], so a List is read as its items, in order.
//!
//! Each item is handed on as its own text, cut from the file, so an error inside an item
//! names the file's real line. kubectl prints items in block style (`- apiVersion: …`); the
//! item's lines are de-indented by the sequence's indentation (none in kubectl's output, so
//! there a column in an error is the file's column too). An item that cannot be cut this way (a flow-style list)
//! is handed on as JSON on one line; either way the error names `items[i]` and the List's line.

use serde_json::Value;

/// One document to read: (first line in the file, text, `Some((index, List's line))` for a
/// List item).
pub(crate) type Doc = (u64, String, Option<(usize, u64)>);

/// The documents of `text` with every List replaced by its items.
///
/// Documents are read as the DRA manifests are (`models::dra::manifests::yaml_value`: the
/// block reader for `kubectl`'s output, `serde_saphyr` with a 10 M-node budget otherwise),
/// so a List larger than `serde_saphyr`'s default 250,000 nodes is read, not refused.
pub(crate) fn unwrap_lists(text: &str) -> Vec<Doc> {
    let mut out = Vec::new();
    let mut scalars = models::dra::block_yaml::Scalars::new();
    for (line, doc) in models::dra::manifests::split_documents(text) {
        match list_items(&doc, &mut scalars) {
            Some(items) => {
                let cut = cut_items(&doc);
                let cut_ok = cut.len() == items.len()
                    && cut.iter().zip(&items).all(|((_, t), item)| {
                        models::dra::manifests::yaml_value(t, &mut scalars)
                            .ok()
                            .as_ref()
                            == Some(item)
                    });
                for (i, item) in items.iter().enumerate() {
                    let (offset, text) = if cut_ok {
                        cut[i].clone()
                    } else {
                        (0, serde_json::to_string(item).unwrap_or_default())
                    };
                    let first = line.saturating_add(offset);
                    out.push((first, text, Some((i, line))));
                }
            }
            None => out.push((line, doc, None)),
        }
    }
    out
}

/// Names the List item an error came from.
pub(crate) fn in_item(e: String, file: &str, item: Option<(usize, u64)>) -> String {
    match item {
        Some((i, line)) => format!("{e} (items[{i}] of the List at {file}:{line})"),
        None => e,
    }
}

/// The items of a `List` / `<Kind>List` document, `None` for any other document.
fn list_items(doc: &str, scalars: &mut models::dra::block_yaml::Scalars) -> Option<Vec<Value>> {
    let raw: Value = models::dra::manifests::yaml_value(doc, scalars).ok()?;
    let kind = raw.get("kind")?.as_str()?;
    if !kind.ends_with("List") {
        return None;
    }
    match raw.get("items") {
        Some(Value::Array(items)) => Some(items.clone()),
        Some(Value::Null) | None => Some(Vec::new()),
        Some(_) => None,
    }
}

/// The block-style items under the top-level `items:` key: (line offset from the
/// document's first line, de-indented text).
fn cut_items(doc: &str) -> Vec<(u64, String)> {
    let lines: Vec<&str> = doc.lines().collect();
    let Some(start) = lines.iter().position(|l| l.trim_end() == "items:") else {
        return Vec::new();
    };
    let indent_of = |l: &str| l.len() - l.trim_start().len();
    let Some(first) = lines[start + 1..]
        .iter()
        .position(|l| l.trim_start().starts_with("- ") || l.trim() == "-")
    else {
        return Vec::new();
    };
    let first = start + 1 + first;
    let indent = indent_of(lines[first]);
    let mut items: Vec<(u64, String)> = Vec::new();
    for (n, l) in lines.iter().enumerate().skip(first) {
        let blank = l.trim().is_empty() || l.trim_start().starts_with('#');
        let ind = indent_of(l);
        if !blank && ind == indent && (l[ind..].starts_with("- ") || l[ind..].trim() == "-") {
            let rest = &l[ind + 1..];
            items.push((n as u64, format!(" {rest}\n")));
        } else if blank || ind > indent {
            if let Some((_, t)) = items.last_mut() {
                t.push_str(l.get(indent..).unwrap_or(""));
                t.push('\n');
            }
        } else {
            break;
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `kubectl get jobs -A -o yaml` of a thousand Jobs is one List of more than
    /// serde_saphyr's default 250,000 nodes: unwrapped into its items (was: not a List).
    #[test]
    fn a_list_over_the_default_yaml_budget_is_unwrapped() {
        let mut text = String::from("apiVersion: v1\nitems:\n");
        for i in 0..1000 {
            text.push_str(&format!(
                "- apiVersion: batch/v1\n  kind: Job\n  metadata:\n    name: j{i}\n    labels:\n"
            ));
            for l in 0..125 {
                text.push_str(&format!("      l{l}: v\n"));
            }
        }
        text.push_str("kind: List\n");
        assert!(serde_saphyr::from_str::<Value>(&text).is_err());
        let docs = unwrap_lists(&text);
        assert_eq!(docs.len(), 1000);
        assert_eq!(docs[999].2, Some((999, 1)));
        assert!(docs[999].1.contains("name: j999"), "{}", docs[999].1);
    }

    #[test]
    fn block_items_keep_their_lines() {
        let text = "apiVersion: v1\nitems:\n- apiVersion: a/v1\n  kind: X\n  metadata:\n    name: one\n- apiVersion: a/v1\n  kind: Y\nkind: List\nmetadata:\n  resourceVersion: \"\"\n";
        let docs = unwrap_lists(text);
        assert_eq!(docs.len(), 2);
        // Item 0 starts on line 3, item 1 on line 7; the List is at line 1.
        assert_eq!(docs[0].0, 3);
        assert_eq!(docs[0].2, Some((0, 1)));
        assert_eq!(docs[1].0, 7);
        assert_eq!(docs[1].1, "  apiVersion: a/v1\n  kind: Y\n");
    }

    #[test]
    fn flow_items_fall_back_to_json() {
        let text = "---\nkind: List\napiVersion: v1\nitems: [{kind: X, apiVersion: a/v1}]\n";
        let docs = unwrap_lists(text);
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].1, r#"{"apiVersion":"a/v1","kind":"X"}"#);
        assert_eq!(docs[0].2, Some((0, 2)));
    }

    #[test]
    fn other_documents_pass_through() {
        let docs = unwrap_lists("kind: ClusterQueue\n---\nkind: Cohort\n");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].0, 3);
        assert_eq!(docs[1].2, None);
    }
}
