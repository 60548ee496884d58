//! The one JSON envelope of every model file (`format`, `version`, `model_id`, then the file's own fields), read
//! and written in one place, and the checks of the recorded model id.

use super::DataSignature;
use crate::error::{Error, Result};
use crate::fsutil;
use baler_core::{ModelId, Normalization};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The version of the envelope and of every body this build reads and writes.
const VERSION: u32 = 1;

/// A model file: what it is, its version and the model it belongs to, around its body.
#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    format: String,
    version: u32,
    model_id: String,
    #[serde(flatten)]
    body: T,
}

/// Parses a model JSON file's contents, checking its `format` tag and version; returns the recorded model id
/// (checked by the caller, who knows what it should be) and the body. `path` names the file in errors.
pub(crate) fn read<T: DeserializeOwned>(
    bytes: &[u8],
    path: &Path,
    format: &str,
) -> Result<(String, T)> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| Error::malformed(path, format!("invalid JSON: {e}")))?;
    if value.get("format").and_then(|f| f.as_str()) != Some(format) {
        return Err(Error::malformed(path, format!("not a {format} file")));
    }
    if value.get("version").and_then(|v| v.as_u64()) != Some(VERSION.into()) {
        return Err(Error::malformed(
            path,
            format!("unsupported version (this build reads version {VERSION})"),
        ));
    }
    let file: Envelope<T> =
        serde_json::from_value(value).map_err(|e| Error::malformed(path, e.to_string()))?;
    Ok((file.model_id, file.body))
}

/// Writes a model JSON file (atomically) in the envelope.
pub(crate) fn write<T: Serialize>(
    path: &Path,
    format: &str,
    model_id: ModelId,
    body: T,
) -> Result<()> {
    fsutil::write_bytes(path, &to_bytes(format, model_id, body, true))
}

/// A model JSON file's bytes: `body` in the envelope, indented or compact.
pub(crate) fn to_bytes<T: Serialize>(
    format: &str,
    model_id: ModelId,
    body: T,
    pretty: bool,
) -> Vec<u8> {
    let file = Envelope {
        format: format.into(),
        version: VERSION,
        model_id: model_id.to_string(),
        body,
    };
    match pretty {
        true => serde_json::to_vec_pretty(&file),
        false => serde_json::to_vec(&file),
    }
    .expect("model files serialise")
}

/// Refuses a file whose recorded id is not `computed` (the id its decoder's contents hash to).
pub(crate) fn check_id(path: &Path, recorded: &str, computed: ModelId) -> Result<()> {
    if recorded == computed.to_string() {
        return Ok(());
    }
    Err(Error::Mismatch(format!(
        "{}: model id {recorded} does not match the decoder ({computed}): the model files do not belong together, \
         or were edited or damaged",
        path.display()
    )))
}

/// Replaces the JSON string `"old"` by `"new"` in those of `paths` that exist (restamping ids).
pub(crate) fn replace_id(paths: &[PathBuf], old: &str, new: &str) -> Result<()> {
    if old == new {
        return Ok(());
    }
    for path in paths.iter().filter(|p| p.exists()) {
        let text = String::from_utf8(fsutil::read_bytes(path)?)
            .map_err(|e| Error::malformed(path, e.to_string()))?;
        let quoted = |id: &str| format!("\"{id}\"");
        fsutil::write_bytes(path, text.replace(&quoted(old), &quoted(new)).as_bytes())?;
    }
    Ok(())
}

/// The body of a decoder file (float: `N` is a `NetworkSpec`; quantised: a `QuantizedNetwork`).
#[derive(Serialize, Deserialize)]
pub(crate) struct DecoderBody<N> {
    pub data: DataSignature,
    pub normalization: Normalization,
    pub network: N,
}

/// The body of an encoder file.
#[derive(Serialize, Deserialize)]
pub(crate) struct EncoderBody<N> {
    pub network: N,
}
