//! Tool schemas as MCP hosts want them.
//!
//! schemars describes an optional field as `"type": ["string", "null"]` or an
//! `anyOf` with a `null` branch, and numbers with formats such as `uint32`.
//! Strict hosts and `mcp-inspector --strict` flag both as unportable. Optional
//! fields are already optional by being absent from `required`, so the null
//! branch says nothing a client needs; it is removed here, once, for every
//! tool's input and output schema.

use rmcp::model::JsonObject;
use serde_json::Value;

/// Formats defined by JSON Schema 2020-12; others are dropped.
const STANDARD_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// Normalises a schema in place (see the module docs).
pub fn normalize(schema: &mut JsonObject) {
    for value in schema.values_mut() {
        normalize_value(value);
    }
    strip_null(schema);
}

fn normalize_value(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for v in map.values_mut() {
                normalize_value(v);
            }
            strip_null(map);
        }
        Value::Array(items) => items.iter_mut().for_each(normalize_value),
        _ => {}
    }
}

fn strip_null(map: &mut JsonObject) {
    if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            map.insert("type".into(), only);
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = map.get(key) {
            let non_null: Vec<Value> = branches
                .iter()
                .filter(|b| b.get("type") != Some(&Value::String("null".into())))
                .cloned()
                .collect();
            if non_null.len() < branches.len() {
                if let [only] = non_null.as_slice() {
                    map.remove(key);
                    if let Value::Object(inner) = only {
                        for (k, v) in inner {
                            map.entry(k.clone()).or_insert_with(|| v.clone());
                        }
                    }
                } else {
                    map.insert(key.into(), Value::Array(non_null));
                }
            }
        }
    }
    if map.get("default") == Some(&Value::Null) {
        map.remove("default");
    }
    if let Some(Value::String(format)) = map.get("format")
        && !STANDARD_FORMATS.contains(&format.as_str())
    {
        map.remove("format");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nullable_unions_become_plain_types() {
        let mut schema = json!({
            "type": "object",
            "properties": {
                "verified": {"type": ["boolean", "null"], "default": null},
                "cursor": {"anyOf": [{"$ref": "#/$defs/C"}, {"type": "null"}], "description": "d"},
                "limit": {"type": "integer", "format": "uint32", "minimum": 0},
                "when": {"type": "string", "format": "date"}
            }
        });
        let Value::Object(map) = &mut schema else {
            unreachable!()
        };
        normalize(map);
        assert_eq!(
            schema,
            json!({
                "type": "object",
                "properties": {
                    "verified": {"type": "boolean"},
                    "cursor": {"$ref": "#/$defs/C", "description": "d"},
                    "limit": {"type": "integer", "minimum": 0},
                    "when": {"type": "string", "format": "date"}
                }
            })
        );
    }
}
