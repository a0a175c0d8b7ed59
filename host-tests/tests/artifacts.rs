//! What the two built components are, read from their bytes with `wasmparser`:
//!
//! * the portable one (`GUEST_WASM`, world `file-sessions`) imports only `wasi:*@0.2.*`
//!   interfaces, exports `file-sessions:store/store@0.2.0` and nothing async, and uses no
//!   component-model async anywhere (no `async` canonical option, no `task.return`, no
//!   stream/future/waitable-set/subtask/context builtins, no `async func` types, no
//!   stream/future/error-context types, no async-ABI core imports or exports);
//! * the async one (`GUEST_ASYNC_WASM`, world `file-sessions-async`) imports
//!   `wasi:filesystem/types@0.3.*`, exports both interfaces and does use all of that, so
//!   the detector that finds nothing in the portable one demonstrably finds things.
//!
//! * the web app (`WEB_APP_WASM`: examples/web-app composed with the portable one) imports
//!   only `wasi:*@0.2.*` interfaces (the store is plugged in, not imported), exports
//!   `wasi:http/incoming-handler@0.2.*`, and uses no component-model async either.
//!
//! The sections are walked recursively: `Parser::parse_all` descends into nested modules
//! and components, and every type declaration is searched recursively too.

use file_sessions_host::serve::WEB_APP_WASM;
use file_sessions_host::{GUEST_ASYNC_WASM, GUEST_WASM};
use wasmparser::{
    CanonicalFunction, CanonicalOption, ComponentDefinedType, ComponentType, ComponentTypeDeclaration,
    ComponentValType, CoreType, Encoding, InstanceTypeDeclaration, Parser, Payload, PrimitiveValType, Validator,
    WasmFeatures,
};

const STORE: &str = "file-sessions:store/store@0.2.0";
const ASYNC_STORE: &str = "file-sessions:store/async-store@0.2.0";

/// Markers wit-bindgen puts in core import/export names for the async ABI.
const CORE_ASYNC_MARKERS: &[&str] = &[
    "[async-lower]",
    "[async-lift]",
    "[callback]",
    "[task-return]",
    "[task-cancel]",
    "[waitable",
    "[subtask-",
    "[context-",
    "[stream-",
    "[future-",
    "[error-context",
    "[backpressure",
    "[thread-",
];

/// Everything a component says about itself that matters here.
#[derive(Default, Debug)]
struct Scan {
    /// Names of the outermost component's imports.
    imports: Vec<String>,
    /// Names of the outermost component's exports.
    exports: Vec<String>,
    /// Nested components and core modules seen (the outermost component not counted).
    nested_components: usize,
    modules: usize,
    /// Canonical lifts and lowers, in all, and those with the `async` option.
    lifts: usize,
    lowers: usize,
    async_lifts: usize,
    async_lowers: usize,
    /// Lifts with a `callback` option (only meaningful with `async`).
    callbacks: usize,
    /// Component-model-async canonical builtins (`task.return`, `stream.new`, ...).
    async_builtins: Vec<String>,
    /// Component function types, in all, and those marked `async`.
    func_types: usize,
    async_func_types: usize,
    /// `stream`, `future` and `error-context` value types.
    async_value_types: usize,
    /// Core import/export names carrying an async-ABI marker.
    core_async_names: Vec<String>,
    core_imports: usize,
}

impl Scan {
    fn of(bytes: &[u8]) -> Scan {
        let mut scan = Scan::default();
        // Encodings of the modules/components being parsed, outermost first.
        let mut stack: Vec<Encoding> = Vec::new();
        for payload in Parser::new(0).parse_all(bytes) {
            let payload = payload.expect("the component parses");
            match payload {
                Payload::Version { encoding, .. } => {
                    if !stack.is_empty() {
                        match encoding {
                            Encoding::Component => scan.nested_components += 1,
                            Encoding::Module => scan.modules += 1,
                        }
                    } else {
                        assert_eq!(encoding, Encoding::Component, "the artifact is a component, not a core module");
                    }
                    stack.push(encoding);
                }
                Payload::End(_) => {
                    stack.pop().expect("balanced nesting");
                }
                Payload::ComponentImportSection(reader) => {
                    for import in reader {
                        let import = import.unwrap();
                        if stack.len() == 1 {
                            scan.imports.push(import.name.name.to_owned());
                        }
                    }
                }
                Payload::ComponentExportSection(reader) => {
                    for export in reader {
                        let export = export.unwrap();
                        if stack.len() == 1 {
                            scan.exports.push(export.name.name.to_owned());
                        }
                    }
                }
                Payload::ComponentCanonicalSection(reader) => {
                    for canon in reader {
                        scan.canonical(canon.unwrap());
                    }
                }
                Payload::ComponentTypeSection(reader) => {
                    for ty in reader {
                        scan.component_type(&ty.unwrap());
                    }
                }
                Payload::CoreTypeSection(reader) => {
                    for ty in reader {
                        scan.core_type(&ty.unwrap());
                    }
                }
                Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        let import = import.unwrap();
                        scan.core_imports += 1;
                        scan.core_name(import.module);
                        scan.core_name(import.name);
                    }
                }
                Payload::ExportSection(reader) => {
                    for export in reader {
                        scan.core_name(export.unwrap().name);
                    }
                }
                _ => {}
            }
        }
        assert!(stack.is_empty(), "the parse ended inside a nested module or component");
        scan
    }

    fn core_name(&mut self, name: &str) {
        if CORE_ASYNC_MARKERS.iter().any(|m| name.contains(m)) {
            self.core_async_names.push(name.to_owned());
        }
    }

    fn canonical(&mut self, canon: CanonicalFunction) {
        let has_async = |options: &[CanonicalOption]| options.contains(&CanonicalOption::Async);
        let builtin = match canon {
            CanonicalFunction::Lift { options, .. } => {
                self.lifts += 1;
                self.async_lifts += usize::from(has_async(&options));
                self.callbacks += options.iter().filter(|o| matches!(o, CanonicalOption::Callback(_))).count();
                return;
            }
            CanonicalFunction::Lower { options, .. } => {
                self.lowers += 1;
                self.async_lowers += usize::from(has_async(&options));
                return;
            }
            CanonicalFunction::ResourceNew { .. }
            | CanonicalFunction::ResourceDrop { .. }
            | CanonicalFunction::ResourceRep { .. } => return,
            CanonicalFunction::TaskReturn { .. } => "task.return",
            CanonicalFunction::TaskCancel => "task.cancel",
            CanonicalFunction::ContextGet { .. } => "context.get",
            CanonicalFunction::ContextSet { .. } => "context.set",
            CanonicalFunction::BackpressureInc => "backpressure.inc",
            CanonicalFunction::BackpressureDec => "backpressure.dec",
            CanonicalFunction::SubtaskDrop => "subtask.drop",
            CanonicalFunction::SubtaskCancel { .. } => "subtask.cancel",
            CanonicalFunction::StreamNew { .. } => "stream.new",
            CanonicalFunction::StreamRead { .. } => "stream.read",
            CanonicalFunction::StreamWrite { .. } => "stream.write",
            CanonicalFunction::StreamCancelRead { .. } => "stream.cancel-read",
            CanonicalFunction::StreamCancelWrite { .. } => "stream.cancel-write",
            CanonicalFunction::StreamDropReadable { .. } => "stream.drop-readable",
            CanonicalFunction::StreamDropWritable { .. } => "stream.drop-writable",
            CanonicalFunction::FutureNew { .. } => "future.new",
            CanonicalFunction::FutureRead { .. } => "future.read",
            CanonicalFunction::FutureWrite { .. } => "future.write",
            CanonicalFunction::FutureCancelRead { .. } => "future.cancel-read",
            CanonicalFunction::FutureCancelWrite { .. } => "future.cancel-write",
            CanonicalFunction::FutureDropReadable { .. } => "future.drop-readable",
            CanonicalFunction::FutureDropWritable { .. } => "future.drop-writable",
            CanonicalFunction::ErrorContextNew { .. } => "error-context.new",
            CanonicalFunction::ErrorContextDebugMessage { .. } => "error-context.debug-message",
            CanonicalFunction::ErrorContextDrop => "error-context.drop",
            CanonicalFunction::WaitableSetNew => "waitable-set.new",
            CanonicalFunction::WaitableSetWait { .. } => "waitable-set.wait",
            CanonicalFunction::WaitableSetPoll { .. } => "waitable-set.poll",
            CanonicalFunction::WaitableSetDrop => "waitable-set.drop",
            CanonicalFunction::WaitableJoin => "waitable.join",
            // Threads (shared-everything and cooperative): not used by either component,
            // and the portable one must not use them either.
            CanonicalFunction::ThreadSpawnRef { .. } => "thread.spawn-ref",
            CanonicalFunction::ThreadSpawnIndirect { .. } => "thread.spawn-indirect",
            CanonicalFunction::ThreadAvailableParallelism => "thread.available-parallelism",
            CanonicalFunction::ThreadYield { .. } => "thread.yield",
            CanonicalFunction::ThreadIndex => "thread.index",
            CanonicalFunction::ThreadNewIndirect { .. } => "thread.new-indirect",
            CanonicalFunction::ThreadResumeLater => "thread.resume-later",
            CanonicalFunction::ThreadSuspend { .. } => "thread.suspend",
            CanonicalFunction::ThreadSuspendThenResume { .. } => "thread.suspend-then-resume",
            CanonicalFunction::ThreadYieldThenResume { .. } => "thread.yield-then-resume",
            CanonicalFunction::ThreadSuspendThenPromote { .. } => "thread.suspend-then-promote",
            CanonicalFunction::ThreadYieldThenPromote { .. } => "thread.yield-then-promote",
        };
        self.async_builtins.push(builtin.to_owned());
    }

    fn component_type(&mut self, ty: &ComponentType) {
        match ty {
            ComponentType::Func(f) => {
                self.func_types += 1;
                self.async_func_types += usize::from(f.async_);
                for (_, v) in &f.params {
                    self.val_type(v);
                }
                if let Some(v) = &f.result {
                    self.val_type(v);
                }
            }
            ComponentType::Defined(d) => self.defined_type(d),
            ComponentType::Component(decls) => {
                for decl in decls {
                    match decl {
                        ComponentTypeDeclaration::Type(t) => self.component_type(t),
                        ComponentTypeDeclaration::CoreType(t) => self.core_type(t),
                        _ => {}
                    }
                }
            }
            ComponentType::Instance(decls) => {
                for decl in decls {
                    match decl {
                        InstanceTypeDeclaration::Type(t) => self.component_type(t),
                        InstanceTypeDeclaration::CoreType(t) => self.core_type(t),
                        _ => {}
                    }
                }
            }
            ComponentType::Resource { .. } => {}
        }
    }

    fn defined_type(&mut self, d: &ComponentDefinedType) {
        match d {
            ComponentDefinedType::Future(_) | ComponentDefinedType::Stream(_) => self.async_value_types += 1,
            ComponentDefinedType::Primitive(p) => self.primitive(*p),
            _ => {}
        }
    }

    fn val_type(&mut self, v: &ComponentValType) {
        if let ComponentValType::Primitive(p) = v {
            self.primitive(*p);
        }
    }

    fn primitive(&mut self, p: PrimitiveValType) {
        if p == PrimitiveValType::ErrorContext {
            self.async_value_types += 1;
        }
    }

    fn core_type(&mut self, ty: &CoreType) {
        if let CoreType::Module(decls) = ty {
            for decl in decls {
                if let wasmparser::ModuleTypeDeclaration::Import(import) = decl {
                    self.core_name(import.module);
                    self.core_name(import.name);
                }
            }
        }
    }

    /// A one-paragraph account, for the test output.
    fn summary(&self) -> String {
        format!(
            "{} nested components, {} core modules, {} lifts, {} lowers, {} func types, {} core imports; imports {:?}; exports {:?}; async signs: {:?}",
            self.nested_components,
            self.modules,
            self.lifts,
            self.lowers,
            self.func_types,
            self.core_imports,
            self.imports,
            self.exports,
            self.async_signs(),
        )
    }

    /// Any trace of component-model async, by any of the independent signs.
    fn async_signs(&self) -> Vec<String> {
        let mut signs = Vec::new();
        if self.async_lifts > 0 {
            signs.push(format!("{} async lifts", self.async_lifts));
        }
        if self.async_lowers > 0 {
            signs.push(format!("{} async lowers", self.async_lowers));
        }
        if self.callbacks > 0 {
            signs.push(format!("{} lifts with a callback", self.callbacks));
        }
        if !self.async_builtins.is_empty() {
            let mut b = self.async_builtins.clone();
            b.sort();
            b.dedup();
            signs.push(format!("{} async builtins ({})", self.async_builtins.len(), b.join(", ")));
        }
        if self.async_func_types > 0 {
            signs.push(format!("{} async func types", self.async_func_types));
        }
        if self.async_value_types > 0 {
            signs.push(format!("{} stream/future/error-context types", self.async_value_types));
        }
        if !self.core_async_names.is_empty() {
            signs.push(format!(
                "{} async-ABI core names (e.g. {})",
                self.core_async_names.len(),
                self.core_async_names.iter().take(3).cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        signs
    }
}

/// The component as embedded in the host, checked against the file the build wrote.
fn read(embedded: &[u8], path: &str) -> Vec<u8> {
    let built = std::fs::read(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    assert!(built == embedded, "{path} is not what the host embeds");
    built
}

/// wasmparser's default features without component-model async (and the async-adjacent
/// proposals): what a host without async support would accept.
fn features_without_async() -> WasmFeatures {
    WasmFeatures::default()
        - WasmFeatures::CM_ASYNC
        - WasmFeatures::CM_ASYNC_STACKFUL
        - WasmFeatures::CM_MORE_ASYNC_BUILTINS
        - WasmFeatures::CM_ERROR_CONTEXT
        - WasmFeatures::CM_THREADING
}

fn validates(bytes: &[u8], features: WasmFeatures) -> Result<(), String> {
    Validator::new_with_features(features).validate_all(bytes).map(|_| ()).map_err(|e| e.to_string())
}

/// `wasi:<pkg>/<iface>@<version>` split into its interface and version.
fn wasi_version(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix("wasi:")?;
    let (iface, version) = rest.split_once('@')?;
    iface.contains('/').then_some((iface, version))
}

#[test]
fn the_portable_component_is_wasi_0_2_only_and_uses_no_component_model_async() {
    let bytes = read(GUEST_WASM, env!("FILE_SESSIONS_WASM"));
    let scan = Scan::of(&bytes);
    println!("portable component: {}", scan.summary());

    // The walk saw a real component: the core module(s), canonical lifts and lowers, imports.
    assert!(scan.modules >= 1, "no core module found: the walk did not descend");
    assert!(scan.lifts > 0 && scan.lowers > 0, "no lifts or lowers found: the walk saw nothing");
    assert!(scan.func_types > 0, "no component func types found");
    assert!(scan.core_imports > 0, "no core imports found");
    assert!(!scan.imports.is_empty(), "no imports found");

    // Imports: WASI 0.2 interfaces, nothing else.
    for name in &scan.imports {
        assert!(!name.contains("@0.3"), "the portable component imports a WASI 0.3 interface: {name}");
        let Some((_, version)) = wasi_version(name) else {
            panic!("the portable component imports something other than a WASI interface: {name}");
        };
        assert!(version.starts_with("0.2."), "the portable component imports {name}, not WASI 0.2.*");
    }
    assert!(
        scan.imports.iter().any(|n| n.starts_with("wasi:filesystem/types@0.2.")),
        "the portable component does not import wasi:filesystem/types@0.2.*: {:?}",
        scan.imports
    );

    // Exports: the sync interface only.
    assert!(scan.exports.iter().any(|n| n == STORE), "{STORE} not exported: {:?}", scan.exports);
    assert!(
        !scan.exports.iter().any(|n| n.contains("async-store")),
        "the portable component exports the async interface: {:?}",
        scan.exports
    );

    // No component-model async at all.
    assert_eq!(scan.async_signs(), Vec::<String>::new(), "the portable component uses component-model async");

    // And independently: it validates with component-model async switched off.
    validates(&bytes, features_without_async())
        .unwrap_or_else(|e| panic!("the portable component needs features beyond plain component model: {e}"));
}

#[test]
fn the_async_component_imports_wasi_0_3_and_uses_component_model_async() {
    let bytes = read(GUEST_ASYNC_WASM, env!("FILE_SESSIONS_ASYNC_WASM"));
    let scan = Scan::of(&bytes);
    println!("async component: {}", scan.summary());

    assert!(
        scan.imports.iter().any(|n| n.starts_with("wasi:filesystem/types@0.3")),
        "the async component does not import wasi:filesystem/types@0.3.*: {:?}",
        scan.imports
    );
    for name in &scan.imports {
        assert!(wasi_version(name).is_some(), "the async component imports something other than WASI: {name}");
    }
    assert!(scan.exports.iter().any(|n| n == STORE), "{STORE} not exported: {:?}", scan.exports);
    assert!(scan.exports.iter().any(|n| n == ASYNC_STORE), "{ASYNC_STORE} not exported: {:?}", scan.exports);

    // Each sign the portable check looks for is present here, so that check is not vacuous.
    assert!(scan.async_lifts > 0, "no async lifts in the async component");
    assert!(scan.async_lowers > 0, "no async lowers in the async component");
    assert!(scan.async_builtins.iter().any(|b| b == "task.return"), "no task.return in the async component");
    assert!(
        scan.async_builtins.iter().any(|b| b.starts_with("waitable-set.")),
        "no waitable-set builtins in the async component: {:?}",
        scan.async_builtins
    );
    assert!(scan.async_func_types > 0, "no async func types in the async component");
    assert!(!scan.core_async_names.is_empty(), "no async-ABI core names in the async component");
    assert!(!scan.async_signs().is_empty());

    // It is a valid component with async on, and not without it.
    validates(&bytes, WasmFeatures::default() | WasmFeatures::CM_MORE_ASYNC_BUILTINS | WasmFeatures::CM_ERROR_CONTEXT)
        .unwrap_or_else(|e| panic!("the async component does not validate with component-model async: {e}"));
    assert!(
        validates(&bytes, features_without_async()).is_err(),
        "the async component validates without component-model async: the validation check is vacuous"
    );
}

/// The same detector, both artifacts, opposite answers. Also prints the sizes (for the
/// record; nothing is asserted about them).
#[test]
fn the_detector_tells_the_two_apart() {
    let (portable_bytes, async_bytes) =
        (read(GUEST_WASM, env!("FILE_SESSIONS_WASM")), read(GUEST_ASYNC_WASM, env!("FILE_SESSIONS_ASYNC_WASM")));
    println!("ARTIFACT | portable component | {} | {} bytes", env!("FILE_SESSIONS_WASM"), portable_bytes.len());
    println!("ARTIFACT | async component | {} | {} bytes", env!("FILE_SESSIONS_ASYNC_WASM"), async_bytes.len());
    let portable = Scan::of(&portable_bytes);
    let asynchronous = Scan::of(&async_bytes);
    assert!(portable.async_signs().is_empty(), "portable: {:?}", portable.async_signs());
    assert!(!asynchronous.async_signs().is_empty(), "async: nothing detected");
    let wasi03 = |s: &Scan| s.imports.iter().any(|n| n.contains("@0.3"));
    assert!(!wasi03(&portable) && wasi03(&asynchronous));
    println!("async component's signs: {:?}", asynchronous.async_signs());
}

#[test]
fn the_composed_web_app_imports_only_wasi_0_2() {
    let bytes = read(WEB_APP_WASM, env!("FILE_SESSIONS_WEB_APP_WASM"));
    let scan = Scan::of(&bytes);
    println!("web app: {} bytes, {}", bytes.len(), scan.summary());
    println!("web app imports: {}", scan.imports.join(", "));

    // Two components inside (the handler and the store), each with its core module(s).
    assert!(scan.nested_components >= 2, "the store and the handler are not both inside: {}", scan.summary());
    assert!(!scan.imports.is_empty(), "no imports found");
    for name in &scan.imports {
        let Some((_, version)) = wasi_version(name) else {
            panic!("the web app imports something other than a WASI interface: {name}");
        };
        assert!(version.starts_with("0.2."), "the web app imports {name}, not WASI 0.2.*");
    }
    for needed in ["wasi:filesystem/types@0.2.", "wasi:http/types@0.2.", "wasi:cli/environment@0.2."] {
        assert!(scan.imports.iter().any(|n| n.starts_with(needed)), "{needed}* not imported: {:?}", scan.imports);
    }
    assert!(
        scan.exports.iter().any(|n| n.starts_with("wasi:http/incoming-handler@0.2.")),
        "wasi:http/incoming-handler@0.2.* not exported: {:?}",
        scan.exports
    );
    assert_eq!(scan.async_signs(), Vec::<String>::new(), "the web app uses component-model async");
    validates(&bytes, features_without_async())
        .unwrap_or_else(|e| panic!("the web app needs features beyond plain component model: {e}"));
}
