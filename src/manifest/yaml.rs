//! A YAML tree that remembers where every node stands in the source text.
//!
//! Built from `saphyr-parser` events. Positions are byte offsets plus 1-based lines, so errors
//! can name the line of a field and the patcher can rewrite a value in place, leaving every
//! other byte of the file as the user wrote it.

use saphyr_parser::{Event, Parser, ScalarStyle};

/// A position in the source: byte offset, 1-based line, 0-based column (in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Pos {
    pub byte: usize,
    pub line: usize,
    pub col: usize,
}

/// How a scalar was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

/// A node's content.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Scalar {
        value: String,
        style: Style,
    },
    /// Keys are scalars in every manifest we read; a non-scalar key is kept as its text.
    Map {
        entries: Vec<(Node, Node)>,
        flow: bool,
    },
    Seq {
        items: Vec<Node>,
        flow: bool,
    },
}

/// A node with its span in the source.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub kind: Kind,
    pub start: Pos,
    /// End of the node's last content token (exclusive).
    pub end: Pos,
}

/// One document of a (possibly multi-document) YAML file.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// `None` for an empty document (only comments, or `---` with nothing after it).
    pub root: Option<Node>,
    pub start_line: usize,
}

/// A YAML syntax error with its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl Node {
    /// The scalar's text, if this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The `(key, value)` entry of `key` in a mapping.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.kind {
            // The last of a key written twice counts, as in Kubernetes.
            Kind::Map { entries, .. } => entries
                .iter()
                .rev()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// A short name of the node's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            Kind::Scalar { .. } => "a scalar",
            Kind::Map { .. } => "a mapping",
            Kind::Seq { .. } => "a list",
        }
    }

    /// Whether this scalar is YAML null (`~`, `null`, or nothing).
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { value, style: Style::Plain } if value.is_empty() || value == "~" || value == "null" || value == "Null" || value == "NULL")
    }
}

/// A key written twice in one mapping: its path (`spec.minReplicaCount`), and the lines of
/// the first and of the last occurrence (the one that counts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateKey {
    pub path: String,
    pub first_line: usize,
    pub last_line: usize,
}

/// Every key written more than once in a mapping of `root`. Kubernetes' decoder keeps the
/// last occurrence, and so does [`Node::get`].
pub fn duplicate_keys(root: &Node) -> Vec<DuplicateKey> {
    fn walk(n: &Node, path: &str, out: &mut Vec<DuplicateKey>) {
        match &n.kind {
            Kind::Map { entries, .. } => {
                for (i, (k, v)) in entries.iter().enumerate() {
                    let key = k.as_str().unwrap_or("?");
                    let here = if path.is_empty() {
                        key.to_string()
                    } else {
                        format!("{path}.{key}")
                    };
                    let earlier = entries[..i].iter().find(|(e, _)| e.as_str() == k.as_str());
                    let later = entries[i + 1..]
                        .iter()
                        .any(|(e, _)| e.as_str() == k.as_str());
                    if let (Some((first, _)), false) = (earlier, later) {
                        out.push(DuplicateKey {
                            path: here.clone(),
                            first_line: first.start.line,
                            last_line: k.start.line,
                        });
                    }
                    walk(v, &here, out);
                }
            }
            Kind::Seq { items, .. } => {
                for (i, v) in items.iter().enumerate() {
                    walk(v, &format!("{path}[{i}]"), out);
                }
            }
            Kind::Scalar { .. } => {}
        }
    }
    let mut out = Vec::new();
    walk(root, "", &mut out);
    out
}

/// Maps the parser's character indices to byte offsets.
struct Offsets {
    byte_of_char: Vec<usize>,
}

impl Offsets {
    fn new(src: &str) -> Self {
        let mut byte_of_char: Vec<usize> = src.char_indices().map(|(b, _)| b).collect();
        byte_of_char.push(src.len());
        Offsets { byte_of_char }
    }
    fn pos(&self, m: &saphyr_parser::Marker) -> Pos {
        let byte = self
            .byte_of_char
            .get(m.index())
            .copied()
            .unwrap_or(*self.byte_of_char.last().unwrap());
        Pos {
            byte,
            line: m.line(),
            col: m.col(),
        }
    }
}

/// The end of a quoted scalar starting at `start` (the parser's end marker can run past it).
fn quoted_end(src: &str, start: Pos, style: Style) -> Pos {
    let bytes = src.as_bytes();
    let quote = if style == Style::DoubleQuoted {
        b'"'
    } else {
        b'\''
    };
    let mut i = start.byte + 1;
    let (mut line, mut col) = (start.line, start.col + 1);
    while i < bytes.len() {
        let c = bytes[i];
        if style == Style::DoubleQuoted && c == b'\\' {
            i += 2;
            col += 2;
            continue;
        }
        if c == quote {
            if style == Style::SingleQuoted && bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                col += 2;
                continue;
            }
            return Pos {
                byte: i + 1,
                line,
                col: col + 1,
            };
        }
        if c == b'\n' {
            line += 1;
            col = 0;
        } else if (c & 0xC0) != 0x80 {
            col += 1;
        }
        i += 1;
    }
    Pos {
        byte: bytes.len(),
        line,
        col,
    }
}

enum Frame {
    Map {
        start: Pos,
        flow: bool,
        entries: Vec<(Node, Node)>,
        pending_key: Option<Node>,
        anchor: usize,
    },
    Seq {
        start: Pos,
        flow: bool,
        items: Vec<Node>,
        anchor: usize,
    },
}

/// The deepest nesting of mappings and lists a file may have (Kubernetes manifests nest a
/// few dozen levels at most; far deeper trees only exhaust the stack of whoever walks them).
pub const MAX_DEPTH: usize = 256;

/// The most nodes that aliases may copy into one file's trees (each use of an anchor copies
/// its node): a few kilobytes of nested aliases would otherwise expand to billions of nodes.
pub const MAX_ALIAS_NODES: usize = 1_000_000;

/// Nodes in the tree under `n`, itself included.
fn size(n: &Node) -> usize {
    match &n.kind {
        Kind::Scalar { .. } => 1,
        Kind::Map { entries, .. } => {
            1 + entries
                .iter()
                .map(|(k, v)| size(k) + size(v))
                .sum::<usize>()
        }
        Kind::Seq { items, .. } => 1 + items.iter().map(size).sum::<usize>(),
    }
}

/// Parse every document of `src`.
pub fn parse(src: &str) -> Result<Vec<Document>, SyntaxError> {
    let offsets = Offsets::new(src);
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: std::collections::HashMap<usize, Node> = std::collections::HashMap::new();
    let mut alias_nodes = 0usize;
    let too_deep = |start: Pos| SyntaxError {
        line: start.line,
        col: start.col,
        message: format!(
            "mappings and lists nest more than {MAX_DEPTH} levels deep; no Kubernetes object needs that many: check the file"
        ),
    };
    let mut root: Option<Node> = None;
    let mut doc_line = 1;
    for ev in Parser::new_from_str(src) {
        let (ev, span) = ev.map_err(|e| SyntaxError {
            line: e.marker().line(),
            col: e.marker().col(),
            message: e.info().to_string(),
        })?;
        let start = offsets.pos(&span.start);
        let end = offsets.pos(&span.end);
        let node = match ev {
            Event::DocumentStart(_) => {
                root = None;
                doc_line = start.line;
                continue;
            }
            Event::DocumentEnd => {
                docs.push(Document {
                    root: root.take(),
                    start_line: doc_line,
                });
                continue;
            }
            Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(too_deep(start));
                }
                let flow = src.as_bytes().get(start.byte) == Some(&b'{');
                stack.push(Frame::Map {
                    start,
                    flow,
                    entries: Vec::new(),
                    pending_key: None,
                    anchor,
                });
                continue;
            }
            Event::SequenceStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(too_deep(start));
                }
                let flow = src.as_bytes().get(start.byte) == Some(&b'[');
                stack.push(Frame::Seq {
                    start,
                    flow,
                    items: Vec::new(),
                    anchor,
                });
                continue;
            }
            Event::MappingEnd => {
                let Some(Frame::Map {
                    start,
                    flow,
                    entries,
                    anchor,
                    ..
                }) = stack.pop()
                else {
                    unreachable_frame()?
                };
                let last =
                    entries
                        .last()
                        .map(|(_, v)| v.end)
                        .unwrap_or(if flow { end } else { start });
                let n = Node {
                    kind: Kind::Map { entries, flow },
                    start,
                    end: if flow { end } else { last },
                };
                if anchor != 0 {
                    anchors.insert(anchor, n.clone());
                }
                n
            }
            Event::SequenceEnd => {
                let Some(Frame::Seq {
                    start,
                    flow,
                    items,
                    anchor,
                }) = stack.pop()
                else {
                    unreachable_frame()?
                };
                let last = items
                    .last()
                    .map(|v| v.end)
                    .unwrap_or(if flow { end } else { start });
                let n = Node {
                    kind: Kind::Seq { items, flow },
                    start,
                    end: if flow { end } else { last },
                };
                if anchor != 0 {
                    anchors.insert(anchor, n.clone());
                }
                n
            }
            Event::Scalar(value, style, anchor, _) => {
                let style = match style {
                    ScalarStyle::SingleQuoted => Style::SingleQuoted,
                    ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                    ScalarStyle::Literal => Style::Literal,
                    ScalarStyle::Folded => Style::Folded,
                    _ => Style::Plain,
                };
                let end = match style {
                    Style::SingleQuoted | Style::DoubleQuoted => quoted_end(src, start, style),
                    _ => end,
                };
                let n = Node {
                    kind: Kind::Scalar {
                        value: value.into_owned(),
                        style,
                    },
                    start,
                    end,
                };
                if anchor != 0 {
                    anchors.insert(anchor, n.clone());
                }
                n
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some(n) => {
                    alias_nodes += size(n);
                    if alias_nodes > MAX_ALIAS_NODES {
                        return Err(SyntaxError {
                            line: start.line,
                            col: start.col,
                            message: format!(
                                "aliases here copy more than {MAX_ALIAS_NODES} nodes in all (aliases of aliases multiply); write the repeated part out or use fewer levels of aliases"
                            ),
                        });
                    }
                    n.clone()
                }
                None => {
                    return Err(SyntaxError {
                        line: start.line,
                        col: start.col,
                        message: "alias to an unknown anchor".into(),
                    });
                }
            },
            _ => continue,
        };
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                pending_key,
                ..
            }) => match pending_key.take() {
                None => *pending_key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
    }
    Ok(docs)
}

fn unreachable_frame<T>() -> Result<T, SyntaxError> {
    Err(SyntaxError {
        line: 0,
        col: 0,
        message: "unbalanced YAML structure".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_cover_values_exactly() {
        let src = "# c\na: 1\nb: \"x y\"  # t\nc:\n  d: 'q'\n  e:\n    - 1\n---\nk: v\n";
        let docs = parse(src).unwrap();
        assert_eq!(docs.len(), 2);
        let root = docs[0].root.as_ref().unwrap();
        let b = root.get("b").unwrap();
        assert_eq!(&src[b.start.byte..b.end.byte], "\"x y\"");
        let d = root.get("c").unwrap().get("d").unwrap();
        assert_eq!(&src[d.start.byte..d.end.byte], "'q'");
        assert_eq!(d.start.line, 5);
        let a = root.get("a").unwrap();
        assert_eq!(&src[a.start.byte..a.end.byte], "1");
        assert_eq!(
            docs[1].root.as_ref().unwrap().get("k").unwrap().as_str(),
            Some("v")
        );
    }

    #[test]
    fn multibyte_text_keeps_byte_offsets_right() {
        let src = "note: \"héllo wörld\"\nn: 5\n";
        let docs = parse(src).unwrap();
        let n = docs[0].root.as_ref().unwrap().get("n").unwrap();
        assert_eq!(&src[n.start.byte..n.end.byte], "5");
        let note = docs[0].root.as_ref().unwrap().get("note").unwrap();
        assert_eq!(&src[note.start.byte..note.end.byte], "\"héllo wörld\"");
    }

    #[test]
    fn deep_nesting_and_alias_bombs_are_refused_with_a_line() {
        let ok = format!("{}x{}", "[".repeat(128), "]".repeat(128));
        assert!(parse(&ok).is_ok(), "{:?}", parse(&ok).err());
        let deep = "- ".repeat(100_000) + "x\n";
        let e = parse(&deep).unwrap_err();
        assert!(e.message.contains("nest more than 256"), "{e:?}");
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [{}]\n",
                vec![format!("*a{p}"); 10].join(", ")
            ));
        }
        let e = parse(&bomb).unwrap_err();
        assert!(e.message.contains("copy more than"), "{e:?}");
        assert!(e.line >= 6, "{e:?}");
        // A few aliases, as real files use them, are fine.
        let docs = parse("base: &b {cpu: 1, mem: 2}\nx: *b\ny: *b\n").unwrap();
        assert_eq!(
            docs[0]
                .root
                .as_ref()
                .unwrap()
                .get("y")
                .unwrap()
                .get("mem")
                .unwrap()
                .as_str(),
            Some("2")
        );
    }

    #[test]
    fn syntax_errors_have_a_line() {
        let e = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.line >= 1, "{e:?}");
    }
}
