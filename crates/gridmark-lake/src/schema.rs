//! Catalog tables as Arrow schemas and owned rows as record batches.

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, StringArray,
    TimestampMillisecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use gridmark_core::catalog::{ColumnType, TableDef};
use gridmark_core::{Column, Rows};
use std::sync::Arc;

pub fn arrow_type(ty: ColumnType) -> DataType {
    match ty {
        ColumnType::Utf8 => DataType::Utf8,
        ColumnType::Int64 => DataType::Int64,
        ColumnType::Float64 => DataType::Float64,
        ColumnType::Bool => DataType::Boolean,
        ColumnType::Date => DataType::Date32,
        ColumnType::TimestampMs => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
    }
}

/// The Arrow schema of a catalog table (the Parquet files' schema).
pub fn arrow_schema(table: &TableDef) -> SchemaRef {
    Arc::new(Schema::new(
        table
            .columns
            .iter()
            .map(|c| Field::new(c.name, arrow_type(c.ty), c.nullable))
            .collect::<Vec<_>>(),
    ))
}

/// Converts owned rows into one record batch with the table's schema.
pub fn rows_to_batch(rows: &Rows) -> Result<RecordBatch, crate::LakeError> {
    let arrays: Vec<ArrayRef> = rows
        .columns
        .iter()
        .map(|c| -> ArrayRef {
            match c {
                Column::Utf8(v) => Arc::new(StringArray::from_iter(v.iter().map(|s| s.as_deref()))),
                Column::Int64(v) => Arc::new(Int64Array::from(v.clone())),
                Column::Float64(v) => Arc::new(Float64Array::from(v.clone())),
                Column::Bool(v) => Arc::new(BooleanArray::from(v.clone())),
                Column::Date(v) => Arc::new(Date32Array::from(v.clone())),
                Column::TimestampMs(v) => {
                    Arc::new(TimestampMillisecondArray::from(v.clone()).with_timezone("UTC"))
                }
            }
        })
        .collect();
    Ok(RecordBatch::try_new(arrow_schema(rows.table), arrays)?)
}
