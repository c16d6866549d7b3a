//! Engine errors as Python exceptions: `natsbridge.NATSBridgeError` and one subclass per
//! `ErrorKind` (defined in `natsbridge/_errors.py`, named as the kinds are).

use natsbridge::{Error, ErrorKind};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

/// `[(code, name), ...]` for every kind, in code order.
pub(crate) fn kinds() -> Vec<(i32, &'static str)> {
    ErrorKind::ALL.iter().map(|k| (k.code(), k.name())).collect()
}

fn classes(py: Python<'_>) -> PyResult<&Bound<'_, PyDict>> {
    static CLASSES: PyOnceLock<Py<PyDict>> = PyOnceLock::new();
    CLASSES.import(py, "natsbridge._errors", "CLASSES_BY_KIND")
}

/// The Python exception for an engine error (the GIL is held: this runs on the host thread).
pub(crate) fn to_py(py: Python<'_>, err: &Error) -> PyErr {
    match classes(py).and_then(|c| c.get_item(err.kind().name())) {
        Ok(Some(cls)) => match cls.call1((err.message().to_owned(),)) {
            Ok(value) => PyErr::from_value(value),
            Err(e) => e,
        },
        Ok(None) => PyRuntimeError::new_err(format!("{err} (no Python class for this error kind)")),
        Err(e) => e,
    }
}

/// Shorthand: an `InvalidArgument` error as a Python exception.
pub(crate) fn invalid_argument(py: Python<'_>, message: impl Into<String>) -> PyErr {
    to_py(py, &Error::new(ErrorKind::InvalidArgument, message))
}

/// Shorthand: an error of `kind` as a Python exception.
pub(crate) fn of_kind(py: Python<'_>, kind: ErrorKind, message: impl Into<String>) -> PyErr {
    to_py(py, &Error::new(kind, message))
}
