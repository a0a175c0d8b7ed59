mod common;
use common::*;

#[test]
fn smoke() {
    let env = Env::new();
    let mut g = env.guest();
    let s = g.session(None).unwrap();
    g.set(s, "a", "1").unwrap();
    g.save(s, false).unwrap();
    let key = g.session_key(s).unwrap().unwrap();
    println!("{key} {:?}", env.files());
    let t = g.session(Some(&key)).unwrap();
    assert_eq!(g.get(t, "a").unwrap().as_deref(), Some("1"));
    let c = runtime().engine();
    let _ = c;
}

#[test]
fn imports() {
    let engine = runtime().engine();
    let bytes = std::fs::read(file_sessions_host::GUEST_WASM).unwrap();
    let c = wasmtime::component::Component::new(engine, &bytes).unwrap();
    for (name, _) in c.component_type().imports(engine) { println!("IMPORT {name}"); }
}
