//! The structure ARCHITECTURE.md promises, checked on the source: the crate's top-level
//! modules form a graph without cycles, the layers only point down, detectors and the policy
//! stay pure, and only `state` names files of the state directory.
//!
//! A module "uses" another when its code (not its comments, not its `#[cfg(test)]` parts)
//! names `crate::<other>`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without comments and without its test module.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Top-level module → the top-level modules its code names.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if top == "main" || top == "lib" || f.file_name().unwrap() == "tests.rs" {
            continue;
        }
        let text = code(&std::fs::read_to_string(&f).unwrap());
        let deps = g.entry(top.clone()).or_default();
        let mut rest = text.as_str();
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                group[..end]
                    .split(',')
                    .map(|s| s.trim().split("::").next().unwrap_or("").trim())
                    .collect()
            } else {
                vec![rest
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .next()
                    .unwrap_or("")]
            };
            for n in names {
                if !n.is_empty() && n != top && n != "self" {
                    deps.insert(n.to_string());
                }
            }
        }
    }
    let modules: BTreeSet<String> = g.keys().cloned().collect();
    for deps in g.values_mut() {
        deps.retain(|d| modules.contains(d));
    }
    g
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        t.index.insert(v, t.next);
        t.low.insert(v, t.next);
        t.next += 1;
        t.stack.push(v);
        t.on.insert(v);
        for w in &t.g[v] {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            loop {
                let w = t.stack.pop().unwrap();
                t.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

#[test]
fn the_module_graph_has_no_cycle_and_the_layers_point_down() {
    let g = graph();
    for m in [
        "app", "cli", "pipeline", "state", "detect", "policy", "ingest", "aws",
    ] {
        assert!(g.contains_key(m), "no module {m}: {:?}", g.keys());
    }
    assert_eq!(
        cycles(&g),
        Vec::<Vec<String>>::new(),
        "module cycles in {g:#?}"
    );

    let uses = |m: &str| -> &BTreeSet<String> { &g[m] };
    let only = |m: &str, allowed: &[&str]| {
        let extra: Vec<&String> = uses(m)
            .iter()
            .filter(|d| !allowed.contains(&d.as_str()))
            .collect();
        assert!(extra.is_empty(), "{m} must not use {extra:?}");
    };
    // Detectors are pure functions of rollups, baselines and the catalog.
    only(
        "detect",
        &["baseline", "catalog", "event", "finding", "rollup", "time"],
    );
    // The policy decides on findings alone.
    only("policy", &["catalog", "finding", "time"]);
    // The state directory's owner stands on nothing but time.
    only("state", &["time"]);
    // Remote sources feed ingest; ingest does not know them.
    assert!(!uses("ingest").contains("aws"), "ingest must not use aws");
    // The use cases are called from the edge only.
    for (m, deps) in &g {
        if !["app", "cli"].contains(&m.as_str()) {
            for edge in ["app", "cli", "pipeline"] {
                assert!(
                    m == edge || !deps.contains(edge),
                    "{m} uses {edge}: only the command line sits above the pipeline"
                );
            }
        }
    }
}

#[test]
fn only_the_state_module_names_state_files() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    // A path under the state is built by joining one of its names, or formatting a rollup file.
    let names = [
        "manifest.json",
        "models/baselines.json",
        "baselines.json",
        "ingest-log.json",
        "runs.json",
        "sources",
        "local.json",
        "s3.json",
        "cloudtrail.json",
        "run.lock",
        "rollups",
    ];
    let built = |text: &str, n: &str| {
        text.contains(&format!("join(\"{n}"))
            || text.contains(&format!("\"{n}/"))
            || text.contains(&format!("\"{n}\""))
    };
    let mut offenders = Vec::new();
    for f in files {
        if f.starts_with(src.join("state")) {
            continue;
        }
        let text = code(&std::fs::read_to_string(&f).unwrap());
        for n in names {
            if built(&text, n) {
                offenders.push(format!("{}: {n}", f.display()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "state paths built outside src/state: {offenders:#?}"
    );
}

#[test]
fn the_checker_sees_a_cycle_and_a_grouped_import() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.insert("a".into(), ["b".to_string()].into());
    g.insert("b".into(), ["c".to_string()].into());
    g.insert("c".into(), ["a".to_string()].into());
    g.insert("d".into(), BTreeSet::new());
    assert_eq!(cycles(&g), vec![vec!["a", "b", "c"]]);
    g.get_mut("c").unwrap().clear();
    assert!(cycles(&g).is_empty());
    let text = code("use crate::{alpha::X, beta};\n// crate::gamma\nfn f() { crate::delta::g() }\n#[cfg(test)]\nmod tests { use crate::eps; }");
    assert!(text.contains("alpha") && !text.contains("gamma") && !text.contains("eps"));
}
