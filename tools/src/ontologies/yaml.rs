//! Ontology files' YAML, read as the corpus's tools read it and bounded:
//! [`parse`] turns a file into JSON, charging every value to a budget as it
//! is built, so an alias bomb is refused before it fills memory; [`truthy`],
//! [`raw_text`] and [`flatten`] are jq's `//`, `yq -r` and `[v] | flatten`,
//! as `gen-ontology-index.sh` applies them to the `ontology` fields.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, EnumAccess, MapAccess, SeqAccess};
use serde_json::{Map, Value};

use crate::error::clip;

/// The most values (scalars, lists and mappings, counted once per
/// appearance) a file may hold once its YAML aliases are expanded. The
/// largest file of the corpus holds a few thousand; an alias bomb is
/// refused when it passes this, before it fills memory.
pub const MAX_VALUES: usize = 500_000;
/// The most bytes of text (strings and keys) a file may hold once its
/// aliases are expanded.
pub const MAX_TEXT: usize = 16 << 20;
/// Parses YAML `bytes` into JSON within [`MAX_VALUES`] and [`MAX_TEXT`]; a
/// mapping key that is a list or mapping, or appears twice, is refused.
pub fn parse(bytes: &[u8]) -> Result<Value, serde_yaml::Error> {
    let budget = Budget::default();
    Bounded { budget: &budget }.deserialize(serde_yaml::Deserializer::from_slice(bytes))
}

/// Whether jq's `//` keeps `v` (everything but null and false), as the
/// index generator reads the `ontology` fields.
pub fn truthy(v: &Value) -> bool {
    !matches!(v, Value::Null | Value::Bool(false))
}

/// A scalar as `yq -r` prints it (a tagged scalar, `{"!tag": v}` here, as
/// its value); `None` for a list or mapping.
pub fn raw_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Object(m) if m.len() == 1 => m
            .iter()
            .next()
            .filter(|(k, _)| k.starts_with('!'))
            .and_then(|(_, inner)| raw_text(inner)),
        _ => None,
    }
}

/// `[v] | flatten`: nested lists spread, everything else kept.
pub fn flatten(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| flatten(i, out)),
        other => out.push(other.clone()),
    }
}

/// What a file may still expand to.
#[derive(Default)]
struct Budget {
    values: Cell<usize>,
    text: Cell<usize>,
}

impl Budget {
    fn spend<E: de::Error>(&self, text: usize) -> Result<(), E> {
        let values = self.values.get() + 1;
        let text = self.text.get().saturating_add(text);
        if values > MAX_VALUES {
            return Err(E::custom(format!(
                "it expands past {MAX_VALUES} values (YAML aliases?)"
            )));
        }
        if text > MAX_TEXT {
            return Err(E::custom(format!(
                "it expands past {MAX_TEXT} bytes of text (YAML aliases?)"
            )));
        }
        self.values.set(values);
        self.text.set(text);
        Ok(())
    }
}

/// Deserializes any YAML into JSON, charging every value to a [`Budget`]
/// as it is built, so an alias bomb is refused before it fills memory.
#[derive(Clone, Copy)]
struct Bounded<'b> {
    budget: &'b Budget,
}

impl<'de> DeserializeSeed<'de> for Bounded<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> de::Visitor<'de> for Bounded<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.budget.spend(0)?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.budget.spend(0)?;
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.budget.spend(0)?;
        Ok(Value::from(v))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        match i64::try_from(v) {
            Ok(v) => self.visit_i64(v),
            Err(_) => self.visit_f64(v as f64),
        }
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => self.visit_f64(v as f64),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.budget.spend(0)?;
        // JSON has no NaN or infinity: they become null, as serde_json
        // renders them.
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.budget.spend(v.len())?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.budget.spend(v.len())?;
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.budget.spend(0)?;
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.budget.spend(0)?;
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.budget.spend(0)?;
        let mut out = Map::new();
        while let Some(key) = map.next_key_seed(self)? {
            let key = match key {
                Value::String(s) => s,
                Value::Null => "null".to_owned(),
                Value::Bool(_) | Value::Number(_) => key.to_string(),
                Value::Array(_) | Value::Object(_) => {
                    return Err(de::Error::custom("a mapping key is a list or mapping"));
                }
            };
            let value = map.next_value_seed(self)?;
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "the key `{}` appears twice in one mapping",
                    clip(&key)
                )));
            }
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }

    /// A tagged value (`!tag value`) becomes `{"!tag": value}`, as
    /// serde_yaml renders one in JSON.
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        use de::VariantAccess as _;
        self.budget.spend(0)?;
        let (tag, variant): (String, _) = data.variant()?;
        self.budget.spend(tag.len())?;
        let value = variant.newtype_variant_seed(self)?;
        let tag = if tag.starts_with('!') {
            tag
        } else {
            format!("!{tag}")
        };
        let mut out = Map::new();
        out.insert(tag, value);
        Ok(Value::Object(out))
    }
}
