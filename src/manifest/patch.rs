//! Write changed settings back into the user's own manifest text.
//!
//! A patch sets one field (by dotted path) in one document. Values that exist are rewritten
//! in place, in the quoting style the user chose; missing fields are inserted as block YAML
//! indented like their siblings. Every other byte (comments, order, quoting, other
//! documents) is left as it was, so a GitOps diff shows only the lines that changed.

use super::error::{ErrorKind, ManifestError};
use super::objects::{PathSeg, split_path};
use super::yaml::{self, Kind, Node, Style};
use std::path::Path;

/// A value to write.
#[derive(Clone, Debug, PartialEq)]
pub enum PatchValue {
    /// A scalar's text (quoted as the existing value was, or as YAML needs).
    Scalar(String),
    Map(Vec<(String, PatchValue)>),
    Seq(Vec<PatchValue>),
}

impl PatchValue {
    /// A scalar from anything displayable.
    pub fn scalar(v: impl ToString) -> Self {
        PatchValue::Scalar(v.to_string())
    }
}

/// Set `path` in document `doc` of a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Patch {
    pub doc: usize,
    pub path: String,
    pub value: PatchValue,
}

/// A value that stands before its own key was reached through an alias (`key: *name`): it is
/// the anchored node, written elsewhere. Changing it there would change every use of the
/// anchor, so neither the text patch nor the tree edit does.
pub(super) fn through_alias(
    file: &Path,
    key: &Node,
    value: &Node,
    path: &str,
) -> Option<ManifestError> {
    (value.start.byte < key.start.byte).then(|| {
        patch_error(
            file,
            key.start.line,
            path,
            format!(
                "the value here is an alias of the one anchored at line {}; changing it would \
                 change every use of that anchor",
                value.start.line
            ),
            "write the value out in place of the alias, then patch again",
        )
    })
}

pub(super) fn patch_error(
    file: &Path,
    line: usize,
    path: &str,
    message: impl Into<String>,
    hint: &str,
) -> ManifestError {
    ManifestError {
        kind: ErrorKind::Patch,
        file: file.to_path_buf(),
        line,
        field: Some(path.to_string()),
        value: None,
        message: message.into(),
        hint: Some(hint.to_string()),
    }
}

/// The refusal to put a scalar where a mapping or a list stands.
pub(super) fn other_shape(file: &Path, node: &Node, path: &str) -> ManifestError {
    patch_error(
        file,
        node.start.line,
        path,
        format!(
            "cannot replace {} with a value of another shape",
            node.type_name()
        ),
        "patch the leaf fields instead",
    )
}

/// The refusal of a path into a document the file does not have.
pub(super) fn no_document(file: &Path, path: &str, doc: usize) -> ManifestError {
    patch_error(
        file,
        0,
        path,
        format!("the file has no document {doc}"),
        "patch a document that exists",
    )
}

/// Apply patches in order and return the new text.
pub fn apply_patches(file: &Path, src: &str, patches: &[Patch]) -> Result<String, ManifestError> {
    let mut text = src.to_string();
    for p in patches {
        text = apply_one(file, &text, p)?;
    }
    Ok(text)
}

fn newline(src: &str) -> &'static str {
    if src.contains("\r\n") { "\r\n" } else { "\n" }
}

/// Whether `s` can be written as a plain scalar and still read back as the same string.
pub(crate) fn plain_ok(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with([
            ' ', '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"',
            '%', '@', '`',
        ])
        && !s.ends_with(' ')
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.contains(['\n', '\t'])
}

fn double_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn render_scalar(s: &str, style: Style) -> String {
    match style {
        Style::DoubleQuoted => double_quote(s),
        Style::SingleQuoted => format!("'{}'", s.replace('\'', "''")),
        _ if plain_ok(s) => s.to_string(),
        _ => double_quote(s),
    }
}

/// New scalars are plain when YAML reads them back as the same string, quoted otherwise.
/// Numbers that must stay strings (KEDA metadata) are quoted by the caller passing a style.
fn render_block(v: &PatchValue, indent: usize, step: usize, nl: &str, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        PatchValue::Scalar(s) => {
            out.push_str(&pad);
            out.push_str(&render_scalar(s, Style::Plain));
            out.push_str(nl);
        }
        PatchValue::Map(entries) => {
            for (k, v) in entries {
                match v {
                    PatchValue::Scalar(s) => {
                        out.push_str(&format!("{pad}{k}: {}{nl}", render_scalar(s, Style::Plain)))
                    }
                    PatchValue::Map(_) => {
                        out.push_str(&format!("{pad}{k}:{nl}"));
                        render_block(v, indent + step, step, nl, out);
                    }
                    PatchValue::Seq(_) => {
                        out.push_str(&format!("{pad}{k}:{nl}"));
                        render_block(v, indent + step, step, nl, out);
                    }
                }
            }
        }
        PatchValue::Seq(items) => {
            for item in items {
                match item {
                    PatchValue::Scalar(s) => {
                        out.push_str(&format!("{pad}- {}{nl}", render_scalar(s, Style::Plain)))
                    }
                    _ => {
                        let mut inner = String::new();
                        render_block(item, indent + 2, step, nl, &mut inner);
                        // The first line of the item goes after "- ".
                        let trimmed = inner.trim_start_matches(' ');
                        out.push_str(&format!("{pad}- {trimmed}"));
                    }
                }
            }
        }
    }
}

fn render_flow(v: &PatchValue) -> String {
    match v {
        PatchValue::Scalar(s) => render_scalar(s, Style::Plain),
        PatchValue::Map(e) => format!(
            "{{{}}}",
            e.iter()
                .map(|(k, v)| format!("{k}: {}", render_flow(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        PatchValue::Seq(items) => format!(
            "[{}]",
            items.iter().map(render_flow).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Byte offset of the start of the line after the one containing `byte`.
fn after_line(src: &str, byte: usize) -> usize {
    match src[byte..].find('\n') {
        Some(i) => byte + i + 1,
        None => src.len(),
    }
}

/// Byte offset of the start of the line containing `byte`.
fn line_start(src: &str, byte: usize) -> usize {
    src[..byte].rfind('\n').map(|i| i + 1).unwrap_or(0)
}

/// Where to insert new lines after `node`'s content.
fn insertion_point(src: &str, node: &Node) -> usize {
    if node.end.col == 0 && node.end.byte > 0 {
        node.end.byte
    } else {
        after_line(src, node.end.byte.saturating_sub(1).max(node.start.byte))
    }
}

struct Edit {
    start: usize,
    end: usize,
    text: String,
}

/// A file's documents, or its syntax error as a patch refusal.
fn parse_for_patch(file: &Path, src: &str) -> Result<Vec<yaml::Document>, ManifestError> {
    yaml::parse(src).map_err(|e| ManifestError {
        kind: ErrorKind::Syntax,
        file: file.to_path_buf(),
        line: e.line,
        field: None,
        value: None,
        message: format!("YAML syntax error: {}", e.message),
        hint: Some("fix the YAML before patching it".into()),
    })
}

fn apply_one(file: &Path, src: &str, p: &Patch) -> Result<String, ManifestError> {
    let docs = parse_for_patch(file, src)?;
    let root = docs
        .get(p.doc)
        .and_then(|d| d.root.as_ref())
        .ok_or_else(|| no_document(file, &p.path, p.doc))?;
    let segs = split_path(&p.path);
    let nl = newline(src);
    let mut edits = Vec::new();
    set_at(
        file, src, root, None, &segs, &p.path, &p.value, 2, nl, &mut edits,
    )?;
    edits.sort_by_key(|e| std::cmp::Reverse(e.start));
    let mut out = src.to_string();
    for e in edits {
        out.replace_range(e.start..e.end, &e.text);
    }
    Ok(out)
}

/// Indentation step of a block mapping `node` below the key `parent_key`.
fn step_of(node: &Node, parent_key: Option<&Node>, default: usize) -> usize {
    match parent_key {
        Some(k) if node.start.col > k.start.col => node.start.col - k.start.col,
        _ => default,
    }
}

#[allow(clippy::too_many_arguments)]
fn set_at(
    file: &Path,
    src: &str,
    node: &Node,
    key_of_node: Option<&Node>,
    segs: &[PathSeg],
    full: &str,
    value: &PatchValue,
    step: usize,
    nl: &str,
    edits: &mut Vec<Edit>,
) -> Result<(), ManifestError> {
    let Some((seg, rest)) = segs.split_first() else {
        return replace_node(file, src, node, key_of_node, full, value, step, nl, edits);
    };
    match (seg, &node.kind) {
        (PathSeg::Key(k), Kind::Map { entries, flow }) => {
            let step = step_of(node, key_of_node, step);
            if let Some((kn, vn)) = entries.iter().rev().find(|(kn, _)| kn.as_str() == Some(k)) {
                if let Some(e) = through_alias(file, kn, vn, full) {
                    return Err(e);
                }
                return set_at(file, src, vn, Some(kn), rest, full, value, step, nl, edits);
            }
            if *flow {
                return Err(patch_error(
                    file,
                    node.start.line,
                    full,
                    format!("cannot add `{k}` to a flow mapping"),
                    "rewrite that mapping in block style, then patch again",
                ));
            }
            let mut nested = value.clone();
            for s in rest.iter().rev() {
                match s {
                    PathSeg::Key(name) => nested = PatchValue::Map(vec![(name.clone(), nested)]),
                    PathSeg::Index(_) => {
                        return Err(patch_error(
                            file,
                            node.start.line,
                            full,
                            "cannot create a list item by index",
                            "add the list in the manifest first",
                        ));
                    }
                }
            }
            let indent = entries
                .first()
                .map(|(k, _)| k.start.col)
                .unwrap_or(node.start.col);
            let mut text = String::new();
            render_block(
                &PatchValue::Map(vec![(k.clone(), nested)]),
                indent,
                step,
                nl,
                &mut text,
            );
            let at = insertion_point(src, node);
            let text = if at == src.len() && !src.ends_with('\n') {
                format!("{nl}{text}")
            } else {
                text
            };
            edits.push(Edit {
                start: at,
                end: at,
                text,
            });
            Ok(())
        }
        (PathSeg::Key(k), Kind::Scalar { .. }) if node.is_null() => {
            // `key:` with no value: the new block goes on the lines below the key.
            let Some(kn) = key_of_node else {
                return Err(patch_error(
                    file,
                    node.start.line,
                    full,
                    "the document is empty",
                    "patch a document with content",
                ));
            };
            let mut nested = value.clone();
            for s in rest.iter().rev() {
                if let PathSeg::Key(name) = s {
                    nested = PatchValue::Map(vec![(name.clone(), nested)]);
                }
            }
            attach_below_key(
                src,
                node,
                kn,
                &PatchValue::Map(vec![(k.clone(), nested)]),
                step,
                nl,
                edits,
            );
            Ok(())
        }
        (PathSeg::Index(_), Kind::Seq { items, .. })
        | (PathSeg::Key(_), Kind::Seq { items, .. }) => {
            let item = select_item(items, seg).map_err(|(message, hint)| {
                patch_error(file, node.start.line, full, message, hint)
            })?;
            set_at(
                file,
                src,
                item,
                key_of_node,
                rest,
                full,
                value,
                step,
                nl,
                edits,
            )
        }
        (seg, _) => Err(patch_error(
            file,
            node.start.line,
            full,
            format!("cannot follow {seg:?} into {}", node.type_name()),
            "check the field path against the manifest",
        )),
    }
}

/// The list item a path segment picks: `[N]` by index, `[key=value]` by a field's value.
fn select_item<'n>(items: &'n [Node], seg: &PathSeg) -> Result<&'n Node, (String, &'static str)> {
    select_index(items, seg).map(|i| &items[i])
}

/// The index of the list item a path segment picks (shared with the tree edits of
/// `super::edit`, so a setting and a patch pick the same item).
pub(super) fn select_index(items: &[Node], seg: &PathSeg) -> Result<usize, (String, &'static str)> {
    match seg {
        PathSeg::Index(i) if *i < items.len() => Ok(*i),
        PathSeg::Index(i) => Err((
            format!("the list has {} item(s), no index {i}", items.len()),
            "patch an existing item",
        )),
        PathSeg::Key(sel) => {
            let Some((k, v)) = sel.split_once('=') else {
                return Err((
                    format!("`{sel}` is not a list index or a [key=value] selector"),
                    "use [N] or [name=value]",
                ));
            };
            items
                .iter()
                .position(|it| it.get(k).and_then(Node::as_str) == Some(v))
                .ok_or_else(|| (format!("no list item has {k}: {v}"), "check the selector"))
        }
    }
}

/// The node at `segs` below `node`, following map keys and list selectors (`None` when a
/// step finds nothing).
pub fn find<'n>(node: &'n Node, segs: &[PathSeg]) -> Option<&'n Node> {
    let Some((seg, rest)) = segs.split_first() else {
        return Some(node);
    };
    match (seg, &node.kind) {
        (PathSeg::Key(k), Kind::Map { entries, .. }) => entries
            .iter()
            .rev()
            .find(|(kn, _)| kn.as_str() == Some(k))
            .and_then(|(_, v)| find(v, rest)),
        (_, Kind::Seq { items, .. }) => select_index(items, seg)
            .ok()
            .and_then(|i| find(&items[i], rest)),
        _ => None,
    }
}

/// Remove the list item `path` names (it ends in `[N]` or `[key=value]`), or the mapping
/// entry, from document `doc` of a file's text: its lines go, every other byte stays.
pub fn remove_item(
    file: &Path,
    src: &str,
    doc: usize,
    path: &str,
) -> Result<String, ManifestError> {
    let docs = parse_for_patch(file, src)?;
    let root = docs
        .get(doc)
        .and_then(|d| d.root.as_ref())
        .ok_or_else(|| no_document(file, path, doc))?;
    let segs = split_path(path);
    let Some((last, parent)) = segs.split_last() else {
        return Err(patch_error(
            file,
            0,
            path,
            "an empty path",
            "name a list item",
        ));
    };
    let list = find(root, parent).ok_or_else(|| {
        patch_error(
            file,
            root.start.line,
            path,
            "no such list",
            "check the field path against the manifest",
        )
    })?;
    let (start, end) = match (&list.kind, last) {
        (Kind::Seq { items, flow: false }, _) => {
            let i = select_index(items, last).map_err(|(message, hint)| {
                patch_error(file, list.start.line, path, message, hint)
            })?;
            let end = match items.get(i + 1) {
                Some(next) => line_start(src, next.start.byte),
                None => insertion_point(src, &items[i]),
            };
            (line_start(src, items[i].start.byte), end)
        }
        (
            Kind::Map {
                entries,
                flow: false,
            },
            PathSeg::Key(k),
        ) => {
            let i = entries
                .iter()
                .rposition(|(kn, _)| kn.as_str() == Some(k))
                .ok_or_else(|| {
                    patch_error(
                        file,
                        list.start.line,
                        path,
                        format!("no `{k}` here"),
                        "check the field path",
                    )
                })?;
            let end = match entries.get(i + 1) {
                Some((next, _)) => line_start(src, next.start.byte),
                None => insertion_point(src, &entries[i].1),
            };
            (line_start(src, entries[i].0.start.byte), end)
        }
        _ => {
            return Err(patch_error(
                file,
                list.start.line,
                path,
                "not a block list or mapping",
                "write it in block style (one item or key per line), then patch again",
            ));
        }
    };
    let mut out = src.to_string();
    out.replace_range(start..end, "");
    Ok(out)
}

/// Replace a null value (`key:`, `key: ~`) with `value` as a block on the lines below the key.
fn attach_below_key(
    src: &str,
    null: &Node,
    key: &Node,
    value: &PatchValue,
    step: usize,
    nl: &str,
    edits: &mut Vec<Edit>,
) {
    let mut text = String::new();
    render_block(value, key.start.col + step, step, nl, &mut text);
    if null.end.byte > null.start.byte {
        edits.push(Edit {
            start: null.start.byte,
            end: null.end.byte,
            text: String::new(),
        });
    }
    let at = after_line(src, key.end.byte);
    edits.push(Edit {
        start: at,
        end: at,
        text,
    });
}

#[allow(clippy::too_many_arguments)]
fn replace_node(
    file: &Path,
    src: &str,
    node: &Node,
    key_of_node: Option<&Node>,
    full: &str,
    value: &PatchValue,
    step: usize,
    nl: &str,
    edits: &mut Vec<Edit>,
) -> Result<(), ManifestError> {
    match (&node.kind, value) {
        (Kind::Scalar { value: old, style }, PatchValue::Scalar(new)) => {
            if matches!(style, Style::Literal | Style::Folded) {
                return Err(patch_error(
                    file,
                    node.start.line,
                    full,
                    "cannot rewrite a block scalar (| or >)",
                    "write the value on one line, then patch again",
                ));
            }
            if node.is_null() && node.end.byte == node.start.byte {
                // `key:` with nothing: put the value after the colon.
                let at = key_of_node.map(|k| k.end.byte).unwrap_or(node.start.byte);
                let colon = src[at..].find(':').map(|i| at + i + 1).unwrap_or(at);
                edits.push(Edit {
                    start: colon,
                    end: colon,
                    text: format!(" {}", render_scalar(new, Style::Plain)),
                });
                return Ok(());
            }
            if old != new {
                // An anchor written before the value (`&name 2`) stays: only the value changes.
                let mut start = node.start.byte;
                if src[start..].starts_with('&') {
                    let anchor = src[start..node.end.byte]
                        .find(char::is_whitespace)
                        .unwrap_or(0);
                    let gap = src[start + anchor..node.end.byte]
                        .find(|c: char| !c.is_whitespace())
                        .unwrap_or(0);
                    start += anchor + gap;
                }
                edits.push(Edit {
                    start,
                    end: node.end.byte,
                    text: render_scalar(new, *style),
                });
            }
            Ok(())
        }
        (Kind::Map { .. }, PatchValue::Map(entries)) => {
            for (k, v) in entries {
                set_at(
                    file,
                    src,
                    node,
                    key_of_node,
                    &[PathSeg::Key(k.clone())],
                    full,
                    v,
                    step,
                    nl,
                    edits,
                )?;
            }
            Ok(())
        }
        (Kind::Scalar { .. }, _) if node.is_null() => {
            let Some(kn) = key_of_node else {
                return Err(patch_error(
                    file,
                    node.start.line,
                    full,
                    "nothing to attach the value to",
                    "patch a field under a key",
                ));
            };
            attach_below_key(src, node, kn, value, step, nl, edits);
            Ok(())
        }
        (Kind::Seq { flow: true, .. } | Kind::Map { flow: true, .. }, _) => {
            edits.push(Edit {
                start: node.start.byte,
                end: node.end.byte,
                text: render_flow(value),
            });
            Ok(())
        }
        (Kind::Seq { .. }, PatchValue::Seq(_)) => {
            let start = line_start(src, node.start.byte);
            let end = insertion_point(src, node);
            let mut text = String::new();
            render_block(value, node.start.col, step, nl, &mut text);
            if src[start..end] != text {
                edits.push(Edit { start, end, text });
            }
            Ok(())
        }
        _ => Err(other_shape(file, node, full)),
    }
}

/// A unified diff of two texts (3 lines of context), or an empty string when equal.
pub fn unified_diff(old_name: &str, new_name: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // Trim the common prefix and suffix, then LCS on the middle.
    let pre = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suf = a[pre..]
        .iter()
        .rev()
        .zip(b[pre..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let am = &a[pre..a.len() - suf];
    let bm = &b[pre..b.len() - suf];
    let (n, m) = (am.len(), bm.len());
    let mut ops: Vec<(char, &str)> = Vec::new();
    if n * m <= 4_000_000 {
        let mut dp = vec![vec![0u32; m + 1]; n + 1];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                dp[i][j] = if am[i] == bm[j] {
                    dp[i + 1][j + 1] + 1
                } else {
                    dp[i + 1][j].max(dp[i][j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && am[i] == bm[j] {
                ops.push((' ', am[i]));
                i += 1;
                j += 1;
            } else if i < n && (j == m || dp[i + 1][j] >= dp[i][j + 1]) {
                ops.push(('-', am[i]));
                i += 1;
            } else {
                ops.push(('+', bm[j]));
                j += 1;
            }
        }
    } else {
        ops.extend(am.iter().map(|l| ('-', *l)));
        ops.extend(bm.iter().map(|l| ('+', *l)));
    }
    let mut all: Vec<(char, &str)> = a[..pre].iter().map(|l| (' ', *l)).collect();
    all.extend(ops);
    all.extend(a[a.len() - suf..].iter().map(|l| (' ', *l)));
    // Group into hunks with 3 lines of context.
    let changed: Vec<usize> = all
        .iter()
        .enumerate()
        .filter(|(_, (c, _))| *c != ' ')
        .map(|(i, _)| i)
        .collect();
    let mut out = format!("--- {old_name}\n+++ {new_name}\n");
    let mut k = 0;
    while k < changed.len() {
        let start = changed[k].saturating_sub(3);
        let mut end = (changed[k] + 4).min(all.len());
        while k + 1 < changed.len() && changed[k + 1] <= end + 2 {
            k += 1;
            end = (changed[k] + 4).min(all.len());
        }
        let old_start = all[..start].iter().filter(|(c, _)| *c != '+').count() + 1;
        let new_start = all[..start].iter().filter(|(c, _)| *c != '-').count() + 1;
        let old_len = all[start..end].iter().filter(|(c, _)| *c != '+').count();
        let new_len = all[start..end].iter().filter(|(c, _)| *c != '-').count();
        out.push_str(&format!(
            "@@ -{old_start},{old_len} +{new_start},{new_len} @@\n"
        ));
        for (c, l) in &all[start..end] {
            out.push_str(&format!("{c}{l}\n"));
        }
        k += 1;
    }
    out
}
