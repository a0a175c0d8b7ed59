//! Django 5.2.19's OWN session tests against the component: `host-tests/django/
//! run_django_tests.py` runs Django's `FileSessionTests`, `FileSessionPathLibTests` and
//! `SessionBaseTests` (unmodified, from Django's sdist on PyPI) with the backend replaced
//! by a `SessionStore` that calls the portable component through the PyPI `wasmtime`
//! package. The outcomes must be exactly the ones `host-tests/DJANGO_TESTS.md` lists: its
//! table of non-passing tests, and its count of passing ones per class.

mod common;

use common::venv::{manifest_dir, python};
use std::collections::BTreeMap;
use std::process::{Command, Stdio};

/// Each test's outcome (`pass`, `fail`, `error`, `skip`), from the Python run.
fn run() -> BTreeMap<String, String> {
    let cache = manifest_dir().parent().unwrap().join("target").join("django-tests");
    // The component this host embeds, as the file the Python side loads.
    let wasm = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(wasm.path(), file_sessions_host::GUEST_WASM).unwrap();
    let out = Command::new(python())
        .arg(manifest_dir().join("django").join("run_django_tests.py"))
        .arg("--wasm")
        .arg(wasm.path())
        .arg("--cache")
        .arg(&cache)
        .stdin(Stdio::null())
        .output()
        .expect("running run_django_tests.py");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "run_django_tests.py failed ({}):\n{stderr}", out.status);
    let outcomes: BTreeMap<String, String> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("run_django_tests.py printed no JSON ({e}):\n{stderr}"));
    // A skip's reason is for people; the list records that it is a skip.
    outcomes.into_iter().map(|(test, o)| (test, o.split(':').next().unwrap().to_owned())).collect()
}

/// What `DJANGO_TESTS.md` says: the non-passing tests with their outcome, and the number of
/// passing tests per class.
fn expected() -> (BTreeMap<String, String>, BTreeMap<String, usize>) {
    let doc = std::fs::read_to_string(manifest_dir().join("DJANGO_TESTS.md")).unwrap();
    let section = doc.split("## Django's own tests").nth(1).expect("the section in DJANGO_TESTS.md");
    let section = section.split("\n## ").next().unwrap();
    let mut non_passing = BTreeMap::new();
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        non_passing.insert(cells[1].trim_matches('`').to_owned(), cells[2].to_owned());
    }
    let counts = section.split("namely ").nth(1).expect("the pass counts").split('.').next().unwrap();
    let passing = counts
        .split(',')
        .map(|c| {
            let (class, n) = c.trim().rsplit_once(' ').unwrap();
            (class.trim().to_owned(), n.parse().unwrap())
        })
        .collect();
    (non_passing, passing)
}

#[test]
fn djangos_own_session_tests_pass_against_the_component_except_the_listed_ones() {
    let outcomes = run();
    let (non_passing, passing) = expected();
    assert!(!non_passing.is_empty() && !passing.is_empty(), "DJANGO_TESTS.md lists them");
    let got: BTreeMap<_, _> =
        outcomes.iter().filter(|(_, o)| *o != "pass").map(|(t, o)| (t.clone(), o.clone())).collect();
    assert_eq!(got, non_passing, "the non-passing tests and their outcomes, against DJANGO_TESTS.md");
    let mut got_passing = BTreeMap::new();
    for test in outcomes.iter().filter(|(_, o)| *o == "pass").map(|(t, _)| t) {
        *got_passing.entry(test.split('.').next().unwrap().to_owned()).or_insert(0) += 1;
    }
    assert_eq!(got_passing, passing, "passing tests per class, against DJANGO_TESTS.md");
}
