//! `sessions demo`: the quick start's walk-through, on the portable component.

use crate::failure::Failure;
use crate::{place, store};
use file_sessions_host::{Expiry, Guest, HostError, SessionHandle, Tenant};

/// `sessions demo`: DIR (default ./sessions) is created when missing.
pub fn run(place: &place::Options) -> Result<(), Failure> {
    let tenant = place.tenant(true)?;
    let mut g = store::portable(&tenant)?;
    let s = g.session(None)?;
    println!("file-sessions demo: Django's file session store as a WebAssembly component");
    println!("storage directory: {} (prefix {:?})\n", g.storage_path(s)?, g.file_prefix(s)?);
    let key = create(&mut g, s, &tenant)?;
    let (mut next, t) = load(&tenant, &key)?;
    save(&mut next, t, &tenant, &key)?;
    expire(&mut g, &mut next, t, &tenant, &key)?;
    clear_expired(&mut g)?;
    println!("Try: sessions --dir {} load <key>   (see sessions --help)", tenant.dir.display());
    Ok(())
}

fn create(g: &mut Guest, s: SessionHandle, tenant: &Tenant) -> Result<String, HostError> {
    println!("1. create: a new session holding {{\"user_id\": 42, \"cart\": [\"book\"]}}");
    g.set(s, "user_id", "42")?;
    g.set(s, "cart", r#"["book"]"#)?;
    g.create(s)?;
    let key = g.session_key(s)?.unwrap_or_default();
    println!("   key:  {key}");
    println!("   file: {}", show_file(tenant, &key));
    println!("   (payload:timestamp:signature, exactly as Django writes it)\n");
    Ok(key)
}

fn load(tenant: &Tenant, key: &str) -> Result<(Guest, SessionHandle), HostError> {
    println!("2. load: a fresh instance reads it back, as the next request would");
    let mut next = store::portable(tenant)?;
    let t = next.session(Some(key))?;
    println!("   {}\n", next.load(t)?);
    Ok((next, t))
}

fn save(g: &mut Guest, t: SessionHandle, tenant: &Tenant, key: &str) -> Result<(), HostError> {
    println!("3. save: the request adds to the cart and saves (write a temp file, then rename)");
    let cart = g.get(t, "cart")?.unwrap_or_else(|| "[]".into());
    let mut items: Vec<serde_json::Value> = serde_json::from_str(&cart).unwrap_or_default();
    items.push("pen".into());
    g.set(t, "cart", &serde_json::Value::from(items).to_string())?;
    g.save(t, false)?;
    println!("   {}", g.load(t)?);
    println!("   file: {}\n", show_file(tenant, key));
    Ok(())
}

fn expire(g: &mut Guest, next: &mut Guest, t: SessionHandle, tenant: &Tenant, key: &str) -> Result<(), HostError> {
    println!("4. expiry: set_expiry(-10) and save; the next load finds it expired");
    next.set_expiry(t, Some(&Expiry::Seconds(-10)))?;
    next.save(t, false)?;
    let u = g.session(Some(key))?;
    println!("   load gives {} and a new key {}", g.load(u)?, g.session_key(u)?.unwrap_or_default());
    println!("   the old file is gone: {}\n", !session_file(tenant, key).exists());
    Ok(())
}

fn clear_expired(g: &mut Guest) -> Result<(), HostError> {
    println!("5. clear-expired: sweep a session that expired at a fixed instant");
    let old = g.session(None)?;
    g.set(old, "note", r#""expired yesterday""#)?;
    g.set_expiry(old, Some(&Expiry::Instant("2000-01-01T00:00:00+00:00".into())))?;
    g.create(old)?;
    let r = g.clear_expired()?;
    println!(
        "   scanned {}, removed {} expired session(s), {} temp file(s), {} placeholder(s)\n",
        r.scanned, r.expired_sessions, r.orphaned_temp_files, r.stale_placeholders
    );
    Ok(())
}

fn session_file(tenant: &Tenant, key: &str) -> std::path::PathBuf {
    tenant.dir.join(format!("sessionid{key}"))
}

/// The file's path, size and text, as the demo shows it.
fn show_file(tenant: &Tenant, key: &str) -> String {
    let path = session_file(tenant, key);
    match std::fs::read_to_string(&path) {
        Ok(text) => format!("{} ({} bytes)\n     {text}", path.display(), text.len()),
        Err(e) => format!("{}: {e}", path.display()),
    }
}
