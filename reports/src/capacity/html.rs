//! `capacity.html`, `compare.html` and `report.html`: one self-contained page (inline SVG and CSS, no
//! scripts, nothing fetched) per report.

use std::fmt::Write as _;

/// Text escaped for HTML.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            _ => o.push(c),
        }
    }
    o
}

const STYLE: &str = "body{font-family:sans-serif;max-width:1040px;margin:2em auto;padding:0 1em;color:#222}\
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ddd}\
.recommendation{font-size:1.25em;background:#eef7ee;border-left:6px solid #2ca02c;padding:.8em 1em}\
table{border-collapse:collapse;font-size:.85em;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 7px}\
td{text-align:right}td:first-child{text-align:left}tr.recommended{background:#eef7ee;font-weight:bold}\
figure{margin:1.5em 0}figure svg{max-width:100%;height:auto;border:1px solid #eee}\
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:bold}dd{margin:0}\
.note{color:#666;font-size:.9em}.omitted{color:#8a4b00;font-weight:bold}\
.scroll{overflow-x:auto;max-width:100%}.scroll table{margin:0}";

/// A page being built.
pub struct Page {
    body: String,
    title: String,
}

impl Page {
    pub fn new(title: &str) -> Page {
        let mut body = String::new();
        let _ = writeln!(body, "<h1>{}</h1>", esc(title));
        Page {
            body,
            title: title.to_string(),
        }
    }

    pub fn recommendation(&mut self, lines: &[String]) {
        for l in lines {
            let _ = writeln!(self.body, "<p class=\"recommendation\">{}</p>", esc(l));
        }
    }

    pub fn heading(&mut self, h: &str) {
        let _ = writeln!(self.body, "<h2>{}</h2>", esc(h));
    }

    pub fn para(&mut self, text: &str, class: Option<&str>) {
        match class {
            Some(c) => {
                let _ = writeln!(self.body, "<p class=\"{c}\">{}</p>", esc(text));
            }
            None => {
                let _ = writeln!(self.body, "<p>{}</p>", esc(text));
            }
        }
    }

    /// A plot: the SVG inline (any XML prologue dropped), with its file name as caption.
    pub fn plot(&mut self, file: &str, heading: &str, svg: &[u8]) {
        let text = String::from_utf8_lossy(svg);
        let start = text.find("<svg").unwrap_or(0);
        let _ = writeln!(
            self.body,
            "<figure class=\"plot\" id=\"{}\">\n{}\n<figcaption class=\"note\">{} ({})</figcaption>\n</figure>",
            esc(file.trim_end_matches(".svg")),
            text[start..].trim_end(),
            esc(heading),
            esc(file)
        );
    }

    /// A table; rows whose `highlight` flag is set get the `recommended` class.
    pub fn table(&mut self, header: &[String], rows: &[(bool, Vec<String>)]) {
        // Wide tables (compare's 18 columns) scroll inside the page instead of overflowing it.
        self.body.push_str("<div class=\"scroll\"><table>\n<tr>");
        for h in header {
            let _ = write!(self.body, "<th>{}</th>", esc(h));
        }
        self.body.push_str("</tr>\n");
        for (hl, r) in rows {
            self.body.push_str(if *hl {
                "<tr class=\"recommended\">"
            } else {
                "<tr>"
            });
            for c in r {
                let _ = write!(self.body, "<td>{}</td>", esc(c));
            }
            self.body.push_str("</tr>\n");
        }
        self.body.push_str("</table></div>\n");
    }

    pub fn definitions(&mut self, items: &[(&str, String)]) {
        self.body.push_str("<dl>\n");
        for (k, v) in items {
            let _ = writeln!(self.body, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
        }
        self.body.push_str("</dl>\n");
    }

    pub fn finish(self) -> Vec<u8> {
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{}</body>\n</html>\n",
            esc(&self.title),
            self.body
        )
        .into_bytes()
    }
}
