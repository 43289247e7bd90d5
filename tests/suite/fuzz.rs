//! A mutation harness for every reader, on the stable toolchain: inputs seeded from
//! tests/data and the models are mutated (bytes flipped, cut, repeated; numbers replaced by
//! extreme ones; lines duplicated or dropped) and fed to the manifest reader, the service
//! model, the experiment reader and each trace format. Every input must end in a value or an
//! error: no panic, no abort. The mutations run in a child process under 1 GB of address space
//! for a bounded time, so an input that asks for gigabytes fails the test instead of the
//! machine.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Time for each reader (`SCALETWIN_FUZZ_SECS` overrides it).
fn budget() -> Duration {
    let s = std::env::var("SCALETWIN_FUZZ_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8.0);
    Duration::from_secs_f64(s)
}

/// A small deterministic generator (xorshift64*): the same run mutates the same way.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const WILD: [&str; 14] = [
    "1e9",
    "-1",
    "0",
    "NaN",
    "1e308",
    "-0",
    "99999999999999999999",
    "0.000001",
    "''",
    "~",
    "*a",
    "&a x",
    "[",
    "{",
];

/// One mutation of `seed`.
fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        if v.is_empty() {
            v.extend_from_slice(b"x");
        }
        let at = rng.below(v.len());
        match rng.below(8) {
            0 => v[at] ^= 1 << rng.below(8),
            1 => {
                let end = (at + 1 + rng.below(64)).min(v.len());
                v.drain(at..end);
            }
            2 => {
                let end = (at + 1 + rng.below(256)).min(v.len());
                let chunk = v[at..end].to_vec();
                for _ in 0..1 + rng.below(8) {
                    v.splice(at..at, chunk.iter().copied());
                }
            }
            3 | 4 => {
                // A number in the text replaced by a wild value.
                let digits: Vec<usize> = (0..v.len()).filter(|i| v[*i].is_ascii_digit()).collect();
                if let Some(&i) = digits.get(rng.below(digits.len())) {
                    let mut j = i;
                    while j < v.len() && (v[j].is_ascii_digit() || v[j] == b'.') {
                        j += 1;
                    }
                    let w = WILD[rng.below(WILD.len())].as_bytes();
                    v.splice(i..j, w.iter().copied());
                }
            }
            5 => {
                // A line repeated or dropped.
                let lines: Vec<&[u8]> = v.split(|b| *b == b'\n').collect();
                let k = rng.below(lines.len());
                let mut out: Vec<Vec<u8>> = lines.iter().map(|l| l.to_vec()).collect();
                if rng.below(2) == 0 {
                    out.insert(k, out[k].clone());
                } else {
                    out.remove(k);
                }
                v = out.join(&b'\n');
            }
            6 => v.insert(at, b"\n\t:-[{\"'#&*!|>%@`"[rng.below(17)]),
            _ => v.truncate(at),
        }
    }
    v
}

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Every file under `dir` with one of `exts`.
fn seeds(dirs: &[&str], exts: &[&str]) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(d: &Path, exts: &[&str], out: &mut Vec<(PathBuf, Vec<u8>)>) {
        let Ok(entries) = std::fs::read_dir(d) else {
            return;
        };
        let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, exts, out);
            } else if exts.iter().any(|x| p.to_string_lossy().ends_with(x))
                && let Ok(b) = std::fs::read(&p)
                && b.len() < 2_000_000
            {
                out.push((p, b));
            }
        }
    }
    let mut out = Vec::new();
    for d in dirs {
        walk(&data(d), exts, &mut out);
    }
    out
}

/// Feed mutations of `seeds` to `read` for the budget; a panic names the input that caused
/// it (kept in the temporary folder for the report).
fn run(name: &str, seeds: &[(PathBuf, Vec<u8>)], read: &dyn Fn(&Path, &[u8])) {
    assert!(!seeds.is_empty(), "{name}: no seed inputs");
    let dir = std::env::temp_dir().join(format!("scaletwin-fuzz-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < budget() && n < 200_000 {
        let (path, seed) = &seeds[rng.below(seeds.len())];
        let input = mutate(seed, &mut rng);
        let file = dir.join(path.file_name().unwrap());
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read(&file, &input)));
        if ok.is_err() {
            std::fs::write(&file, &input).unwrap();
            panic!(
                "{name}: a mutation of {} panicked; the input is {}",
                path.display(),
                file.display()
            );
        }
        n += 1;
    }
    eprintln!("fuzz {name}: {n} mutated inputs, no panic");
}

/// The harness itself, run by [`readers_survive_mutated_inputs`] in a child process with
/// bounded memory (ignored when run directly).
#[test]
#[ignore = "run by readers_survive_mutated_inputs under a memory limit"]
fn mutation_harness() {
    use scaletwin::manifest::{ManifestSet, load_str};
    use scaletwin::scenario::{ModelSources, ParsedModel};
    let manifests = seeds(&["tests/data", "models"], &[".yaml", ".yml"]);
    run("manifest", &manifests, &|p, b| {
        let mut set = ManifestSet::default();
        let _ = load_str(p, &String::from_utf8_lossy(b), &mut set);
    });
    // service.yaml with its model's manifests.
    let services: Vec<(PathBuf, Vec<u8>)> = seeds(&["tests/data", "models"], &["service.yaml"]);
    run("service", &services, &|_, b| {
        let dir = data("models/demo");
        let Ok(src) = ModelSources::read_dir(&dir) else {
            return;
        };
        let src = ModelSources {
            service: (
                src.service.0.clone(),
                String::from_utf8_lossy(b).to_string(),
            ),
            ..src
        };
        if let Ok(m) = ParsedModel::parse(&src)
            && let Ok(loaded) = m.compile(&[])
        {
            let _ = scaletwin::engine::check_run(
                &loaded.model,
                &loaded.scenario.workload,
                &loaded.scenario.run_config(1),
            );
        }
    });
    let experiments = seeds(&["experiments", "tests/data/repro"], &[".yaml"]);
    run("experiment", &experiments, &|_, b| {
        let _ = scaletwin::tune::Experiment::parse("e.yaml", &String::from_utf8_lossy(b));
    });
    let traces = seeds(
        &["tests/data/traces", "tests/data/repro"],
        &[".csv", ".json", ".log", ".txt", ".parquet"],
    );
    run("trace", &traces, &|p, b| {
        std::fs::write(p, b).unwrap();
        if let Ok(t) = scaletwin::trace::read::read(p, &Default::default()) {
            let _ = t.info();
        }
    });
}

#[test]
fn readers_survive_mutated_inputs() {
    let exe = std::env::current_exe().unwrap();
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg(
            "ulimit -v 1000000 && exec \"$0\" --ignored --exact fuzz::mutation_harness --nocapture",
        )
        .arg(exe)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success(),
        "{}{err}",
        String::from_utf8_lossy(&o.stdout)
    );
    for r in ["manifest", "service", "experiment", "trace"] {
        assert!(
            err.contains(&format!("fuzz {r}: ")),
            "{r} did not run: {err}"
        );
    }
}
