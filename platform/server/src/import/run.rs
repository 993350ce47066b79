//! The import loop: reads the CSV row by row, stores each request, shows
//! progress, and builds the report.

use std::fmt;
use std::io::BufRead;
use std::path::Path;

use chrono::{DateTime, Utc};
use civic311_domain::routing::RouteInput;
use civic311_domain::Locale;
use civic311_store::{ImportOutcome, NewServiceRequest, StoreError};
use csv::StringRecord;
use indicatif::{ProgressBar, ProgressStyle};

use super::mapping::ImportMapping;
use super::row::RowConverter;
use super::ImportError;
use crate::app::AppState;
use crate::tenants::TenantContext;

/// Choices of one import run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Route each request with the tenant's router plugin, as if it were new,
    /// instead of keeping the department and queue from the CSV. The due
    /// time then follows the SLA that routing picked.
    pub reroute: bool,
    /// Draw a progress bar on stderr.
    pub show_progress: bool,
}

/// Counts and skipped rows of one import run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Data rows read, header excluded.
    pub rows: u64,
    pub inserted: u64,
    /// Rows whose source id the tenant already has; nothing was changed.
    pub already_present: u64,
    pub skipped: Vec<SkippedRow>,
}

/// A row that was not imported, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedRow {
    /// Line number in the CSV where the row starts; the header is line 1.
    pub row: u64,
    pub reason: String,
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} rows: {} inserted, {} already present, {} skipped",
            self.rows,
            self.inserted,
            self.already_present,
            self.skipped.len()
        )?;
        for skipped in &self.skipped {
            write!(f, "\n  line {}: {}", skipped.row, skipped.reason)?;
        }
        Ok(())
    }
}

/// Imports the requests in `csv` into `tenant` as `mapping` describes.
///
/// With `options.reroute`, each new request goes through
/// [`crate::intake::route`] with `state`; otherwise `state` is not used.
pub async fn import_requests(
    state: &AppState,
    tenant: &TenantContext,
    mapping: &Path,
    csv: &Path,
    options: ImportOptions,
) -> Result<ImportReport, ImportError> {
    let reroute_with = options.reroute.then_some(state);
    run_import(tenant, mapping, csv, options.show_progress, reroute_with).await
}

/// Runs an import; routes each new request through `reroute_with` when it
/// is given, and keeps the CSV's department and queue when it is `None`.
#[tracing::instrument(
    name = "import_requests",
    skip_all,
    fields(tenant.slug = %tenant.manifest.slug, tenant.id = tenant.id.0, csv = %csv.display())
)]
pub async fn run_import(
    tenant: &TenantContext,
    mapping: &Path,
    csv: &Path,
    show_progress: bool,
    reroute_with: Option<&AppState>,
) -> Result<ImportReport, ImportError> {
    let read_error = |message: String| ImportError::ReadCsv { file: csv.to_path_buf(), message };

    let mapping_file = ImportMapping::load(mapping)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(csv)
        .map_err(|error| read_error(error.to_string()))?;
    let header = read_header(&mut reader).map_err(read_error)?;
    let line_offset = crlf_line_offset(csv);
    let resolved = mapping_file.resolve(mapping, &tenant.manifest, &header)?;

    let file_size = std::fs::metadata(csv).map(|metadata| metadata.len()).unwrap_or(0);
    let progress = progress_bar(show_progress, file_size);
    let converter = RowConverter {
        mapping: &resolved,
        manifest: &tenant.manifest,
        file_name: file_name(csv),
        imported_at: Utc::now(),
    };
    tracing::info!(reroute = reroute_with.is_some(), "import started");

    let mut report = ImportReport::default();
    let mut record = StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(0, csv::Position::line) + line_offset;
                import_row(tenant, &converter, reroute_with, &record, line, &mut report)
                    .await
                    .map_err(|source| ImportError::Store { file: csv.to_path_buf(), line, source })?;
            }
            Err(error) if matches!(error.kind(), csv::ErrorKind::Io(_)) => return Err(read_error(error.to_string())),
            Err(error) => {
                let line = error.position().map_or(0, csv::Position::line) + line_offset;
                skip(&mut report, line, format!("unreadable CSV row: {error}"));
            }
        }
        progress.set_position(reader.position().byte());
        progress.set_message(progress_message(&report));
    }

    progress.finish_and_clear();
    log_summary(&report);
    Ok(report)
}

/// Converts and stores one row, counting it in `report`. Only a database
/// failure that is not about this row's data is returned as an error.
async fn import_row(
    tenant: &TenantContext,
    converter: &RowConverter<'_>,
    reroute_with: Option<&AppState>,
    record: &StringRecord,
    line: u64,
    report: &mut ImportReport,
) -> Result<(), StoreError> {
    report.rows += 1;

    let mut request = match converter.convert(record, line) {
        Ok(request) => request,
        Err(reason) => {
            skip(report, line, reason);
            return Ok(());
        }
    };

    if let Some(state) = reroute_with {
        // Routing runs the tenant's plugin, so a request the tenant already
        // has is counted here without calling it.
        if is_already_present(tenant, &request).await? {
            report.already_present += 1;
            return Ok(());
        }
        reroute(state, tenant, &mut request).await;
    }

    match tenant.store.import_request(request).await {
        Ok(ImportOutcome::Inserted(_)) => report.inserted += 1,
        Ok(ImportOutcome::AlreadyPresent(_)) => report.already_present += 1,
        Err(error @ (StoreError::Conflict { .. } | StoreError::NotFound { .. })) => {
            skip(report, line, format!("the store rejected the request: {error}"));
        }
        Err(error) => return Err(error),
    }
    Ok(())
}

/// Returns 1 when the header line ends in CRLF, and 0 otherwise.
///
/// The csv crate (1.x) ends a CRLF record at its `\r` and counts the `\n`
/// only while reading the next record, so the line it gives for each record
/// of a CRLF file is one short. A file whose first line cannot be read gets
/// no correction, and the CSV reader then reports the failure itself.
fn crlf_line_offset(csv: &Path) -> u64 {
    let Ok(file) = std::fs::File::open(csv) else {
        return 0;
    };

    let mut first_line = Vec::new();
    match std::io::BufReader::new(file).read_until(b'\n', &mut first_line) {
        Ok(_) => u64::from(first_line.ends_with(b"\r\n")),
        Err(_) => 0,
    }
}

fn skip(report: &mut ImportReport, line: u64, reason: String) {
    tracing::debug!(line, %reason, "row skipped");
    report.skipped.push(SkippedRow { row: line, reason });
}

async fn is_already_present(tenant: &TenantContext, request: &NewServiceRequest) -> Result<bool, StoreError> {
    let Some(source_id) = request.source_id.as_deref() else {
        return Ok(false);
    };
    let existing = tenant.store.request(source_id).await?;
    Ok(existing.is_some_and(|existing| existing.source_id.as_deref() == Some(source_id)))
}

/// Replaces the historical routing with what the tenant's plugin decides
/// for a request received at the historical open time.
async fn reroute(state: &AppState, tenant: &TenantContext, request: &mut NewServiceRequest) {
    let input = route_input(tenant, request);
    let outcome = crate::intake::route(state, tenant, input).await;

    request.department = outcome.department;
    request.priority = outcome.priority;
    request.queue = outcome.queue;
    request.assignee = outcome.assignee;
    request.expected_at = Some(tenant.calendar.due(request.requested_at, outcome.sla));
    request.history.extend(outcome.history);
}

/// Builds the router plugin's input for an imported request: its local
/// open time, whether the city was open then, and the departments that
/// had joined 311 by that day.
fn route_input(tenant: &TenantContext, request: &NewServiceRequest) -> RouteInput {
    let service = tenant.manifest.service(&request.service_code);
    let received: DateTime<Utc> = request.requested_at;

    RouteInput {
        service_code: request.service_code.clone(),
        service_name: request.service_name.clone(),
        service_group: service
            .map(|service| service.group.get(Locale::En).to_string())
            .filter(|group| !group.is_empty()),
        default_department: service.map_or_else(|| request.department.clone(), |service| service.department.clone()),
        description: request.description.clone(),
        lat: request.lat,
        long: request.long,
        address: request.address.clone(),
        attributes: request.attributes.clone(),
        channel: request.channel,
        received_local: tenant.calendar.local_time(received),
        after_hours: !tenant.calendar.is_open(received),
        departments: crate::intake::joined_departments(tenant, received),
        settings: crate::intake::routing_settings(tenant),
    }
}

fn read_header(reader: &mut csv::Reader<std::fs::File>) -> Result<Vec<String>, String> {
    let header = reader.headers().map_err(|error| error.to_string())?;
    if header.is_empty() {
        return Err("the file is empty".into());
    }
    // Spreadsheet programs often start a UTF-8 CSV with a byte order mark.
    Ok(header
        .iter()
        .enumerate()
        .map(|(index, name)| if index == 0 { name.trim_start_matches('\u{feff}') } else { name })
        .map(|name| name.trim().to_string())
        .collect())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn progress_bar(show: bool, file_size: u64) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(file_size);
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg}") {
        bar.set_style(style);
    }
    bar
}

fn progress_message(report: &ImportReport) -> String {
    format!(
        "{} inserted, {} already present, {} skipped",
        report.inserted,
        report.already_present,
        report.skipped.len()
    )
}

fn log_summary(report: &ImportReport) {
    tracing::info!(
        rows = report.rows,
        inserted = report.inserted,
        already_present = report.already_present,
        skipped = report.skipped.len(),
        "import finished"
    );
    if !report.skipped.is_empty() {
        tracing::warn!(skipped = report.skipped.len(), "rows were skipped; the import report lists each line and reason");
    }
}
