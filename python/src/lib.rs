//! The extension module `nestedvm._nestedvm`: nestedvm's `run --batch` protocol as a Python
//! API. A request dict is written as the JSON line the command would read and answered by the
//! library's own batch code ([`nestedvm::batch`]), so a request and its result mean exactly
//! what they mean to `nestedvm run --batch` with no flags (docs/python.md).

mod answer;
mod request;
mod stream;

use nestedvm::batch::{self, Batch};
use nestedvm::jit::JitCache;
use nestedvm::{Config, Engine, Request};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

/// The most threads `run_batch` takes, as `run --batch --jobs` (bins/nestedvm).
const MAX_JOBS: usize = 1024;

/// A nestedvm engine answering requests of the `run --batch` protocol.
///
/// One `Vm` keeps one batch: the worlds requests name with `"world"` live across calls of
/// `run`, and code analysed or compiled for one request is reused by the next.
#[pyclass(module = "nestedvm", frozen)]
struct Vm {
    /// The batch `run` answers with; locked while a request runs, with the GIL released.
    batch: Mutex<Batch>,
    /// The defaults of a request (those of `run --batch`, with the `Vm`'s engine).
    config: Config,
    request: Request,
    /// Compiled code and heat, shared by `run` and every `run_batch`: code compiled for one
    /// call runs native in the next.
    jit_cache: Arc<JitCache>,
}

#[pymethods]
impl Vm {
    /// A VM whose requests run on `engine` unless they say otherwise: "auto" (the
    /// interpreter, tiering hot code up to the JIT), "interp" or "jit". `evm_gas=False` is
    /// `run --batch --no-evm-gas`: a `hyvm` result's `evm_gas_used` is `None`, and the second
    /// run of the code as a plain contract that gives it is skipped.
    #[new]
    #[pyo3(signature = (engine = "auto", evm_gas = true))]
    fn new(engine: &str, evm_gas: bool) -> PyResult<Self> {
        let engine: Engine = engine.parse().map_err(PyValueError::new_err)?;
        let (mut config, request) = batch::defaults();
        config.engine = engine;
        config.evm_gas = evm_gas;
        let jit_cache = Arc::new(JitCache::new(256));
        let vm = nestedvm::Vm::with_jit_cache(jit_cache.clone());
        Ok(Vm {
            batch: Mutex::new(Batch::new(vm, config, request.clone())),
            config,
            request,
            jit_cache,
        })
    }

    /// Runs one request (the fields of a `run --batch` line) and returns its result (the
    /// fields of a result line). A request the command would answer with `{"error": ...}`
    /// raises `ValueError` with that message.
    fn run<'py>(
        &self,
        py: Python<'py>,
        request: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let line = request::line(py, request)?;
        let answer = py.detach(|| {
            // A panic is caught inside the batch; a poisoned lock holds a usable batch still.
            let mut batch = self.batch.lock().unwrap_or_else(|e| e.into_inner());
            batch.answer(&line)
        });
        let result = answer::parse(py, &answer)?;
        if let Some(error) = error_of(&result)? {
            return Err(PyValueError::new_err(error));
        }
        Ok(result)
    }

    /// Runs a list of requests on `jobs` threads and returns their results in input order,
    /// exactly as one `nestedvm run --batch --jobs N` would: a bad request's result is the
    /// dict `{"error": ...}` (after `"id"` when it has one), in place; nothing is raised for
    /// it. The list is a batch of its own: its worlds start empty and end with it. Code
    /// compiled for it stays with the `Vm` for later calls.
    #[pyo3(signature = (requests, jobs = 1))]
    fn run_batch<'py>(
        &self,
        py: Python<'py>,
        requests: &Bound<'py, PyAny>,
        jobs: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        let jobs = NonZeroUsize::new(jobs)
            .filter(|n| n.get() <= MAX_JOBS)
            .ok_or_else(|| {
                PyValueError::new_err(format!("jobs: {jobs} is not between 1 and {MAX_JOBS}"))
            })?;
        let mut input = String::new();
        let mut count = 0;
        for request in requests.try_iter()? {
            // A JSON text written on one line is never blank: one answer a request.
            input.push_str(&request::line(py, &request?)?);
            input.push('\n');
            count += 1;
        }
        let serving = batch::Serving {
            jobs,
            jit_cache: Some(self.jit_cache.clone()),
            ..batch::Serving::new(self.config, self.request.clone())
        };
        let mut answers = stream::Answers::new();
        // The thread writing the answers takes the GIL back for its turns of reading them
        // (stream.rs).
        let served = py.detach(|| batch::serve(input.as_bytes(), &mut answers, serving));
        if let Some(e) = answers.error.take() {
            return Err(e);
        }
        served.map_err(|e| PyValueError::new_err(e.to_string()))?;
        answers.read_lines()?;
        assert_eq!(answers.results.len(), count, "one answer a request");
        PyList::new(py, answers.results)
    }

    /// How many codes this VM's JIT has compiled, in `run` and `run_batch` calls together: a
    /// code compiled once serves every later call.
    #[getter]
    fn compiles(&self) -> u64 {
        self.jit_cache.compiles()
    }

    /// `Vm(engine='auto')`, `Vm(engine='jit', evm_gas=False)`: how to make the same VM again.
    fn __repr__(&self) -> String {
        let engine = engine_name(self.config.engine);
        match self.config.evm_gas {
            true => format!("Vm(engine='{engine}')"),
            false => format!("Vm(engine='{engine}', evm_gas=False)"),
        }
    }
}

/// The name `Vm(engine=...)` takes for `engine`.
fn engine_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Interpreter => "interp",
        Engine::Jit => "jit",
        Engine::Auto => "auto",
    }
}

/// The message of an error answer (`{"error": ...}` or `{"id": ..., "error": ...}`); a result
/// never has an `error` member.
fn error_of(answer: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    let Ok(dict) = answer.cast::<PyDict>() else {
        return Ok(None);
    };
    dict.get_item("error")?.map(|e| e.extract()).transpose()
}

/// nestedvm, an EVM hypervisor (HyVM) and EVM with a reference interpreter and a JIT:
/// requests and results of the `nestedvm run --batch` protocol as dicts.
#[pymodule]
fn _nestedvm(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Vm>()?;
    // What a sharded batch (nestedvm.ray) needs to count worlds as one batch does.
    m.add("MAX_WORLDS", batch::MAX_WORLDS)?;
    Ok(())
}
