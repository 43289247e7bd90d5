//! Writing files the way every scaletwin output is written: to a temporary name in the same
//! folder, then renamed into place, so an interrupted run never leaves a half-written result.
//! Parquet tables (sweep results, canonical traces) are written here too, column by column
//! through the `parquet` crate's own writer.

use parquet::basic::{
    Compression, ConvertedType, IntType, LogicalType, Repetition, Type as Physical,
};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Write `bytes` to `path` through a temporary file in the same folder and a rename. The
/// folder is created when missing.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    match written {
        Ok(()) => std::fs::rename(&tmp, path),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// A table that could not be written. The message leaves the path to the caller, which
/// names the file it was writing; `path` is there to match on.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("column `{column}` has {len} rows where the first column has {rows}")]
    Ragged {
        path: PathBuf,
        column: String,
        len: usize,
        rows: usize,
    },
    #[error("cannot encode the Parquet table: {source}")]
    Parquet {
        path: PathBuf,
        source: parquet::errors::ParquetError,
    },
    #[error("cannot write: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One column of a Parquet table.
pub enum ParquetColumn<'a> {
    F64(&'a [f64]),
    /// Nullable doubles (a trace's missing bins).
    OptF64(&'a [Option<f64>]),
    U64(&'a [u64]),
    U32(&'a [u32]),
    Bool(&'a [bool]),
    Str(&'a [String]),
}

impl ParquetColumn<'_> {
    fn len(&self) -> usize {
        match self {
            ParquetColumn::F64(v) => v.len(),
            ParquetColumn::OptF64(v) => v.len(),
            ParquetColumn::U64(v) => v.len(),
            ParquetColumn::U32(v) => v.len(),
            ParquetColumn::Bool(v) => v.len(),
            ParquetColumn::Str(v) => v.len(),
        }
    }

    fn schema(&self, name: &str) -> parquet::errors::Result<Type> {
        let (physical, logical, repetition) = match self {
            ParquetColumn::F64(_) => (Physical::DOUBLE, None, Repetition::REQUIRED),
            ParquetColumn::OptF64(_) => (Physical::DOUBLE, None, Repetition::OPTIONAL),
            ParquetColumn::U64(_) => (
                Physical::INT64,
                Some(LogicalType::Integer(IntType {
                    bit_width: 64,
                    is_signed: false,
                })),
                Repetition::REQUIRED,
            ),
            ParquetColumn::U32(_) => (
                Physical::INT32,
                Some(LogicalType::Integer(IntType {
                    bit_width: 32,
                    is_signed: false,
                })),
                Repetition::REQUIRED,
            ),
            ParquetColumn::Bool(_) => (Physical::BOOLEAN, None, Repetition::REQUIRED),
            ParquetColumn::Str(_) => (
                Physical::BYTE_ARRAY,
                Some(LogicalType::String),
                Repetition::REQUIRED,
            ),
        };
        let converted = match self {
            ParquetColumn::U64(_) => ConvertedType::UINT_64,
            ParquetColumn::U32(_) => ConvertedType::UINT_32,
            ParquetColumn::Str(_) => ConvertedType::UTF8,
            _ => ConvertedType::NONE,
        };
        Type::primitive_type_builder(name, physical)
            .with_repetition(repetition)
            .with_logical_type(logical)
            .with_converted_type(converted)
            .build()
    }
}

/// Write a table of equally long columns as one Parquet row group (Snappy-compressed), with
/// `metadata` as the file's key-value metadata, atomically.
pub fn write_parquet(
    path: &Path,
    columns: &[(&str, ParquetColumn)],
    metadata: &[(&str, String)],
) -> Result<(), WriteError> {
    let rows = columns.first().map_or(0, |c| c.1.len());
    if let Some((name, c)) = columns.iter().find(|c| c.1.len() != rows) {
        return Err(WriteError::Ragged {
            path: path.to_path_buf(),
            column: name.to_string(),
            len: c.len(),
            rows,
        });
    }
    let bytes = parquet_bytes(columns, metadata).map_err(|source| WriteError::Parquet {
        path: path.to_path_buf(),
        source,
    })?;
    write_atomic(path, &bytes).map_err(|source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn parquet_bytes(
    columns: &[(&str, ParquetColumn)],
    metadata: &[(&str, String)],
) -> parquet::errors::Result<Vec<u8>> {
    let fields = columns
        .iter()
        .map(|(n, c)| c.schema(n).map(Arc::new))
        .collect::<parquet::errors::Result<Vec<_>>>()?;
    let schema = Arc::new(
        Type::group_type_builder("schema")
            .with_fields(fields)
            .build()?,
    );
    let kv: Vec<KeyValue> = metadata
        .iter()
        .map(|(k, v)| KeyValue::new(k.to_string(), v.clone()))
        .collect();
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_key_value_metadata((!kv.is_empty()).then_some(kv))
        .build();
    let mut buf = Vec::new();
    let mut writer = SerializedFileWriter::new(&mut buf, schema, Arc::new(props))?;
    let mut group = writer.next_row_group()?;
    for (_, column) in columns {
        let Some(mut out) = group.next_column()? else {
            break;
        };
        match column {
            ParquetColumn::F64(v) => {
                out.typed::<DoubleType>().write_batch(v, None, None)?;
            }
            ParquetColumn::OptF64(v) => {
                let values: Vec<f64> = v.iter().flatten().copied().collect();
                let defined: Vec<i16> = v.iter().map(|x| i16::from(x.is_some())).collect();
                out.typed::<DoubleType>()
                    .write_batch(&values, Some(&defined), None)?;
            }
            ParquetColumn::U64(v) => {
                let values: Vec<i64> = v.iter().map(|x| *x as i64).collect();
                out.typed::<Int64Type>().write_batch(&values, None, None)?;
            }
            ParquetColumn::U32(v) => {
                let values: Vec<i32> = v.iter().map(|x| *x as i32).collect();
                out.typed::<Int32Type>().write_batch(&values, None, None)?;
            }
            ParquetColumn::Bool(v) => {
                out.typed::<BoolType>().write_batch(v, None, None)?;
            }
            ParquetColumn::Str(v) => {
                let values: Vec<ByteArray> =
                    v.iter().map(|s| ByteArray::from(s.as_str())).collect();
                out.typed::<ByteArrayType>()
                    .write_batch(&values, None, None)?;
            }
        }
        out.close()?;
    }
    group.close()?;
    writer.close()?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    #[test]
    fn a_parquet_table_reads_back_with_its_metadata_and_nulls() {
        let dir = std::env::temp_dir().join(format!("scaletwin-io-{}", std::process::id()));
        let path = dir.join("t.parquet");
        let names = vec!["a".to_string(), "b,\"c\"".to_string()];
        write_parquet(
            &path,
            &[
                ("x", ParquetColumn::F64(&[1.5, f64::NAN])),
                ("missing", ParquetColumn::OptF64(&[None, Some(2.0)])),
                ("n", ParquetColumn::U64(&[u64::MAX, 0])),
                ("ok", ParquetColumn::Bool(&[true, false])),
                ("axis.path[0]", ParquetColumn::Str(&names)),
            ],
            &[("format_version", "1".into())],
        )
        .unwrap();
        let r = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        let kv = r.metadata().file_metadata().key_value_metadata().unwrap();
        assert_eq!(kv[0].key, "format_version");
        assert_eq!(kv[0].value.as_deref(), Some("1"));
        use parquet::record::Field;
        let rows: Vec<Vec<(String, Field)>> = r
            .into_iter()
            .map(|row| {
                let row = row.unwrap();
                let cells = row.get_column_iter();
                cells.map(|(n, f)| (n.clone(), f.clone())).collect()
            })
            .collect();
        assert_eq!(rows.len(), 2);
        let want = [
            ("x", Field::Double(1.5)),
            ("missing", Field::Null),
            ("n", Field::ULong(u64::MAX)),
            ("ok", Field::Bool(true)),
            ("axis.path[0]", Field::Str("a".into())),
        ];
        for ((name, got), (n, w)) in rows[0].iter().zip(want) {
            assert_eq!((name.as_str(), got), (n, &w));
        }
        assert!(matches!(rows[1][0].1, Field::Double(x) if x.is_nan()));
        assert_eq!(rows[1][1].1, Field::Double(2.0));
        assert_eq!(rows[1][4].1, Field::Str("b,\"c\"".into()));
        assert!(
            write_parquet(
                &path,
                &[
                    ("x", ParquetColumn::F64(&[1.0])),
                    ("y", ParquetColumn::F64(&[]))
                ],
                &[],
            )
            .unwrap_err()
            .to_string()
            .contains("column `y` has 0 rows where the first column has 1")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
