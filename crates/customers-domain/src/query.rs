//! The list query: filters, sort and page of `GET /customers`.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::ValidationErrors;
use crate::ids::{CustomerId, UserId};
use crate::model::{Customer, CustomerStatus, CustomerType, fold_case};
use crate::values::phone_digits;

/// Largest page size.
pub const MAX_LIMIT: u32 = 100;
/// Page size when none is given.
pub const DEFAULT_LIMIT: u32 = 20;
/// Most distinct tags one list query may filter by.
pub const MAX_FILTER_TAGS: usize = 50;
/// Up to this many matches, an estimated count is exact (unless the planner estimates more
/// than [`ESTIMATE_TRUSTED_ABOVE`]).
pub const EXACT_COUNT_UP_TO: u64 = 10_000;
/// An estimated count takes the planner's estimate without counting when it is above this.
pub const ESTIMATE_TRUSTED_ABOVE: u64 = 2 * EXACT_COUNT_UP_TO;

/// How the total of a list is counted (as PostgREST's `Prefer: count=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CountMode {
    /// Every match counted (the default; wire-compatible, slow on huge matches).
    #[default]
    Exact,
    /// The query planner's estimate when it is above [`ESTIMATE_TRUSTED_ABOVE`] (flagged as
    /// an estimate, nothing counted); otherwise the matches are counted up to
    /// [`EXACT_COUNT_UP_TO`]` + 1`: exact when at most [`EXACT_COUNT_UP_TO`] match, the
    /// planner's estimate (at least the count) beyond, flagged. A store without planner
    /// estimates counts exactly. A flagged total can be far from the truth where the planner
    /// misjudges (correlated filters, substrings), and then also for fewer than
    /// [`EXACT_COUNT_UP_TO`] matches; an unflagged total is always exact.
    Estimated,
    /// No total.
    None,
}

/// The value of the sort key of one customer, for keyset pagination.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "k", content = "v")]
pub enum SortValue {
    /// `createdAt` / `updatedAt`.
    #[serde(rename = "t")]
    Time(#[serde(with = "time::serde::rfc3339")] OffsetDateTime),
    /// `name` (case-folded, as sorted).
    #[serde(rename = "s")]
    Text(String),
    /// `totalPurchases`.
    #[serde(rename = "d")]
    Amount(Decimal),
    /// `rating`.
    #[serde(rename = "i")]
    Int(i64),
}

/// A position in a sorted list: the sort key and id of the last row seen. The next page holds
/// the rows strictly after it in the list's order (ties by id), wherever rows were inserted
/// or removed meanwhile.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Keyset {
    /// The sort key of the last row.
    pub value: SortValue,
    /// Its id.
    pub id: CustomerId,
}

impl Keyset {
    /// The position of `customer` in a list sorted by `sort`.
    pub fn of(customer: &Customer, sort: SortField) -> Self {
        let value = match sort {
            SortField::CreatedAt => SortValue::Time(customer.created_at),
            SortField::UpdatedAt => SortValue::Time(customer.updated_at),
            SortField::Name => SortValue::Text(fold_case(&customer.name)),
            SortField::TotalPurchases => SortValue::Amount(customer.total_purchases.amount()),
            SortField::Rating => SortValue::Int(customer.rating.value().into()),
        };
        Self { value, id: customer.id }
    }

    /// Whether this position can be one of a list sorted by `sort`.
    pub fn fits(&self, sort: SortField) -> bool {
        matches!(
            (&self.value, sort),
            (SortValue::Time(_), SortField::CreatedAt | SortField::UpdatedAt)
                | (SortValue::Text(_), SortField::Name)
                | (SortValue::Amount(_), SortField::TotalPurchases)
                | (SortValue::Int(_), SortField::Rating)
        )
    }
}

/// What the list is sorted by; ties are always broken by id in the same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SortField {
    /// Creation time (the default).
    #[default]
    CreatedAt,
    /// Last change.
    UpdatedAt,
    /// Name.
    Name,
    /// Total purchases.
    TotalPurchases,
    /// Rating.
    Rating,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SortOrder {
    /// Smallest first.
    Asc,
    /// Largest first (the default).
    #[default]
    Desc,
}

/// How the search text is matched.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SearchTerm {
    /// Case-folded text, matched as a substring of name, company name and e-mail.
    pub text: String,
    /// The digits of the term when it looks like a phone number, matched as a substring of the
    /// phone's digits ("7012345678" finds "+77012345678").
    pub digits: Option<String>,
    /// The trimmed term, matched exactly against IIN and BIN.
    pub exact: String,
}

impl SearchTerm {
    /// Builds the term; `None` when the input is blank.
    pub fn parse(raw: &str) -> Option<Self> {
        let exact = raw.trim();
        if exact.is_empty() {
            return None;
        }
        let looks_like_phone = exact
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.'));
        // A full phone in any typed form ("8 701 234 56 78") searches by its E.164 digits;
        // a fragment by its own digits.
        let digits = match crate::values::Phone::parse(exact) {
            Ok(phone) if looks_like_phone => Some(phone.digits().to_owned()),
            _ => Some(phone_digits(exact)).filter(|d| looks_like_phone && d.len() >= 3),
        };
        Some(Self {
            text: fold_case(exact),
            digits,
            exact: exact.to_owned(),
        })
    }
}

/// Filters of the list; every one present must match.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerFilter {
    /// Type equals.
    pub customer_type: Option<CustomerType>,
    /// Status equals.
    pub status: Option<CustomerStatus>,
    /// Substring of name, company name, e-mail, phone digits; or exact IIN/BIN.
    pub search: Option<SearchTerm>,
    /// Industry equals (case-insensitive).
    pub industry: Option<String>,
    /// Any address is in this city (case-insensitive).
    pub city: Option<String>,
    /// Manager equals.
    pub assigned_to: Option<UserId>,
    /// Active flag equals.
    pub is_active: Option<bool>,
    /// Lead source equals (case-insensitive).
    pub lead_source: Option<String>,
    /// Has any of these tags (case-insensitive).
    pub tags: Vec<String>,
    /// Total purchases ≥.
    pub min_purchases: Option<Decimal>,
    /// Total purchases ≤.
    pub max_purchases: Option<Decimal>,
    /// Created at or after.
    pub created_from: Option<OffsetDateTime>,
    /// Created at or before.
    pub created_to: Option<OffsetDateTime>,
    /// In this segment (by the workspace's thresholds, as of the query).
    pub segment: Option<crate::analytics::segment::Segment>,
}

/// A validated list query.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerQuery {
    /// What must match.
    pub filter: CustomerFilter,
    /// Sort key.
    pub sort_by: SortField,
    /// Direction.
    pub sort_order: SortOrder,
    /// 1-based page (1 when `after` is given).
    pub page: u32,
    /// Page size, 1..=100.
    pub limit: u32,
    /// Keyset pagination: the page starts after this position instead of at an offset.
    pub after: Option<Keyset>,
    /// How the total is counted.
    pub count: CountMode,
    /// The membership condition of `filter.segment`, resolved by the service with the
    /// workspace's thresholds and the current time (not part of the fingerprint: a cursor
    /// stays valid as time passes).
    pub segment_condition: Option<crate::analytics::segment::Condition>,
}

impl Default for CustomerQuery {
    fn default() -> Self {
        Self {
            filter: CustomerFilter::default(),
            sort_by: SortField::default(),
            sort_order: SortOrder::default(),
            page: 1,
            limit: DEFAULT_LIMIT,
            after: None,
            count: CountMode::default(),
            segment_condition: None,
        }
    }
}

impl CustomerQuery {
    /// Checks the ranges and page bounds; fills defaults.
    pub fn new(
        filter: CustomerFilter,
        sort_by: Option<SortField>,
        sort_order: Option<SortOrder>,
        page: Option<i64>,
        limit: Option<i64>,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let page = match page {
            None => 1,
            Some(p) if (1..=i64::from(u32::MAX)).contains(&p) => p as u32,
            Some(_) => {
                errors.push("page", "must be at least 1");
                1
            }
        };
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(l) if (1..=i64::from(MAX_LIMIT)).contains(&l) => l as u32,
            Some(_) => {
                errors.push("limit", format!("must be between 1 and {MAX_LIMIT}"));
                DEFAULT_LIMIT
            }
        };
        for (field, value) in [
            ("minPurchases", filter.min_purchases),
            ("maxPurchases", filter.max_purchases),
        ] {
            if value.is_some_and(|v| v.is_sign_negative() && !v.is_zero()) {
                errors.push(field, "must be greater than or equal to 0");
            }
        }
        if let (Some(min), Some(max)) = (filter.min_purchases, filter.max_purchases)
            && min > max
        {
            errors.push("minPurchases", "must not exceed maxPurchases");
        }
        if let (Some(from), Some(to)) = (filter.created_from, filter.created_to)
            && from > to
        {
            errors.push("createdFrom", "must not be after createdTo");
        }
        let mut tags: Vec<String> = Vec::new();
        for tag in filter.tags.iter().flat_map(|t| t.split(',')).map(fold_case) {
            if !tag.is_empty() && !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        if tags.len() > MAX_FILTER_TAGS {
            errors.push("tags", format!("must name at most {MAX_FILTER_TAGS} distinct tags"));
        }
        let filter = CustomerFilter {
            // Stores keep microseconds: a finer lower bound rounds up, a finer upper bound down,
            // so that "at or after" and "at or before" stay exact.
            created_from: filter.created_from.map(|t| truncate_to_micros(t, true)),
            created_to: filter.created_to.map(|t| truncate_to_micros(t, false)),
            industry: filter.industry.map(|v| fold_case(&v)).filter(|v| !v.is_empty()),
            city: filter.city.map(|v| fold_case(&v)).filter(|v| !v.is_empty()),
            lead_source: filter.lead_source.map(|v| fold_case(&v)).filter(|v| !v.is_empty()),
            tags,
            ..filter
        };
        errors.into_result(|| Self {
            filter,
            sort_by: sort_by.unwrap_or_default(),
            sort_order: sort_order.unwrap_or_default(),
            page,
            limit,
            after: None,
            count: CountMode::default(),
            segment_condition: None,
        })
    }

    /// Continues after `position` (keyset pagination) instead of at a page offset.
    ///
    /// Errors: `cursor` when the position is not one of this sort order's.
    pub fn after(mut self, position: Keyset) -> Result<Self, ValidationErrors> {
        if !position.fits(self.sort_by) {
            return Err(ValidationErrors::single("cursor", "does not match this query's sortBy"));
        }
        self.page = 1;
        self.after = Some(position);
        Ok(self)
    }

    /// What identifies the list this query pages through: its filters and sort order (not the
    /// page, size, position or count mode). A keyset position is only valid for the same list.
    pub fn fingerprint(&self) -> String {
        format!("{:?}|{:?}|{:?}", self.filter, self.sort_by, self.sort_order)
    }

    /// Counts the total as `count` says.
    pub fn counted(mut self, count: CountMode) -> Self {
        self.count = count;
        self
    }

    /// Rows to skip before the page (none after a keyset position).
    pub fn offset(&self) -> u64 {
        if self.after.is_some() {
            return 0;
        }
        u64::from(self.page - 1) * u64::from(self.limit)
    }
}

/// One page of the customer list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerList {
    /// The customers of this page.
    pub items: Vec<Customer>,
    /// How many match (`None` with [`CountMode::None`]).
    pub total: Option<u64>,
    /// Whether `total` is the planner's estimate.
    pub total_is_estimate: bool,
    /// This page, 1-based.
    pub page: u32,
    /// Page size.
    pub limit: u32,
    /// Where the next page starts, when rows follow this page.
    pub next: Option<Keyset>,
}

impl CustomerList {
    /// Number of pages, when the total is known.
    pub fn pages(&self) -> Option<u64> {
        self.total.map(|t| t.div_ceil(u64::from(self.limit.max(1))))
    }
}

/// Drops sub-microsecond precision, rounding up (`up`) or down.
fn truncate_to_micros(at: OffsetDateTime, up: bool) -> OffsetDateTime {
    let nanos = at.nanosecond();
    let floor = at.replace_nanosecond(nanos / 1_000 * 1_000).unwrap_or(at);
    if up && !nanos.is_multiple_of(1_000) {
        floor + time::Duration::microseconds(1)
    } else {
        floor
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// How many rows match in all.
    pub total: u64,
    /// This page, 1-based.
    pub page: u32,
    /// Page size.
    pub limit: u32,
}

impl<T> Page<T> {
    /// Page `page` (from 1) of `limit` of all `items`.
    pub fn slice(items: Vec<T>, page: u32, limit: u32) -> Self {
        let total = items.len() as u64;
        let skip = (page.max(1) as usize - 1).saturating_mul(limit as usize);
        Page {
            items: items.into_iter().skip(skip).take(limit as usize).collect(),
            total,
            page,
            limit,
        }
    }

    /// Number of pages (0 when nothing matches).
    pub fn pages(&self) -> u64 {
        self.total.div_ceil(u64::from(self.limit.max(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_term_matches_phone_digits_only_for_phone_like_input() {
        let term = SearchTerm::parse(" +7 (701) 234 ").unwrap();
        assert_eq!(term.digits.as_deref(), Some("7701234"));
        let term = SearchTerm::parse("8 701 234 56 78").unwrap();
        assert_eq!(term.digits.as_deref(), Some("77012345678"));
        let term = SearchTerm::parse("Альфа").unwrap();
        assert_eq!(term.text, "альфа");
        assert_eq!(term.digits, None);
        assert!(SearchTerm::parse("   ").is_none());
    }

    #[test]
    fn query_defaults_and_bounds() {
        let q = CustomerQuery::new(CustomerFilter::default(), None, None, None, None).unwrap();
        assert_eq!((q.page, q.limit, q.offset()), (1, 20, 0));
        let q = CustomerQuery::new(CustomerFilter::default(), None, None, Some(3), Some(100)).unwrap();
        assert_eq!(q.offset(), 200);
        let errors = CustomerQuery::new(CustomerFilter::default(), None, None, Some(0), Some(101)).unwrap_err();
        let fields: Vec<_> = errors.errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["page", "limit"]);
    }

    #[test]
    fn tags_accept_comma_lists_and_ranges_are_checked() {
        let filter = CustomerFilter {
            tags: vec!["a,B".into(), " c ".into(), ",".into()],
            min_purchases: Some(Decimal::from(10)),
            max_purchases: Some(Decimal::from(5)),
            ..Default::default()
        };
        let errors = CustomerQuery::new(filter.clone(), None, None, None, None).unwrap_err();
        assert_eq!(errors.errors()[0].field, "minPurchases");
        let ok = CustomerQuery::new(
            CustomerFilter {
                max_purchases: None,
                ..filter
            },
            None,
            None,
            None,
            None,
        )
        .unwrap();
        assert_eq!(ok.filter.tags, vec!["a", "b", "c"]);
    }

    #[test]
    fn time_bounds_round_towards_the_inside() {
        let at = time::macros::datetime!(2026-01-01 00:00:00.123456789 UTC);
        let filter = CustomerFilter {
            created_from: Some(at),
            created_to: Some(at + time::Duration::seconds(1)),
            ..Default::default()
        };
        let q = CustomerQuery::new(filter, None, None, None, None).unwrap();
        assert_eq!(q.filter.created_from.unwrap().nanosecond(), 123_457_000);
        assert_eq!(q.filter.created_to.unwrap().nanosecond(), 123_456_000);
    }

    #[test]
    fn pages_rounds_up() {
        let page = Page::<()> {
            items: vec![],
            total: 41,
            page: 1,
            limit: 20,
        };
        assert_eq!(page.pages(), 3);
        let empty = Page::<()> {
            items: vec![],
            total: 0,
            page: 1,
            limit: 20,
        };
        assert_eq!(empty.pages(), 0);
    }
}
