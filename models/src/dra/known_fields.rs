//! Whether a typed object keeps every field of the document it was read from, without
//! serializing it into a `serde_json::Value` first.
//!
//! The strict check of manifests ([`super::manifests::unknown_field`]) compares the
//! document as written with the typed object serialized back. For megabytes of
//! ResourceSlices that serialization cost as much as reading the YAML. [`keeps_every_field`]
//! walks the typed object's `Serialize` output beside the document instead, comparing
//! the keys of each mapping the document has at the same place, and builds nothing.
//!
//! It answers `true` only when the full check would find no unknown field; `false` means
//! "found one, or not sure" (a shape it does not follow), and the caller then runs the
//! full check, which words the error.

use std::fmt;

use serde::ser::{self, Serialize};
use serde_json::{Map, Value};

/// `true` if `typed`, serialized as `serde_json::to_value` would, has every non-null
/// field of `raw` at the same place (objects by key, arrays item by item up to the
/// shorter one) — that is, if `unknown_field(raw, &to_value(typed), _)` is `None`.
pub fn keeps_every_field<T: Serialize + ?Sized>(raw: &Value, typed: &T) -> bool {
    typed.serialize(Walk(raw)).is_ok()
}

/// An unknown field, or a shape this walk does not follow.
#[derive(Debug)]
pub struct NotSure;

impl fmt::Display for NotSure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an unknown field, or a shape not compared")
    }
}

impl std::error::Error for NotSure {}

impl ser::Error for NotSure {
    fn custom<T: fmt::Display>(_: T) -> Self {
        NotSure
    }
}

/// Serializes a value beside `raw`, the document's value at the same place.
struct Walk<'a>(&'a Value);

/// A nested value with the document's value there: walked only when that is an object or
/// an array (a scalar, null or absent field has nothing to compare).
fn walk_into<T: Serialize + ?Sized>(raw: Option<&Value>, v: &T) -> Result<(), NotSure> {
    match raw {
        Some(raw @ (Value::Object(_) | Value::Array(_))) => v.serialize(Walk(raw)),
        _ => Ok(()),
    }
}

/// The keys of one object of the document that the typed side has named so far.
struct Fields<'a> {
    raw: Option<&'a Map<String, Value>>,
    named: Vec<&'a str>,
    key: Option<String>,
}

impl<'a> Fields<'a> {
    fn new(raw: &'a Value) -> Fields<'a> {
        Fields {
            raw: raw.as_object(),
            named: Vec::new(),
            key: None,
        }
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, v: &T) -> Result<(), NotSure> {
        let Some(raw) = self.raw else {
            return Ok(());
        };
        if let Some((k, rv)) = raw.get_key_value(key)
            && !rv.is_null()
        {
            self.named.push(k);
            walk_into(Some(rv), v)?;
        }
        Ok(())
    }

    fn end(mut self) -> Result<(), NotSure> {
        let Some(raw) = self.raw else {
            return Ok(());
        };
        self.named.sort_unstable();
        self.named.dedup();
        let written = raw.values().filter(|v| !v.is_null()).count();
        if self.named.len() == written {
            Ok(())
        } else {
            Err(NotSure)
        }
    }
}

/// Items of one array of the document, compared with the typed side's in order.
struct Items<'a> {
    raw: Option<&'a Vec<Value>>,
    at: usize,
}

impl Items<'_> {
    fn item<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), NotSure> {
        let raw = self.raw.and_then(|a| a.get(self.at));
        self.at += 1;
        walk_into(raw, v)
    }
}

/// Something the walk does not follow, when the document has an object or array here
/// (anything else has nothing to compare with).
struct Unfollowed<'a>(&'a Value);

impl Unfollowed<'_> {
    fn check(&self) -> Result<(), NotSure> {
        match self.0 {
            Value::Object(_) | Value::Array(_) => Err(NotSure),
            _ => Ok(()),
        }
    }
}

/// Scalars: nothing inside to compare.
macro_rules! scalars {
    ($($method:ident : $ty:ty),*) => {$(
        fn $method(self, _: $ty) -> Result<(), NotSure> {
            Ok(())
        }
    )*};
}

impl<'a> ser::Serializer for Walk<'a> {
    type Ok = ();
    type Error = NotSure;
    type SerializeSeq = Items<'a>;
    type SerializeTuple = Items<'a>;
    type SerializeTupleStruct = Items<'a>;
    type SerializeTupleVariant = Unfollowed<'a>;
    type SerializeMap = Fields<'a>;
    type SerializeStruct = Fields<'a>;
    type SerializeStructVariant = Unfollowed<'a>;

    scalars!(
        serialize_bool: bool,
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_i128: i128,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64,
        serialize_u128: u128,
        serialize_f32: f32,
        serialize_f64: f64,
        serialize_char: char,
        serialize_str: &str
    );
    fn serialize_bytes(self, _: &[u8]) -> Result<(), NotSure> {
        Ok(()) // an array of numbers: nothing inside to compare
    }
    fn serialize_none(self) -> Result<(), NotSure> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), NotSure> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), NotSure> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), NotSure> {
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<(), NotSure> {
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), NotSure> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), NotSure> {
        // `{variant: value}`, as serde_json writes it.
        let mut fields = Fields::new(self.0);
        fields.field(variant, v)?;
        fields.end()
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Items<'a>, NotSure> {
        Ok(Items {
            raw: self.0.as_array(),
            at: 0,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Items<'a>, NotSure> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Items<'a>, NotSure> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Unfollowed<'a>, NotSure> {
        Ok(Unfollowed(self.0))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Fields<'a>, NotSure> {
        Ok(Fields::new(self.0))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Fields<'a>, NotSure> {
        Ok(Fields::new(self.0))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Unfollowed<'a>, NotSure> {
        Ok(Unfollowed(self.0))
    }
}

/// Sequences, tuples and tuple structs are arrays in serde_json: items compared in order.
macro_rules! items {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for Items<'_> {
            type Ok = ();
            type Error = NotSure;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), NotSure> {
                self.item(v)
            }
            fn end(self) -> Result<(), NotSure> {
                Ok(())
            }
        }
    )*};
}

items!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field
);

impl ser::SerializeStruct for Fields<'_> {
    type Ok = ();
    type Error = NotSure;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), NotSure> {
        self.field(key, v)
    }
    fn end(self) -> Result<(), NotSure> {
        Fields::end(self)
    }
}

impl ser::SerializeMap for Fields<'_> {
    type Ok = ();
    type Error = NotSure;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), NotSure> {
        self.key = Some(key.serialize(KeyText)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), NotSure> {
        let key = self.key.take().ok_or(NotSure)?;
        self.field(&key, v)
    }
    fn end(self) -> Result<(), NotSure> {
        Fields::end(self)
    }
}

impl ser::SerializeTupleVariant for Unfollowed<'_> {
    type Ok = ();
    type Error = NotSure;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<(), NotSure> {
        Ok(())
    }
    fn end(self) -> Result<(), NotSure> {
        self.check()
    }
}

impl ser::SerializeStructVariant for Unfollowed<'_> {
    type Ok = ();
    type Error = NotSure;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        _: &'static str,
        _: &T,
    ) -> Result<(), NotSure> {
        Ok(())
    }
    fn end(self) -> Result<(), NotSure> {
        self.check()
    }
}

/// A map key as text: strings and chars as themselves; anything else is not followed
/// (serde_json turns numbers into text too, but no Kubernetes type has such keys).
struct KeyText;

/// Keys of other types: not followed.
macro_rules! refused {
    ($($method:ident : $ty:ty),*) => {$(
        fn $method(self, _: $ty) -> Result<String, NotSure> {
            Err(NotSure)
        }
    )*};
}

impl ser::Serializer for KeyText {
    type Ok = String;
    type Error = NotSure;
    type SerializeSeq = ser::Impossible<String, NotSure>;
    type SerializeTuple = ser::Impossible<String, NotSure>;
    type SerializeTupleStruct = ser::Impossible<String, NotSure>;
    type SerializeTupleVariant = ser::Impossible<String, NotSure>;
    type SerializeMap = ser::Impossible<String, NotSure>;
    type SerializeStruct = ser::Impossible<String, NotSure>;
    type SerializeStructVariant = ser::Impossible<String, NotSure>;

    fn serialize_str(self, v: &str) -> Result<String, NotSure> {
        Ok(v.to_string())
    }
    fn serialize_char(self, v: char) -> Result<String, NotSure> {
        Ok(v.to_string())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<String, NotSure> {
        v.serialize(self)
    }
    refused!(
        serialize_bool: bool,
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64,
        serialize_f32: f32,
        serialize_f64: f64,
        serialize_bytes: &[u8]
    );
    fn serialize_none(self) -> Result<String, NotSure> {
        Err(NotSure)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<String, NotSure> {
        Err(NotSure)
    }
    fn serialize_unit(self) -> Result<String, NotSure> {
        Err(NotSure)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<String, NotSure> {
        Err(NotSure)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<String, NotSure> {
        Err(NotSure)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, NotSure> {
        Err(NotSure)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotSure> {
        Err(NotSure)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotSure> {
        Err(NotSure)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, NotSure> {
        Err(NotSure)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, NotSure> {
        Err(NotSure)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotSure> {
        Err(NotSure)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, NotSure> {
        Err(NotSure)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, NotSure> {
        Err(NotSure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dra::manifests::unknown_field;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use serde_json::json;

    /// Whenever the walk says every field is kept, the full check agrees; and it says so
    /// for a document equal to the typed object.
    fn agrees(raw: &Value, typed: &Value) {
        let walked = keeps_every_field(raw, typed);
        let full = unknown_field(raw, typed, "").is_none();
        assert!(
            !walked || full,
            "walk kept all, full check did not: {raw} vs {typed}"
        );
        assert_eq!(walked, full, "{raw} vs {typed}");
    }

    #[test]
    fn same_verdict_as_the_full_check() {
        let typed = json!({"a": {"b": [{"c": 1}, {"c": 2}]}, "y": {"x": "s"}, "n": null});
        agrees(&typed, &typed);
        agrees(&json!({"a": {"b": [{"c": 1}, {"d": 2}]}}), &typed);
        agrees(&json!({"z": null, "y": {"x": null, "w": null}}), &typed);
        agrees(&json!({"y": {"x": {"deep": 1}}}), &typed);
        agrees(
            &json!({"a": {"b": [{"c": 1}, {"c": 2}, {"extra": 3}]}}),
            &typed,
        );
        agrees(&json!({"a": [1, 2]}), &typed);
        agrees(&json!({"q": 1}), &typed);
        agrees(&json!([{"k": 1}]), &json!([{}]));
    }

    /// A real Kubernetes object: its own JSON is kept; a misspelt field is not.
    #[test]
    fn a_resource_slice() {
        use k8s_openapi::api::resource::v1::ResourceSlice;
        let raw = json!({
            "apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice",
            "metadata": {"name": "s", "labels": {"a": "b"}},
            "spec": {"driver": "gpu.nvidia.com", "nodeName": "n",
                     "pool": {"name": "n", "generation": 1, "resourceSliceCount": 1},
                     "devices": [{"name": "gpu-0", "attributes": {"index": {"int": 0}},
                                  "capacity": {"memory": {"value": "80Gi"}}}]}
        });
        let typed: ResourceSlice = serde_json::from_value(raw.clone()).expect("valid");
        assert!(keeps_every_field(&raw, &typed));
        let mut typo = raw.clone();
        typo["spec"]["devices"][0]["capacity"]["memory"]["valeu"] = json!("1");
        let typed: ResourceSlice = serde_json::from_value(typo.clone()).expect("ignored");
        assert!(!keeps_every_field(&typo, &typed));
        assert_eq!(
            unknown_field(&typo, &serde_json::to_value(&typed).expect("json"), "").as_deref(),
            Some("spec.devices[0].capacity.memory.valeu")
        );
    }

    /// Random pairs of small JSON trees (the typed side often the raw side with fields
    /// dropped or changed): the walk's verdict is the full check's.
    #[test]
    fn agrees_on_random_trees() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (mut kept, mut lost) = (0, 0);
        for _ in 0..5000 {
            let raw = tree(&mut rng, 0);
            let typed = mutate(&mut rng, &raw);
            agrees(&raw, &typed);
            if keeps_every_field(&raw, &typed) {
                kept += 1;
            } else {
                lost += 1;
            }
        }
        assert!(kept > 500 && lost > 500, "kept {kept}, lost {lost}");
    }

    fn tree(rng: &mut ChaCha8Rng, depth: usize) -> Value {
        match if depth > 3 { 0 } else { rng.random_range(0..5) } {
            0 => json!(rng.random_range(0..3)),
            1 => Value::Null,
            2 => Value::Array(
                (0..rng.random_range(0..3))
                    .map(|_| tree(rng, depth + 1))
                    .collect(),
            ),
            _ => Value::Object(
                (0..rng.random_range(0..4))
                    .map(|_| {
                        (
                            ["a", "b", "c"][rng.random_range(0..3)].to_string(),
                            tree(rng, depth + 1),
                        )
                    })
                    .collect(),
            ),
        }
    }

    fn mutate(rng: &mut ChaCha8Rng, v: &Value) -> Value {
        match v {
            Value::Object(m) if rng.random_bool(0.9) => {
                let mut out = Map::new();
                for (k, v) in m {
                    if rng.random_bool(0.8) {
                        out.insert(k.clone(), mutate(rng, v));
                    }
                }
                Value::Object(out)
            }
            Value::Array(a) if rng.random_bool(0.9) => Value::Array(
                a.iter()
                    .take(if rng.random_bool(0.9) {
                        a.len()
                    } else {
                        rng.random_range(0..=a.len())
                    })
                    .map(|v| mutate(rng, v))
                    .collect(),
            ),
            _ if rng.random_bool(0.9) => v.clone(),
            _ => tree(rng, 3),
        }
    }
}
