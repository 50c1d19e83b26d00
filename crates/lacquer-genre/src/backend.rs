//! Which ONNX runtime executes the model, decided once per process.
//!
//! `ort` holds one global C-API table and one environment per process, so the
//! backend cannot be chosen per model: the first model that loads fixes it.
//! The default is tract (pure Rust, nothing to install, so an installed
//! `lacquer` runs anywhere). Builds with the `onnxruntime` feature load
//! Microsoft's ONNX Runtime from a shared library instead (about 3x faster
//! per inference, see stack.md), found through `ORT_DYLIB_PATH`;
//! `LACQUER_ONNX_BACKEND=tract|onnxruntime` overrides the choice.

use std::sync::OnceLock;

use ort::environment::Environment;

use crate::error::GenreError;

/// Environment variable that picks the backend: `tract` or `onnxruntime`.
pub const BACKEND_ENV: &str = "LACQUER_ONNX_BACKEND";

/// The runtime behind every [`crate::GenreModel`] of this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// tract, through `ort-tract`: pure Rust, single-threaded.
    Tract,
    /// Microsoft ONNX Runtime loaded from a shared library (cargo feature
    /// `onnxruntime`), one intra-op thread per session.
    OnnxRuntime,
}

impl Backend {
    /// Short name for reports and `--json` output.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tract => "tract",
            Self::OnnxRuntime => "onnxruntime",
        }
    }
}

struct Runtime {
    environment: Environment,
    backend: Backend,
}

/// `Err` holds (backend name, reason): `GenreError` is not `Clone`, and a
/// failed start must fail every later load the same way.
static RUNTIME: OnceLock<Result<Runtime, (&'static str, String)>> = OnceLock::new();

/// The backend this process uses, starting it on first use.
pub fn backend() -> Result<Backend, GenreError> {
    runtime().map(|r| r.backend)
}

pub(crate) fn environment() -> Result<&'static Environment, GenreError> {
    runtime().map(|r| &r.environment)
}

fn runtime() -> Result<&'static Runtime, GenreError> {
    RUNTIME
        .get_or_init(start)
        .as_ref()
        .map_err(|(backend, detail)| GenreError::BackendLoad {
            backend,
            detail: detail.clone(),
        })
}

fn requested() -> Result<Backend, (&'static str, String)> {
    match std::env::var(BACKEND_ENV) {
        Ok(v) if v.eq_ignore_ascii_case("tract") => Ok(Backend::Tract),
        Ok(v) if v.eq_ignore_ascii_case("onnxruntime") => Ok(Backend::OnnxRuntime),
        Ok(v) if !v.is_empty() => Err((
            "unknown",
            format!("{BACKEND_ENV}={v:?}; expected \"tract\" or \"onnxruntime\""),
        )),
        _ if cfg!(feature = "onnxruntime") => Ok(Backend::OnnxRuntime),
        _ => Ok(Backend::Tract),
    }
}

fn start() -> Result<Runtime, (&'static str, String)> {
    let backend = requested()?;
    let builder = match backend {
        Backend::Tract => {
            ort::set_api(ort_tract::api());
            ort::init()
        }
        Backend::OnnxRuntime => native::install()?,
    };
    let environment = builder
        .with_name("lacquer")
        .build()
        .map_err(|e| (backend.name(), e.to_string()))?;
    Ok(Runtime {
        environment,
        backend,
    })
}

#[cfg(not(feature = "onnxruntime"))]
mod native {
    pub(super) fn install() -> Result<ort::environment::EnvironmentBuilder, (&'static str, String)>
    {
        Err((
            "onnxruntime",
            format!(
                "this build has no native ONNX Runtime support; rebuild with \
                 `--features onnxruntime` or unset {}",
                super::BACKEND_ENV
            ),
        ))
    }
}

#[cfg(feature = "onnxruntime")]
mod native {
    //! With the `alternative-backend` feature (which tract needs, and cargo
    //! features are additive) `ort` never looks up the C API itself: it must
    //! be handed the table. So the library is opened here, its `OrtApi`
    //! copied into `ort::set_api`, and `ort::init_from` then checks its
    //! version and builds the environment.
    #![allow(unsafe_code)]

    use std::path::PathBuf;
    use std::sync::OnceLock;

    const NAME: &str = "onnxruntime";

    /// The library stays loaded for the whole process: the API table points
    /// into it.
    static LIBRARY: OnceLock<libloading::Library> = OnceLock::new();

    fn library_path() -> PathBuf {
        match std::env::var_os("ORT_DYLIB_PATH") {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => PathBuf::from(format!(
                "{}onnxruntime{}",
                std::env::consts::DLL_PREFIX,
                std::env::consts::DLL_SUFFIX
            )),
        }
    }

    pub(super) fn install() -> Result<ort::environment::EnvironmentBuilder, (&'static str, String)>
    {
        let path = library_path();
        let fail = |what: String| {
            (
                NAME,
                format!(
                    "{}: {what} (set ORT_DYLIB_PATH to libonnxruntime.so, e.g. the one in the \
                     PyPI `onnxruntime` wheel, or {}=tract)",
                    path.display(),
                    super::BACKEND_ENV
                ),
            )
        };
        // SAFETY: loading a library runs its initialisers; ONNX Runtime's are
        // sound to run once, and the handle is kept for the process lifetime.
        let library = unsafe { libloading::Library::new(&path) }
            .map_err(|e| fail(format!("cannot load the library: {e}")))?;
        let library = LIBRARY.get_or_init(|| library);
        type GetApiBase = unsafe extern "C" fn() -> *const ort::sys::OrtApiBase;
        // SAFETY: `OrtGetApiBase` has this signature in every ONNX Runtime
        // release (it is the C API's stable entry point).
        let get_base = unsafe { library.get::<GetApiBase>(b"OrtGetApiBase") }
            .map_err(|e| fail(format!("not an ONNX Runtime library: {e}")))?;
        // SAFETY: the entry point returns a pointer to a static table or null.
        let base = unsafe { get_base() };
        if base.is_null() {
            return Err(fail("OrtGetApiBase returned null".into()));
        }
        // SAFETY: `base` is non-null and points to the library's static
        // `OrtApiBase`; `GetApi` returns null for an API version the library
        // does not implement, otherwise a table at least as long as the
        // version's `OrtApi`, which is what is copied.
        let api = unsafe { ((*base).GetApi)(ort::sys::ORT_API_VERSION) };
        if api.is_null() {
            return Err(fail(format!(
                "the library does not implement ONNX Runtime C API version {} (too old)",
                ort::sys::ORT_API_VERSION
            )));
        }
        // SAFETY: non-null, aligned, points to a live `OrtApi` (see above).
        ort::set_api(unsafe { (*api).clone() });
        ort::init_from(&path).map_err(|e| fail(e.to_string()))
    }
}
