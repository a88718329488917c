//! Request bodies parsed with exact field paths, and the money type of the wire.
//!
//! poem-openapi's own JSON parser reports which *type* failed, not which *field*; clients need
//! the field. [`JsonBody`] documents its schema like `Json<T>` does, but parses with serde and
//! `serde_path_to_error`, so a bad value is reported as `contacts[0].type: unknown variant …`.

use std::borrow::Cow;

use poem::web::RequestBody;
use poem::{Request, error::ReadBodyError};
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;

use customers_domain::{Money, ValidationErrors};

use crate::problem::ApiError;

/// The largest accepted request body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A JSON request body of type `T`, documented by `T`'s schema.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: Type> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: DeserializeOwned + Send> ParsePayload for JsonBody<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(_request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let bytes = body
            .take()?
            .into_bytes_limit(MAX_BODY_BYTES)
            .await
            .map_err(|err| match err {
                ReadBodyError::PayloadTooLarge => ApiError::PayloadTooLarge,
                other => ApiError::Malformed(format!("The body could not be read: {other}")),
            })?;
        Ok(JsonBody(parse_json(&bytes)?))
    }
}

poem_openapi::impl_apirequest_for_payload!(JsonBody<T>, T: DeserializeOwned + Type + Send);

/// A JSON response body rendered beforehand (say, read from the cache), documented by `T`'s
/// schema like `Json<T>`; the body is `T` rendered with [`RenderedJson::render`], byte for
/// byte what `Json<T>` would send.
#[derive(Debug)]
pub struct RenderedJson<T> {
    body: String,
    rendered: std::marker::PhantomData<T>,
}

impl<T: ToJSON> RenderedJson<T> {
    /// Renders `value` as `Json<T>` does.
    pub fn render(value: &T) -> String {
        value.to_json_string()
    }

    /// A body [`render`](Self::render)ed before.
    pub fn new(body: String) -> Self {
        Self {
            body,
            rendered: std::marker::PhantomData,
        }
    }
}

impl<T: Type> Payload for RenderedJson<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Send> poem::IntoResponse for RenderedJson<T> {
    fn into_response(self) -> poem::Response {
        poem::Response::builder()
            .content_type("application/json; charset=utf-8")
            .body(self.body)
    }
}

/// An optional JSON request body of type `T` (`required: false` in the document): `None` when
/// the request has no body (or only white space), parsed as [`JsonBody`] otherwise.
#[derive(Debug)]
pub struct OptionalJsonBody<T>(pub Option<T>);

impl<'a, T: DeserializeOwned + Type + Send> poem_openapi::ApiExtractor<'a> for OptionalJsonBody<T> {
    const TYPES: &'static [poem_openapi::ApiExtractorType] = &[poem_openapi::ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<poem_openapi::registry::MetaRequest> {
        Some(poem_openapi::registry::MetaRequest {
            description: None,
            content: vec![poem_openapi::registry::MetaMediaType {
                content_type: <JsonBody<T> as Payload>::CONTENT_TYPE,
                schema: T::schema_ref(),
            }],
            required: false,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: poem_openapi::ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let bytes = body
            .take()?
            .into_bytes_limit(MAX_BODY_BYTES)
            .await
            .map_err(|err| match err {
                ReadBodyError::PayloadTooLarge => ApiError::PayloadTooLarge,
                other => ApiError::Malformed(format!("The body could not be read: {other}")),
            })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJsonBody(None));
        }
        match request.content_type() {
            Some(content_type) if <JsonBody<T> as Payload>::check_content_type(content_type) => {
                Ok(OptionalJsonBody(Some(parse_json(&bytes)?)))
            }
            Some(content_type) => Err(poem_openapi::error::ContentTypeError::NotSupported {
                content_type: content_type.to_owned(),
            }
            .into()),
            None => Err(poem_openapi::error::ContentTypeError::ExpectContentType.into()),
        }
    }
}

/// Parses a JSON document into `T`, naming the field of the first bad value.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::Malformed(format!(
            "The body is not valid JSON: {}",
            strip_position(&e.to_string())
        ))
    })?;
    if let Some(path) = find_nul(&value, String::new()) {
        let field = if path.is_empty() { ".".to_owned() } else { path };
        return Err(ApiError::field(field, "must not contain NUL (U+0000) characters"));
    }
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let message = strip_position(&err.into_inner().to_string());
        let (field, message) = match message.strip_prefix("missing field `") {
            Some(rest) => {
                let name = rest.trim_end_matches('`');
                (join_path(&path, name), "is required".to_owned())
            }
            None => (path, message),
        };
        if field == "." || field.is_empty() {
            return ApiError::Malformed(format!("The body must be a JSON object: {message}"));
        }
        ApiError::Validation(ValidationErrors::single(field, message))
    })
}

/// The path of the first string or key holding a NUL character, which PostgreSQL cannot store
/// in text.
fn find_nul(value: &serde_json::Value, path: String) -> Option<String> {
    match value {
        serde_json::Value::String(text) => text.contains('\0').then_some(path),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| find_nul(item, format!("{path}[{i}]"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(key, item)| {
            if key.contains('\0') {
                // The key itself cannot be shown; name the object holding it.
                return Some(path.clone());
            }
            find_nul(item, join_path(if path.is_empty() { "." } else { &path }, key))
        }),
        _ => None,
    }
}

/// `Option` fields of update bodies that may be absent but not `null` (they cannot be
/// cleared): `null` is a validation error naming the field.
pub fn non_null<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

fn join_path(path: &str, name: &str) -> String {
    if path == "." || path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// serde_json appends " at line L column C"; the field path says more.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// An amount of money: on output a string with two decimals (`"5000000.00"`), as the spec's
/// PostgreSQL stack returns numerics; on input a JSON string or number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount(pub Decimal);

impl From<Money> for Amount {
    fn from(money: Money) -> Self {
        Amount(money.amount())
    }
}

impl Amount {
    fn parse_str(text: &str) -> Result<Decimal, String> {
        let text = text.trim();
        let plain = text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
        if !plain {
            return Err(format!("{text:?} is not a decimal number"));
        }
        Decimal::from_str_exact(text)
            .or_else(|_| Decimal::from_scientific(text))
            .map_err(|_| format!("{text:?} is not a decimal number"))
    }
}

impl<'de> serde::Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Amount;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a decimal number or a string holding one")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Amount, E> {
                Ok(Amount(Decimal::from(v)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Amount, E> {
                Ok(Amount(Decimal::from(v)))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Amount, E> {
                if !v.is_finite() {
                    return Err(E::custom("must be a finite number"));
                }
                // Rust prints the shortest decimal that reads back as the same f64: what the
                // client wrote (1234.56 stays 1234.56).
                Amount::parse_str(&v.to_string()).map(Amount).map_err(E::custom)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Amount, E> {
                Amount::parse_str(v).map(Amount).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl Type for Amount {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "Amount".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        let mut schema = MetaSchema::new_with_format("string", "decimal");
        schema.description = Some(
            "Amount in tenge with at most 2 decimals, up to 9999999999999999.99; returned as a string \
             with exactly 2 decimals. Requests may also send a JSON number.",
        );
        schema.pattern = Some(r"^-?\d{1,16}(\.\d{1,2})?$".into());
        schema.example = Some(serde_json::json!("5000000.00"));
        MetaSchemaRef::Inline(Box::new(schema))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromJSON for Amount {
    fn parse_from_json(value: Option<serde_json::Value>) -> ParseResult<Self> {
        let value = value.unwrap_or_default();
        serde_json::from_value(value).map_err(|e| ParseError::custom(e.to_string()))
    }
}

impl ToJSON for Amount {
    fn to_json(&self) -> Option<serde_json::Value> {
        let mut value = self.0;
        value.rescale(2);
        Some(serde_json::Value::String(value.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Sample {
        credit_limit: Amount,
        items: Vec<Item>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Item {
        kind: String,
    }

    #[test]
    fn amounts_accept_numbers_and_strings_exactly() {
        for (json, expected) in [
            ("1234.56", "1234.56"),
            ("\"1234.56\"", "1234.56"),
            ("5000000", "5000000"),
            ("\"9999999999999999.99\"", "9999999999999999.99"),
            ("0.1", "0.1"),
        ] {
            let amount: Amount = serde_json::from_str(json).unwrap();
            assert_eq!(amount.0.to_string(), expected, "{json}");
        }
        assert!(serde_json::from_str::<Amount>("\"abc\"").is_err());
        assert!(serde_json::from_str::<Amount>("\"5_000_000\"").is_err());
        assert!(serde_json::from_str::<Amount>("true").is_err());
        assert_eq!(Amount(Decimal::from(5)).to_json(), Some(serde_json::json!("5.00")));
    }

    #[test]
    fn parse_errors_name_the_field() {
        let err = parse_json::<Sample>(br#"{"creditLimit": "x", "items": []}"#).unwrap_err();
        assert!(
            matches!(&err, ApiError::Validation(v) if v.errors()[0].field == "creditLimit"),
            "{err:?}"
        );
        let err = parse_json::<Sample>(br#"{"creditLimit": 1, "items": [{"kind": 5}]}"#).unwrap_err();
        assert!(
            matches!(&err, ApiError::Validation(v) if v.errors()[0].field == "items[0].kind"),
            "{err:?}"
        );
        let err = parse_json::<Sample>(br#"{"items": []}"#).unwrap_err();
        assert!(
            matches!(&err, ApiError::Validation(v) if v.errors()[0].field == "creditLimit" && v.errors()[0].message == "is required"),
            "{err:?}"
        );
        assert!(matches!(
            parse_json::<Sample>(b"{not json"),
            Err(ApiError::Malformed(_))
        ));
        assert!(matches!(parse_json::<Sample>(b"[1]"), Err(ApiError::Malformed(_))));
    }
}
