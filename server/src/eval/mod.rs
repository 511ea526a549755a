//! Offline evaluation of the brain: NAB scoring and forecast error.
//!
//! Entry points for the CLI (one line each):
//! * [`run_nab`]`(data, windows, out, brain) -> Result<NabReport, EvalError>` — `eval nab`, with
//!   the `[brain]` configuration `serve` runs;
//! * [`run_forecast`]`(data, horizon) -> Result<ForecastReport, EvalError>` — `eval forecast`;
//! * [`run_risk`]`(data, fit, brain) -> Result<RiskReport, EvalError>` — `eval risk`.
//!
//! Both reports implement `Display`.

pub mod corpus;
pub mod forecast;
pub mod labels;
pub mod nab;
pub mod risk;
pub mod scorer;
pub mod traces;

use std::path::{Path, PathBuf};

pub use forecast::{run_forecast, ForecastReport};
pub use nab::{run_nab, NabReport};
pub use risk::{run_risk, RiskReport};

/// Why an evaluation could not run.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {msg}")]
    Format {
        path: PathBuf,
        line: usize,
        msg: String,
    },
    #[error("no `<category>/<name>.csv` series under {0}")]
    Empty(PathBuf),
    #[error("{0}")]
    Invalid(String),
}

impl EvalError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        EvalError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The NAB dev set shipped with the repository (`server/tests/data/nab-dev`).
pub fn bundled_nab_dev() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/nab-dev")
}

#[cfg(test)]
mod tests;

/// Configuration variants named in an environment variable, for the ignored tuning aids:
/// `"k=v,k=v;k=v"` (`;` between variants, `,` between settings), each applied to `base` by
/// `set` (unknown keys are the setter's to ignore); the default comes first.
#[cfg(test)]
fn variants_from_env<C: Copy>(
    var: &str,
    base: C,
    set: impl Fn(&mut C, &str, f64),
) -> Vec<(String, C)> {
    let mut out = vec![("default".to_string(), base)];
    let Ok(spec) = std::env::var(var) else {
        return out;
    };
    for variant in spec.split(';') {
        let mut c = base;
        for (key, v) in variant.split(',').filter_map(|part| part.split_once('=')) {
            set(&mut c, key.trim(), v.trim().parse().unwrap_or(0.0));
        }
        out.push((variant.to_string(), c));
    }
    out
}
