//! Reading a wide numeric file (a time column, then one column per series) into memory, for
//! evaluations that run on a whole file rather than on the lake.

use crate::csv::split_line;
use crate::error::{IngestError, format_err};
use crate::series::parse::parse_number;
use crate::source::{ChunkReader, lines, open_text, sniff};
use std::path::Path;

/// Columns of a wide numeric file, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct WideColumns {
    /// The first column's text (timestamps), one per row.
    pub index: Vec<String>,
    /// (name, values) for every other column.
    pub columns: Vec<(String, Vec<f64>)>,
}

/// Reads `timestamp,<series>,<series>…` (CSV, plain or gzip). Every value must be a number:
/// an evaluation on a file with holes would be wrong, so a bad or empty cell is an error that
/// names its line and column.
pub fn read_wide_numeric(path: &Path) -> Result<WideColumns, IngestError> {
    let mut reader = ChunkReader::new(path, open_text(path, sniff(path)?)?, 8 << 20);
    let mut out = WideColumns {
        index: Vec::new(),
        columns: Vec::new(),
    };
    let mut sep = b',';
    while let Some(chunk) = reader.next_chunk()? {
        let mut fields = Vec::new();
        for (n, line) in lines(&chunk) {
            if n == 1 {
                let (s, names) = crate::csv::header_fields(path, line)?;
                if names.len() < 2 {
                    return Err(format_err(
                        path,
                        "needs a time column and at least one series column",
                    ));
                }
                sep = s;
                out.columns = names[1..]
                    .iter()
                    .map(|name| (name.trim().to_string(), Vec::new()))
                    .collect();
                continue;
            }
            if line.is_empty() {
                continue;
            }
            split_line(line, sep, &mut fields).map_err(|e| IngestError::Line {
                path: path.into(),
                line: n,
                reason: e,
            })?;
            if fields.len() != out.columns.len() + 1 {
                return Err(IngestError::Line {
                    path: path.into(),
                    line: n,
                    reason: format!(
                        "has {} fields, the header has {}",
                        fields.len(),
                        out.columns.len() + 1
                    ),
                });
            }
            out.index
                .push(String::from_utf8_lossy(&fields[0]).into_owned());
            for (i, (name, values)) in out.columns.iter_mut().enumerate() {
                let v =
                    parse_number(&fields[i + 1], sep == b';').map_err(|e| IngestError::Line {
                        path: path.into(),
                        line: n,
                        reason: format!("column `{name}`: {e}"),
                    })?;
                values.push(v);
            }
        }
    }
    if out.index.is_empty() {
        return Err(format_err(path, "has no data rows"));
    }
    Ok(out)
}
