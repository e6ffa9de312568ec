//! Owned columnar rows for small and medium tables (archives, bills, work orders…), filled by
//! generators and generic readers and turned into Arrow by the lake.

use crate::CoreError;
use crate::catalog::{ColumnType, TableDef};

/// One column's values. Dates are days since 1970-01-01; timestamps are UTC milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    Utf8(Vec<Option<String>>),
    Int64(Vec<Option<i64>>),
    Float64(Vec<Option<f64>>),
    Bool(Vec<Option<bool>>),
    Date(Vec<Option<i32>>),
    TimestampMs(Vec<Option<i64>>),
}

/// One cell, for row-at-a-time filling.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Days since 1970-01-01.
    Date(i32),
    /// UTC milliseconds.
    Ts(i64),
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl Column {
    pub fn empty(ty: ColumnType) -> Self {
        match ty {
            ColumnType::Utf8 => Column::Utf8(Vec::new()),
            ColumnType::Int64 => Column::Int64(Vec::new()),
            ColumnType::Float64 => Column::Float64(Vec::new()),
            ColumnType::Bool => Column::Bool(Vec::new()),
            ColumnType::Date => Column::Date(Vec::new()),
            ColumnType::TimestampMs => Column::TimestampMs(Vec::new()),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Column::Utf8(v) => v.len(),
            Column::Int64(v) => v.len(),
            Column::Float64(v) => v.len(),
            Column::Bool(v) => v.len(),
            Column::Date(v) => v.len(),
            Column::TimestampMs(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Can `v` be stored in this column? (Null always can; nullability is the table's rule.)
    fn accepts(&self, v: &Value) -> bool {
        matches!(
            (self, v),
            (_, Value::Null)
                | (Column::Utf8(_), Value::Str(_))
                | (Column::Int64(_), Value::Int(_))
                | (Column::Float64(_), Value::Float(_) | Value::Int(_))
                | (Column::Bool(_), Value::Bool(_))
                | (Column::Date(_), Value::Date(_))
                | (Column::TimestampMs(_), Value::Ts(_))
        )
    }

    /// Appends a value `accepts` has approved.
    fn push(&mut self, v: Value) {
        match (self, v) {
            (Column::Utf8(c), Value::Str(s)) => c.push(Some(s)),
            (Column::Utf8(c), _) => c.push(None),
            (Column::Int64(c), Value::Int(i)) => c.push(Some(i)),
            (Column::Int64(c), _) => c.push(None),
            (Column::Float64(c), Value::Float(f)) => c.push(Some(f)),
            (Column::Float64(c), Value::Int(i)) => c.push(Some(i as f64)),
            (Column::Float64(c), _) => c.push(None),
            (Column::Bool(c), Value::Bool(b)) => c.push(Some(b)),
            (Column::Bool(c), _) => c.push(None),
            (Column::Date(c), Value::Date(d)) => c.push(Some(d)),
            (Column::Date(c), _) => c.push(None),
            (Column::TimestampMs(c), Value::Ts(t)) => c.push(Some(t)),
            (Column::TimestampMs(c), _) => c.push(None),
        }
    }
}

/// Rows of one catalog table, column by column in catalog order.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    pub table: &'static TableDef,
    pub columns: Vec<Column>,
}

impl Rows {
    pub fn new(table: &'static TableDef) -> Self {
        Self {
            table,
            columns: table.columns.iter().map(|c| Column::empty(c.ty)).collect(),
        }
    }

    /// Creates empty rows of a table by name.
    pub fn for_table(name: &str) -> Result<Self, CoreError> {
        crate::catalog::table(name).map(Self::new)
    }

    pub fn len(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends one row given in catalog column order; a missing or wrongly typed value is an
    /// error naming the column, and nothing is appended.
    pub fn push(&mut self, values: Vec<Value>) -> Result<(), CoreError> {
        if values.len() != self.columns.len() {
            return Err(CoreError::Column {
                column: self.table.name.to_string(),
                reason: format!(
                    "row has {} values, table has {} columns",
                    values.len(),
                    self.columns.len()
                ),
            });
        }
        for ((v, def), col) in values.iter().zip(self.table.columns).zip(&self.columns) {
            if !col.accepts(v) || (matches!(v, Value::Null) && !def.nullable) {
                return Err(CoreError::Column {
                    column: def.name.to_string(),
                    reason: format!("value {v:?} does not fit type {:?}", def.ty),
                });
            }
        }
        for (v, col) in values.into_iter().zip(&mut self.columns) {
            col.push(v);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_checks_types_and_nullability_before_appending() {
        let mut rows = Rows::for_table("staff").unwrap();
        let n = rows.table.columns.len();
        let mut good: Vec<Value> = vec![Value::Null; n];
        good[0] = "S001".into();
        assert!(rows.push(good.clone()).is_ok());
        let mut bad = good.clone();
        bad[0] = Value::Int(3);
        let err = rows.push(bad).unwrap_err();
        assert!(err.to_string().contains("staff_id"), "{err}");
        let mut null_key = good;
        null_key[0] = Value::Null;
        assert!(rows.push(null_key).is_err());
        assert_eq!(rows.len(), 1);
    }
}
