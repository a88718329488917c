//! Keyset cursors on the wire: opaque, tamper-evident, bound to the query they came from.
//!
//! A cursor is `base64url(position) "." base64url(tag)`, where the position is the sort key
//! and id of the last row of a page and the tag an HMAC-SHA256 (truncated to 128 bits) over
//! the position and the query's filters and sort order, keyed by a key derived from the
//! server's secret. A cursor that was altered, forged, or comes from another query (other
//! filters or sort) is refused with a 400 naming `cursor`. Server copies sharing the secret
//! accept each other's cursors.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;

use customers_domain::ValidationErrors;
use customers_domain::query::{CustomerQuery, Keyset};

/// Longest accepted cursor.
const MAX_CURSOR_LEN: usize = 1_024;

/// Bytes of the tag kept.
const TAG_LEN: usize = 16;

/// Signs and checks cursors.
#[derive(Clone)]
pub struct CursorCodec {
    key: hmac::Key,
}

impl std::fmt::Debug for CursorCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorCodec([REDACTED])")
    }
}

impl CursorCodec {
    /// A codec keyed by a key derived from `secret` (distinct from any other use of it).
    pub fn new(secret: &[u8]) -> Self {
        let derived = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), b"customers/list-cursor/v1");
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
        }
    }

    fn tag(&self, payload: &[u8], query: &CustomerQuery) -> hmac::Tag {
        let mut context = hmac::Context::with_key(&self.key);
        context.update(payload);
        context.update(&[0]);
        context.update(query.fingerprint().as_bytes());
        context.sign()
    }

    /// The cursor of `position` in the list of `query`.
    pub fn encode(&self, position: &Keyset, query: &CustomerQuery) -> String {
        // A position always serializes (plain strings, numbers and ids).
        let payload = serde_json::to_vec(position).unwrap_or_default();
        let tag = self.tag(&payload, query);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(&tag.as_ref()[..TAG_LEN])
        )
    }

    /// The position a cursor of `query` holds.
    ///
    /// Errors: `cursor` when it is malformed, altered, or belongs to another query.
    pub fn decode(&self, cursor: &str, query: &CustomerQuery) -> Result<Keyset, ValidationErrors> {
        let invalid = || {
            ValidationErrors::single(
                "cursor",
                "is not a cursor of this list (altered, or from a query with other filters or sort); \
                 start again from the first page",
            )
        };
        let cursor = cursor.trim();
        if cursor.len() > MAX_CURSOR_LEN {
            return Err(invalid());
        }
        let (payload, tag) = cursor.split_once('.').ok_or_else(invalid)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
        let expected = self.tag(&payload, query);
        // Constant-time comparison of the truncated tags.
        if tag.len() != TAG_LEN || !constant_time_eq(&tag, &expected.as_ref()[..TAG_LEN]) {
            return Err(invalid());
        }
        let position: Keyset = serde_json::from_slice(&payload).map_err(|_| invalid())?;
        if !position.fits(query.sort_by) {
            return Err(invalid());
        }
        Ok(position)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use customers_domain::CustomerId;
    use customers_domain::query::{CustomerFilter, SortField, SortValue};

    use super::*;

    fn query(status: Option<customers_domain::CustomerStatus>) -> CustomerQuery {
        CustomerQuery::new(
            CustomerFilter {
                status,
                ..CustomerFilter::default()
            },
            Some(SortField::Name),
            None,
            None,
            None,
        )
        .unwrap()
    }

    fn position() -> Keyset {
        Keyset {
            value: SortValue::Text("алма".into()),
            id: CustomerId::new(),
        }
    }

    #[test]
    fn a_cursor_reads_back_for_its_query_only() {
        let codec = CursorCodec::new(b"secret");
        let q = query(None);
        let cursor = codec.encode(&position(), &q);
        assert!(cursor.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
        assert_eq!(codec.decode(&cursor, &q).unwrap().value, SortValue::Text("алма".into()));
        // Another filter, another secret, another sort kind: refused.
        assert!(
            codec
                .decode(&cursor, &query(Some(customers_domain::CustomerStatus::Active)))
                .is_err()
        );
        assert!(CursorCodec::new(b"other").decode(&cursor, &q).is_err());
        let by_date = CustomerQuery::new(CustomerFilter::default(), None, None, None, None).unwrap();
        assert!(codec.decode(&cursor, &by_date).is_err());
    }

    #[test]
    fn altered_or_garbage_cursors_are_refused() {
        let codec = CursorCodec::new(b"secret");
        let q = query(None);
        let cursor = codec.encode(&position(), &q);
        let (payload, tag) = cursor.split_once('.').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(payload).unwrap();
        bytes[5] ^= 1;
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(&bytes));
        for bad in [forged.as_str(), "", ".", "abc", "a.b", &"x".repeat(5000)] {
            let errors = codec.decode(bad, &q).unwrap_err();
            assert_eq!(errors.errors()[0].field, "cursor");
        }
    }
}
