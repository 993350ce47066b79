//! Integration tests of the plugin lifecycle: upload, activation, rollback,
//! audit, artifacts, dry run and shadow mode, on a real database and real
//! plugins.
