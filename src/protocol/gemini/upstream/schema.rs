//! JSON Schema → the subset Gemini's `Schema` object accepts.
//!
//! Gemini takes: type, format, title, description, nullable, enum, items,
//! properties, required, propertyOrdering, anyOf, minItems, maxItems,
//! minProperties, maxProperties, minLength, maxLength, pattern, minimum,
//! maximum, default, example. Everything else is rejected with a 400, so this
//! module inlines `$ref`s, turns type arrays and null unions into `nullable`,
//! `oneOf` into `anyOf`, merges `allOf`, and writes every constraint it has to
//! drop into the description, so the model still knows it. Enum values are
//! never lost: non-string enums, which Gemini cannot express, go to the
//! description too.

use serde_json::{Map, Value, json};

/// Nesting deeper than this is cut off; it guards against recursive `$ref`s.
const MAX_DEPTH: usize = 24;

const KEPT: &[&str] = &[
    "title",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "default",
    "propertyOrdering",
];

/// Keywords that only carry bookkeeping; dropping them loses nothing the model needs.
const SILENT: &[&str] = &[
    "$schema",
    "$id",
    "$comment",
    "$defs",
    "definitions",
    "$anchor",
    "$dynamicAnchor",
    "additionalProperties",
    "strict",
    "readOnly",
    "writeOnly",
    "deprecated",
    "contentEncoding",
    "contentMediaType",
];

/// Returns a copy of `schema` that Gemini's `Schema` object accepts.
pub fn clean_schema(schema: &Value) -> Value {
    let empty = Map::new();
    let defs = schema
        .get("$defs")
        .or_else(|| schema.get("definitions"))
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut stack = Vec::new();
    clean(schema, defs, &mut stack)
}

fn clean(node: &Value, defs: &Map<String, Value>, stack: &mut Vec<String>) -> Value {
    let Value::Object(src) = node else {
        // `true` / `{}`-like schemas accept anything.
        return json!({});
    };
    if stack.len() > MAX_DEPTH {
        return json!({"type": "OBJECT", "description": "(nested too deeply to describe)"});
    }

    if let Some(reference) = src.get("$ref").and_then(Value::as_str) {
        let name = reference
            .rsplit('/')
            .next()
            .unwrap_or(reference)
            .to_string();
        let target = defs.get(&name).filter(|_| !stack.contains(&name));
        let Some(target) = target else {
            return json!({"type": "OBJECT", "description": format!("(recursive: {name})")});
        };
        // Siblings of `$ref` (usually a description) override the target's.
        let mut merged = target.as_object().cloned().unwrap_or_default();
        for (k, v) in src.iter().filter(|(k, _)| *k != "$ref") {
            merged.insert(k.clone(), v.clone());
        }
        stack.push(name);
        let out = clean(&Value::Object(merged), defs, stack);
        stack.pop();
        return out;
    }

    // Only `allOf` needs an owned copy (its members merge into the node);
    // everything else is read in place, so cleaning does not copy subtrees.
    let merged;
    let src = match src.get("allOf") {
        Some(Value::Array(all)) => {
            let mut own = src.clone();
            own.remove("allOf");
            merge_all_of(&mut own, all.clone());
            merged = own;
            &merged
        }
        _ => src,
    };

    let mut out = Map::new();
    let mut notes: Vec<String> = Vec::new();
    let mut nullable = src
        .get("nullable")
        .and_then(Value::as_bool)
        .unwrap_or(false);

    // Unions: null members become `nullable`, a single survivor is inlined.
    let union = src.get("anyOf").or_else(|| src.get("oneOf"));
    if let Some(Value::Array(variants)) = union {
        let mut kept: Vec<Value> = Vec::new();
        for v in variants {
            if v.get("type").and_then(Value::as_str) == Some("null") {
                nullable = true;
            } else {
                kept.push(clean(v, defs, stack));
            }
        }
        if kept.len() == 1 {
            let only = kept.pop().expect("one variant");
            if let Value::Object(only) = only {
                for (k, v) in only {
                    if k == "description" && src.contains_key("description") {
                        continue;
                    }
                    out.insert(k, v);
                }
            }
        } else if !kept.is_empty() {
            out.insert("anyOf".into(), Value::Array(kept));
        }
    }

    match src.get("type") {
        Some(Value::String(t)) if t == "null" => {
            nullable = true;
            out.insert("type".into(), json!("STRING"));
        }
        Some(Value::String(t)) => {
            out.insert("type".into(), json!(t.to_ascii_uppercase()));
        }
        Some(Value::Array(types)) => {
            let types: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
            if types.contains(&"null") {
                nullable = true;
            }
            let real: Vec<&str> = types.into_iter().filter(|t| *t != "null").collect();
            match real.as_slice() {
                [] => {}
                [one] => {
                    out.insert("type".into(), json!(one.to_ascii_uppercase()));
                }
                many => {
                    let variants = many
                        .iter()
                        .map(|t| json!({"type": t.to_ascii_uppercase()}))
                        .collect();
                    out.insert("anyOf".into(), Value::Array(variants));
                }
            }
        }
        _ => {
            // Infer what JSON Schema leaves implicit; Gemini needs a type.
            if src.contains_key("properties") {
                out.insert("type".into(), json!("OBJECT"));
            } else if src.contains_key("items") {
                out.insert("type".into(), json!("ARRAY"));
            } else if src.get("enum").is_some_and(all_strings) && !out.contains_key("type") {
                out.insert("type".into(), json!("STRING"));
            }
        }
    }

    if let Some(c) = src.get("const") {
        match c {
            // Written as a string enum is, so that a second cleaning keeps it.
            Value::String(_)
                if matches!(
                    out.get("type").and_then(Value::as_str),
                    None | Some("STRING")
                ) =>
            {
                out.insert("type".into(), json!("STRING"));
                out.insert("enum".into(), json!([c]));
                out.insert("format".into(), json!("enum"));
            }
            other => notes.push(format!("must be {other}")),
        }
    }

    if let Some(Value::Array(values)) = src.get("enum") {
        let is_string = out.get("type").and_then(Value::as_str) == Some("STRING");
        // A nullable enum (`"enum": ["c", "f", null]`) keeps its strings and
        // says `nullable`: Gemini's Schema has both.
        let strings: Vec<Value> = values.iter().filter(|v| !v.is_null()).cloned().collect();
        if is_string && all_strings(&Value::Array(strings.clone())) {
            nullable |= strings.len() < values.len();
            out.insert("enum".into(), Value::Array(strings));
            out.insert("format".into(), json!("enum"));
        } else {
            let listed: Vec<String> = values.iter().map(Value::to_string).collect();
            notes.push(format!("allowed values: {}", listed.join(", ")));
        }
    }

    if let Some(Value::Object(props)) = src.get("properties") {
        let mut cleaned = Map::new();
        for (name, schema) in props {
            stack.push(String::new());
            cleaned.insert(name.clone(), clean(schema, defs, stack));
            stack.pop();
        }
        if let Some(Value::Array(required)) = src.get("required") {
            // Gemini rejects required names that are not properties.
            let required: Vec<Value> = required
                .iter()
                .filter(|r| r.as_str().is_some_and(|r| cleaned.contains_key(r)))
                .cloned()
                .collect();
            if !required.is_empty() {
                out.insert("required".into(), Value::Array(required));
            }
        }
        out.insert("properties".into(), Value::Object(cleaned));
    }

    match src.get("items") {
        Some(items @ Value::Object(_)) => {
            stack.push(String::new());
            out.insert("items".into(), clean(items, defs, stack));
            stack.pop();
        }
        Some(Value::Array(tuple)) if !tuple.is_empty() => {
            stack.push(String::new());
            let variants: Vec<Value> = tuple.iter().map(|t| clean(t, defs, stack)).collect();
            stack.pop();
            out.insert("items".into(), json!({"anyOf": variants}));
            notes.push("items in a fixed order (a tuple)".into());
        }
        _ => {}
    }

    if let Some(format) = src.get("format").and_then(Value::as_str) {
        let ty = out.get("type").and_then(Value::as_str).unwrap_or("");
        let supported = matches!(
            (ty, format),
            ("STRING", "date-time")
                | ("NUMBER", "float" | "double")
                | ("INTEGER", "int32" | "int64")
        );
        if supported {
            out.insert("format".into(), json!(format));
        } else if out.get("format").is_none() {
            notes.push(format!("format: {format}"));
        }
    }

    for key in KEPT {
        if let Some(v) = src.get(*key) {
            out.insert((*key).into(), v.clone());
        }
    }
    if let Some(Value::Array(examples)) = src.get("examples")
        && let Some(first) = examples.first()
    {
        out.insert("example".into(), first.clone());
    }
    if let Some(example) = src.get("example") {
        out.insert("example".into(), example.clone());
    }

    // Everything else Gemini would reject goes into the description.
    for (key, value) in src {
        let handled = KEPT.contains(&key.as_str())
            || SILENT.contains(&key.as_str())
            || matches!(
                key.as_str(),
                "type"
                    | "description"
                    | "nullable"
                    | "enum"
                    | "const"
                    | "properties"
                    | "required"
                    | "items"
                    | "format"
                    | "examples"
                    | "example"
                    | "$ref"
                    | "anyOf"
                    | "oneOf"
                    | "allOf"
            );
        if !handled {
            notes.push(format!("{key}: {}", compact(value)));
        }
    }
    if let Some(Value::Object(extra)) = src.get("additionalProperties") {
        let cleaned = clean(&Value::Object(extra.clone()), defs, stack);
        if let Some(t) = cleaned.get("type").and_then(Value::as_str) {
            notes.push(format!("values are {}", t.to_ascii_lowercase()));
        }
    }

    if nullable {
        out.insert("nullable".into(), json!(true));
    }
    let description = src.get("description").and_then(Value::as_str).unwrap_or("");
    if !notes.is_empty() {
        let joined = notes.join("; ");
        let text = if description.is_empty() {
            format!("Constraints: {joined}.")
        } else {
            format!("{description} (Constraints: {joined}.)")
        };
        out.insert("description".into(), json!(text));
    } else if !description.is_empty() {
        out.insert("description".into(), json!(description));
    }
    Value::Object(out)
}

/// An enum of strings (a `null` among them only makes it nullable).
fn all_strings(v: &Value) -> bool {
    v.as_array().is_some_and(|a| {
        a.iter().any(Value::is_string) && a.iter().all(|x| x.is_string() || x.is_null())
    })
}

fn compact(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Folds `allOf` members into the schema: properties and required lists unite,
/// other keywords are taken from the first member that sets them.
fn merge_all_of(target: &mut Map<String, Value>, members: Vec<Value>) {
    for member in members {
        let Value::Object(member) = member else {
            continue;
        };
        for (k, v) in member {
            match (k.as_str(), target.get_mut(&k), v) {
                ("properties", Some(Value::Object(mine)), Value::Object(theirs)) => {
                    mine.extend(theirs);
                }
                ("required", Some(Value::Array(mine)), Value::Array(theirs)) => {
                    for r in theirs {
                        if !mine.contains(&r) {
                            mine.push(r);
                        }
                    }
                }
                (_, Some(_), _) => {}
                (_, None, v) => {
                    target.insert(k, v);
                }
            }
        }
    }
}
