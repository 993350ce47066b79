use std::path::PathBuf;

/// A manifest that could not be read or is invalid. Each variant names the
/// file, and validation errors name the field.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read {file}: {source}; check that the tenant folder contains it")]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("invalid TOML in {file}: {message}")]
    Parse { file: PathBuf, message: String },

    #[error("invalid manifest {file}: field `{field}`: {problem}")]
    Invalid {
        file: PathBuf,
        field: String,
        problem: String,
    },
}
