//! The one JSON envelope of every model file (`format`, `version`, `model_id`, then the file's own fields), read
//! and written in one place, and the checks of the recorded model id.

use super::DataSignature;
use crate::error::{Error, Result};
use crate::fsutil;
use baler_core::{ModelId, Normalization};
use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

/// The version of the envelope and of every body this build reads and writes.
const VERSION: u32 = 1;

/// A model file: what it is, its version and the model it belongs to, around its body.
#[derive(Serialize)]
struct Envelope<T> {
    format: String,
    version: u32,
    model_id: String,
    #[serde(flatten)]
    body: T,
}

/// The envelope's own fields as [`EnvelopeKeys`] finds them.
#[derive(Default)]
struct Head {
    format: Option<String>,
    version: Option<u64>,
    model_id: Option<String>,
}

/// The keys of a model file's top-level object with the envelope's taken out into `head`: the body reads the rest
/// as its own object, straight from the file (serde's `flatten` would hold the whole body in memory first).
struct EnvelopeKeys<'h, A> {
    map: A,
    head: &'h mut Head,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for EnvelopeKeys<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> std::result::Result<Option<K::Value>, A::Error> {
        while let Some(key) = self.map.next_key::<String>()? {
            match key.as_str() {
                "format" => self.head.format = Some(self.map.next_value()?),
                "version" => self.head.version = Some(self.map.next_value()?),
                "model_id" => self.head.model_id = Some(self.map.next_value()?),
                _ => return seed.deserialize(key.into_deserializer()).map(Some),
            }
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> std::result::Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}

/// Reads a model file's top-level object into `head` and a `T`.
struct EnvelopeVisitor<'h, T> {
    head: &'h mut Head,
    body: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for EnvelopeVisitor<'_, T> {
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> std::result::Result<T, A::Error> {
        let keys = EnvelopeKeys {
            map,
            head: self.head,
        };
        T::deserialize(MapAccessDeserializer::new(keys))
    }
}

/// Parses a model JSON file's contents, checking its `format` tag and version; returns the recorded model id
/// (checked by the caller, who knows what it should be) and the body. `path` names the file in errors.
pub(crate) fn read<T: DeserializeOwned>(
    bytes: &[u8],
    path: &Path,
    format: &str,
) -> Result<(String, T)> {
    let mut head = Head::default();
    let mut json = serde_json::Deserializer::from_slice(bytes);
    let visitor = EnvelopeVisitor {
        head: &mut head,
        body: PhantomData,
    };
    let body = json.deserialize_map(visitor).and_then(|body| {
        json.end()?;
        Ok(body)
    });
    // what the file is decides the message: bad JSON, another file, another version, then a bad body
    if let Err(e) = &body
        && (e.is_syntax() || e.is_eof())
    {
        return Err(Error::malformed(path, format!("invalid JSON: {e}")));
    }
    if head.format.as_deref() != Some(format) {
        return Err(Error::malformed(path, format!("not a {format} file")));
    }
    if head.version != Some(VERSION.into()) {
        return Err(Error::malformed(
            path,
            format!("unsupported version (this build reads version {VERSION})"),
        ));
    }
    let body = body.map_err(|e| Error::malformed(path, e.to_string()))?;
    let model_id = head
        .model_id
        .ok_or_else(|| Error::malformed(path, "missing field `model_id`"))?;
    Ok((model_id, body))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Body {
        weights: Vec<i64>,
    }

    fn read_body(json: &str) -> Result<(String, Body)> {
        read(json.as_bytes(), Path::new("m.json"), "baler-test")
    }

    #[test]
    fn the_envelope_is_read_in_any_order_and_each_fault_named() {
        let id = ModelId::parse("74419eecccf0c7bc4b9151e974efb402").unwrap();
        let written = to_bytes(
            "baler-test",
            id,
            Body {
                weights: vec![3, -1],
            },
            false,
        );
        let expected = (
            id.to_string(),
            Body {
                weights: vec![3, -1],
            },
        );
        assert_eq!(
            read_body(std::str::from_utf8(&written).unwrap()).unwrap(),
            expected
        );
        let reordered = r#"{"weights": [3, -1], "model_id": "74419eecccf0c7bc4b9151e974efb402",
            "version": 1, "format": "baler-test"}"#;
        assert_eq!(read_body(reordered).unwrap(), expected);
        for (json, fault) in [
            (r#"{"format": "baler-test", "version": 1, "#, "invalid JSON"),
            (
                r#"{"format": "baler-test", "version": 1, "model_id": "a", "weights": []} x"#,
                "invalid JSON",
            ),
            (r#"[1, 2]"#, "not a baler-test file"),
            (
                r#"{"weights": "x", "format": "other", "version": 1}"#,
                "not a baler-test file",
            ),
            (
                r#"{"format": "baler-test", "version": 2, "model_id": "a", "weights": []}"#,
                "unsupported version",
            ),
            (
                r#"{"format": "baler-test", "version": 1, "model_id": "a", "weights": [0.5]}"#,
                "invalid type",
            ),
            (
                r#"{"format": "baler-test", "version": 1, "model_id": "a"}"#,
                "missing field `weights`",
            ),
            (
                r#"{"format": "baler-test", "version": 1, "weights": []}"#,
                "missing field `model_id`",
            ),
        ] {
            let err = read_body(json).unwrap_err().to_string();
            assert!(
                err.contains("m.json") && err.contains(fault),
                "{json}: {err}"
            );
        }
    }
}
