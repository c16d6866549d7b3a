//! Payloads given on the command line.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use clap::Args;
use natsbridge::{Payload, PayloadType, Table};

#[derive(Args, Default)]
pub struct PayloadArgs {
    /// A payload as KIND:NAME=VALUE (repeatable, order kept). KIND is text, json (dictionary),
    /// table, image, audio, video or binary. VALUE is the text or JSON itself (or @FILE); for
    /// table a .csv or Arrow IPC file; for the byte kinds a file path (streamed, never read whole
    /// when it goes by link).
    #[arg(long = "payload", short = 'p', value_name = "KIND:NAME=VALUE")]
    payloads: Vec<String>,
    /// Shorthand for --payload text:NAME=VALUE.
    #[arg(long = "text", value_name = "NAME=VALUE")]
    texts: Vec<String>,
    /// Shorthand for --payload json:NAME=VALUE.
    #[arg(long = "json-payload", value_name = "NAME=JSON")]
    jsons: Vec<String>,
    /// Shorthand for --payload binary:NAME=PATH.
    #[arg(long = "file", value_name = "NAME=PATH")]
    files: Vec<String>,
    /// Shorthand for --payload table:NAME=PATH (.csv or Arrow IPC).
    #[arg(long = "table", value_name = "NAME=PATH")]
    tables: Vec<String>,
}

type AnyResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

impl PayloadArgs {
    /// Every payload, --payload ones first in their order, then the shorthands.
    pub fn load(&self) -> AnyResult<Vec<Payload>> {
        let shorthand =
            |kind: &str, specs: &[String]| specs.iter().map(move |s| format!("{kind}:{s}")).collect::<Vec<_>>();
        let all = self
            .payloads
            .iter()
            .cloned()
            .chain(shorthand("text", &self.texts))
            .chain(shorthand("json", &self.jsons))
            .chain(shorthand("binary", &self.files))
            .chain(shorthand("table", &self.tables));
        all.map(|spec| parse(&spec)).collect()
    }
}

fn parse(spec: &str) -> AnyResult<Payload> {
    let bad = || format!("payload {spec:?} is not KIND:NAME=VALUE");
    let (kind, rest) = spec.split_once(':').ok_or_else(bad)?;
    let (name, value) = rest.split_once('=').ok_or_else(bad)?;
    let kind = if kind == "json" { PayloadType::Dictionary } else { kind.parse::<PayloadType>()? };
    let literal = |v: &str| -> AnyResult<String> {
        Ok(match v.strip_prefix('@') {
            Some(path) => std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?,
            None => v.to_owned(),
        })
    };
    Ok(match kind {
        PayloadType::Text => Payload::text(name, literal(value)?),
        PayloadType::Dictionary => Payload::dictionary(
            name,
            serde_json::from_str(&literal(value)?).map_err(|e| format!("{name}: invalid JSON: {e}"))?,
        ),
        PayloadType::Table => Payload::table(name, read_table(Path::new(value))?),
        bytes_kind => {
            let path = value.strip_prefix('@').unwrap_or(value);
            if !Path::new(path).is_file() {
                return Err(format!("{name}: {path} is not a file").into());
            }
            Payload::file(name, bytes_kind, path)
        }
    })
}

/// A CSV file (header row, types inferred) or an Arrow IPC stream/file.
pub fn read_table(path: &Path) -> AnyResult<Table> {
    let open = || File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()));
    let is_csv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if is_csv {
        let (schema, _) = arrow_csv::reader::Format::default().with_header(true).infer_schema(open()?, Some(1000))?;
        let schema = Arc::new(schema);
        let reader = arrow_csv::ReaderBuilder::new(schema.clone()).with_header(true).build(open()?)?;
        let batches = reader.collect::<Result<Vec<_>, _>>()?;
        return Ok(Table::new(schema, batches)?);
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.starts_with(b"ARROW1") {
        let reader = arrow_ipc::reader::FileReader::try_new(std::io::Cursor::new(bytes), None)?;
        let schema = reader.schema();
        return Ok(Table::new(schema, reader.collect::<Result<Vec<_>, _>>()?)?);
    }
    Ok(Table::from_ipc(bytes.into())?)
}
