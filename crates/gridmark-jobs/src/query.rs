//! Reading query results into plain Rust values.

use crate::JobError;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Float64Type, Int64Type, TimeUnit, TimestampMillisecondType,
};
use datafusion::prelude::SessionContext;
use gridmark_lake::Lake;

/// A DataFusion session over the lake's latest snapshot with its own runtime, for jobs that
/// are otherwise synchronous.
pub struct Query {
    rt: tokio::runtime::Runtime,
    ctx: SessionContext,
}

impl Query {
    pub fn open(lake: &Lake) -> Result<Self, JobError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|source| JobError::Io {
                path: lake.root().into(),
                source,
            })?;
        let ctx = rt.block_on(gridmark_sql::session(lake))?;
        Ok(Self { rt, ctx })
    }

    /// Runs `sql` and returns every batch.
    pub fn collect(&self, sql: &str) -> Result<Vec<RecordBatch>, JobError> {
        Ok(self
            .rt
            .block_on(async { self.ctx.sql(sql).await?.collect().await })?)
    }

    /// Runs `sql` and hands each batch to `each` as it arrives, so memory stays bounded.
    pub fn for_each(
        &self,
        sql: &str,
        mut each: impl FnMut(&RecordBatch) -> Result<(), JobError>,
    ) -> Result<(), JobError> {
        use futures_util::StreamExt;
        self.rt.block_on(async {
            let mut stream = self.ctx.sql(sql).await?.execute_stream().await?;
            while let Some(batch) = stream.next().await {
                each(&batch?)?;
            }
            Ok(())
        })
    }
}

/// Quotes a value as an SQL string literal.
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a dyn Array, JobError> {
    batch
        .column_by_name(name)
        .map(|c| c.as_ref())
        .ok_or_else(|| JobError::invalid(format!("column {name}"), "not in the query result"))
}

fn cast_to(batch: &RecordBatch, name: &str, ty: &DataType) -> Result<Box<dyn Array>, JobError> {
    let c = column(batch, name)?;
    let arr = cast(c, ty).map_err(|e| {
        JobError::invalid(
            format!("column {name}"),
            format!("cannot read as {ty}: {e}"),
        )
    })?;
    Ok(Box::new(arr))
}

/// A text column as owned optional strings.
pub fn strings(batch: &RecordBatch, name: &str) -> Result<Vec<Option<String>>, JobError> {
    let arr = cast_to(batch, name, &DataType::Utf8)?;
    let s = arr.as_string::<i32>();
    Ok((0..s.len())
        .map(|i| s.is_valid(i).then(|| s.value(i).to_string()))
        .collect())
}

/// A numeric column as optional f64.
pub fn floats(batch: &RecordBatch, name: &str) -> Result<Vec<Option<f64>>, JobError> {
    let arr = cast_to(batch, name, &DataType::Float64)?;
    let a = arr.as_primitive::<Float64Type>();
    Ok((0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i)))
        .collect())
}

/// An integer column as optional i64.
pub fn ints(batch: &RecordBatch, name: &str) -> Result<Vec<Option<i64>>, JobError> {
    let arr = cast_to(batch, name, &DataType::Int64)?;
    let a = arr.as_primitive::<Int64Type>();
    Ok((0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i)))
        .collect())
}

/// A timestamp column as optional UTC milliseconds.
pub fn timestamps(batch: &RecordBatch, name: &str) -> Result<Vec<Option<i64>>, JobError> {
    let arr = cast_to(
        batch,
        name,
        &DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
    )?;
    let a = arr.as_primitive::<TimestampMillisecondType>();
    Ok((0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i)))
        .collect())
}

/// A date column as optional days since 1970-01-01.
pub fn dates(batch: &RecordBatch, name: &str) -> Result<Vec<Option<i64>>, JobError> {
    let arr = cast_to(batch, name, &DataType::Date32)?;
    let a = arr.as_primitive::<Date32Type>();
    Ok((0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i) as i64))
        .collect())
}
