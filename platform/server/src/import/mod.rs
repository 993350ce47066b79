//! `civic311 import requests`: loads a city's historical service requests
//! from a CSV export into a tenant.
//!
//! A TOML mapping file ([`mapping`]) names the column of each field.
//! Each row becomes one request ([`row`]), keeping the source id as its
//! public id, so running the same import again inserts nothing twice.
//! A row that cannot be converted or stored is skipped and reported with
//! its line number; only a mapping or file that cannot be used at all, or a
//! database failure, stops the run ([`run`]).

pub mod mapping;
pub mod row;
pub mod run;

use std::path::PathBuf;

pub use mapping::{ImportMapping, ResolvedMapping};
pub use run::{import_requests, run_import, ImportOptions, ImportReport, SkippedRow};

/// Failure that stops an import before or during the run. Rows with bad
/// data are not errors: they are skipped and listed in the [`ImportReport`].
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read import mapping {file}: {source}; check the path given to --mapping")]
    ReadMapping {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("invalid TOML in import mapping {file}: {message}")]
    ParseMapping { file: PathBuf, message: String },

    #[error("invalid import mapping {file}: field `{field}`: {problem}")]
    InvalidMapping {
        file: PathBuf,
        field: String,
        problem: String,
    },

    #[error("cannot read CSV file {file}: {message}; give a comma-separated UTF-8 file whose first line is the header")]
    ReadCsv { file: PathBuf, message: String },

    #[error(
        "storing the row on line {line} of {file} failed: {source}; the rows before it are imported, \
         and running the same import again reports them as already present"
    )]
    Store {
        file: PathBuf,
        line: u64,
        #[source]
        source: civic311_store::StoreError,
    },
}
