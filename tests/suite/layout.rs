//! The house rules of the source tree, checked on the tree itself: no file imports from a file
//! that imports (directly or through others) from it, a shared helper exists once, the
//! engine's events are matched exhaustively, and no file grows past 900 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `src/` with its module path (`["tune", "run"]`; a `mod.rs` names
/// its folder; `lib.rs` and `main.rs` are the root).
fn modules() -> BTreeMap<Vec<String>, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut out = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&root).unwrap().with_extension("");
        let mut parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if parts.last().is_some_and(|l| l == "mod") {
            parts.pop();
        }
        if parts == ["lib"] || parts == ["main"] {
            parts.clear();
        }
        out.insert(parts, f);
    }
    out
}

/// The source without comments and without its unit-test module.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap();
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Paths written as `crate::a::b`, `super::x` or `self::y` in `src`.
fn paths(src: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let b = src.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let starts = ["crate::", "super::", "self::"]
            .iter()
            .any(|p| b[i..].starts_with(p.as_bytes()));
        let boundary = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        if starts && boundary {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b':') {
                j += 1;
            }
            out.push(
                src[i..j]
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            );
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// The file a path names, seen from module `from`: the longest module prefix that exists.
fn target(
    from: &[String],
    path: &[String],
    mods: &BTreeMap<Vec<String>, PathBuf>,
) -> Option<Vec<String>> {
    let mut cur: Vec<String> = from.to_vec();
    let mut segs: &[String] = path;
    if segs.first().is_some_and(|s| s == "crate") {
        cur.clear();
        segs = &segs[1..];
    } else {
        while let Some(s) = segs.first() {
            match s.as_str() {
                "super" => {
                    cur.pop();
                }
                "self" => {}
                _ => break,
            }
            segs = &segs[1..];
        }
    }
    (0..=segs.len()).rev().find_map(|k| {
        let mut c = cur.clone();
        c.extend(segs[..k].iter().cloned());
        mods.contains_key(&c).then_some(c)
    })
}

#[test]
fn no_file_imports_from_a_file_that_imports_from_it() {
    let mods = modules();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (m, file) in &mods {
        for p in paths(&code(file)) {
            // A module's own files (its mod.rs declaring and re-exporting them) are one
            // concept with it: an edge from a module to what it contains is not an import.
            if let Some(t) = target(m, &p, &mods)
                && t != *m
                && !t.starts_with(m)
            {
                edges.entry(m.clone()).or_default().insert(t);
            }
        }
    }
    // Depth-first search for a path back to the start.
    let mut cycles = Vec::new();
    for start in mods.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, trail)) = stack.pop() {
            for next in edges.get(&at).into_iter().flatten() {
                if next == start {
                    let names: Vec<String> = trail.iter().map(|m| m.join("/")).collect();
                    cycles.push(format!("{} -> {}", names.join(" -> "), start.join("/")));
                } else if seen.insert(next.clone()) {
                    let mut t = trail.clone();
                    t.push(next.clone());
                    stack.push((next.clone(), t));
                }
            }
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn atomic_writes_and_html_escaping_are_written_once() {
    let mods = modules();
    for (needle, what) in [
        ("fn write_atomic(", "write_atomic"),
        ("fn esc(", "HTML escaping"),
    ] {
        let places: Vec<String> = mods
            .values()
            .filter(|f| code(f).contains(needle))
            .map(|f| f.display().to_string())
            .collect();
        assert_eq!(places.len(), 1, "{what} is defined in {places:?}");
    }
}

#[test]
fn the_engine_matches_every_event_kind_by_name() {
    let src = code(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine/sim/mod.rs"));
    let at = src.find("match ev.kind()").expect("the event loop's match");
    let body = &src[at..];
    let end = body
        .find("\n            }\n")
        .expect("the end of the match");
    let arms = &body[..end];
    assert!(
        !arms.contains("_ =>"),
        "a catch-all arm on engine events:\n{arms}"
    );
    assert_eq!(arms.matches("EventKind::").count(), 11, "{arms}");
}

#[test]
fn no_source_file_is_over_900_lines_and_the_command_line_entry_is_small() {
    let mods = modules();
    let long: Vec<String> = mods
        .values()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).unwrap().lines().count();
            (n > 900).then(|| format!("{}: {n} lines", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these along their seams: {long:?}");
    let main = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/main.rs");
    let n = std::fs::read_to_string(main).unwrap().lines().count();
    assert!(
        n < 300,
        "src/main.rs has {n} lines; subcommands belong in src/cli/"
    );
}
