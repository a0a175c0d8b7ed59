//! A person in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`), driven by Selenium from the test virtualenv, uses the web app on
//! `sessions serve` and the Django app on gunicorn side by side (browser/walkthrough.py:
//! log in on one, shop on the other, log out on either). Screenshots of every step land
//! in `target/browser-shots/`; the README shows some of them (docs/).

mod common;

use common::venv::{manifest_dir, python as venv_python};
use common::web::{App, Django, Host, free_port};
use std::path::Path;
use std::process::Command;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

#[test]
fn a_person_shares_one_session_between_the_wasm_app_and_django() {
    for tool in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(tool).exists(),
            "{tool} is missing: `apt-get install chromium chromium-driver` (.ci/run installs them)"
        );
    }
    // Each app links to the other: Django's port is chosen first.
    let django_port = free_port();
    let django_url = format!("http://127.0.0.1:{django_port}/");
    let app = App::start(Host::SessionsServe, &[("PEER_URL", &django_url)]).expect("sessions serve");
    let wasm_url = format!("http://{}/", app.addr);
    let _django = Django::start_at(app.dir.path(), &[("PEER_URL", &wasm_url)], Some(django_port));

    let shots = manifest_dir().parent().unwrap().join("target").join("browser-shots");
    let out = Command::new(venv_python())
        .arg(manifest_dir().join("browser").join("walkthrough.py"))
        .args(["--wasm", &wasm_url, "--django", &django_url, "--chromium", CHROMIUM, "--chromedriver", CHROMEDRIVER])
        .arg("--shots")
        .arg(&shots)
        .output()
        .expect("running walkthrough.py");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{stdout}");
    assert!(out.status.success(), "the walk-through failed ({}):\n{stdout}\n{stderr}", out.status);
    let taken = std::fs::read_dir(&shots)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "png"));
    assert_eq!(taken.count(), 8, "one screenshot per step in {}", shots.display());
}
