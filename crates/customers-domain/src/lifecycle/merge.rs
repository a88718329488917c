//! Merging duplicate customers into one: what the surviving (primary) customer looks like.
//!
//! [`merge`] only computes the merged customer; moving the duplicates' other records (deals,
//! orders, notes) and deleting the duplicates is the caller's business.

use std::collections::HashSet;

use rust_decimal::Decimal;
use time::OffsetDateTime;

use crate::ids::UserId;
use crate::lifecycle::ltv;
use crate::model::{CustomFields, Customer, CustomerType, fold_case};
use crate::money::Money;

/// The primary customer after absorbing `duplicates`. Pure: nothing is read or written.
///
/// * **Contacts and addresses** of the duplicates move to the primary, after its own, in the
///   order of `duplicates`: their `customer_id` becomes the primary's id, their ids are kept,
///   and their `updated_at` becomes `now` (they changed owner).
/// * **At most one primary contact** survives: the primary's own if it has one, otherwise the
///   first duplicate's (in order). **At most one primary address per address type**, by the
///   same rule for each type. Every other `is_primary` flag is cleared (and that record's
///   `updated_at` set to `now`).
/// * **Purchase totals add up**: `total_purchases` (saturating at the largest storable amount),
///   `purchase_count` (saturating at `i32::MAX`); `first_purchase_date` is the earliest and
///   `last_purchase_date` the latest of the known dates; `current_balance` is the sum of what
///   everyone owes.
/// * **Tags**: the union, the primary's first, without duplicates compared case-insensitively
///   (the first spelling is kept).
/// * **Custom fields**: merged; on equal keys the primary's value wins, then the earliest
///   duplicate's. `None` when no one has any.
/// * **Empty fields are filled**: each of `phone`, `iin`, `bin` (only for a COMPANY primary),
///   `company_name`, `company_size`, `industry`, `lead_source` and `assigned_to` that the
///   primary lacks is taken from the first duplicate that has it.
/// * **`lifetime_value`** is recomputed from the merged totals with [`ltv::lifetime_value`]
///   (the primary's status, rating and creation date).
/// * `version` = the primary's + 1, `updated_at` = `now`, `updated_by` = `actor`. Everything
///   else (id, name, e-mail, type, status, rating, credit limit, …) is the primary's.
///
/// A duplicate with the primary's id, or one listed twice, is taken into account once (the
/// primary never absorbs itself).
///
/// The result may hold more tags, contacts or addresses than a create/update request may send
/// (`MAX_TAGS`, `MAX_CONTACTS`, `MAX_ADDRESSES`): a merge never drops data.
pub fn merge(primary: &Customer, duplicates: &[Customer], actor: UserId, now: OffsetDateTime) -> Customer {
    let mut seen = HashSet::from([primary.id]);
    let duplicates: Vec<&Customer> = duplicates.iter().filter(|d| seen.insert(d.id)).collect();
    let mut merged = primary.clone();

    // Contacts and addresses: move, then keep the first primary (per type for addresses).
    for duplicate in &duplicates {
        merged.contacts.extend(duplicate.contacts.iter().map(|contact| {
            let mut contact = contact.clone();
            contact.customer_id = primary.id;
            contact.updated_at = now;
            contact
        }));
        merged.addresses.extend(duplicate.addresses.iter().map(|address| {
            let mut address = address.clone();
            address.customer_id = primary.id;
            address.updated_at = now;
            address
        }));
    }
    let mut has_primary_contact = false;
    for contact in merged.contacts.iter_mut().filter(|c| c.is_primary) {
        if has_primary_contact {
            contact.is_primary = false;
            contact.updated_at = now;
        }
        has_primary_contact = true;
    }
    let mut primary_address_types = HashSet::new();
    for address in merged.addresses.iter_mut().filter(|a| a.is_primary) {
        if !primary_address_types.insert(address.address_type) {
            address.is_primary = false;
            address.updated_at = now;
        }
    }

    // Purchase metrics.
    let total = duplicates.iter().fold(primary.total_purchases.amount(), |sum, d| {
        let amount = d.total_purchases.amount();
        sum.checked_add(amount).unwrap_or(if amount.is_sign_negative() {
            Decimal::MIN
        } else {
            Decimal::MAX
        })
    });
    merged.total_purchases = Money::round(total);
    let balance = duplicates.iter().fold(primary.current_balance.amount(), |sum, d| {
        let amount = d.current_balance.amount();
        sum.checked_add(amount).unwrap_or(if amount.is_sign_negative() {
            Decimal::MIN
        } else {
            Decimal::MAX
        })
    });
    // What the duplicates owe is owed by the merged customer.
    merged.current_balance = Money::round(balance);
    merged.purchase_count = duplicates
        .iter()
        .fold(primary.purchase_count, |sum, d| sum.saturating_add(d.purchase_count));
    let everyone = || std::iter::once(primary).chain(duplicates.iter().copied());
    merged.first_purchase_date = everyone().filter_map(|c| c.first_purchase_date).min();
    merged.last_purchase_date = everyone().filter_map(|c| c.last_purchase_date).max();

    // Tags and custom fields.
    let mut seen_tags = HashSet::new();
    merged.tags = everyone()
        .flat_map(|c| c.tags.iter())
        .filter(|tag| seen_tags.insert(fold_case(tag)))
        .cloned()
        .collect();
    for fields in duplicates.iter().filter_map(|d| d.custom_fields.as_ref()) {
        let target = merged.custom_fields.get_or_insert_with(CustomFields::new);
        for (key, value) in fields {
            if !target.contains_key(key) {
                target.insert(key.clone(), value.clone());
            }
        }
    }

    // Empty scalar fields.
    fill(&mut merged.phone, duplicates.iter().map(|d| &d.phone));
    fill(&mut merged.iin, duplicates.iter().map(|d| &d.iin));
    if merged.customer_type == CustomerType::Company {
        fill(&mut merged.bin, duplicates.iter().map(|d| &d.bin));
    }
    fill(&mut merged.company_name, duplicates.iter().map(|d| &d.company_name));
    fill(&mut merged.company_size, duplicates.iter().map(|d| &d.company_size));
    fill(&mut merged.industry, duplicates.iter().map(|d| &d.industry));
    fill(&mut merged.lead_source, duplicates.iter().map(|d| &d.lead_source));
    fill(&mut merged.assigned_to, duplicates.iter().map(|d| &d.assigned_to));

    merged.lifetime_value = ltv::lifetime_value(
        merged.total_purchases,
        merged.purchase_count,
        merged.first_purchase_date,
        merged.created_at,
        merged.status,
        merged.rating,
        now,
    );
    merged.version = primary.version + 1;
    merged.updated_at = now;
    merged.updated_by = Some(actor);
    merged
}

/// Sets an empty `slot` to the first value some candidate has.
fn fill<'a, T: Clone + 'a>(slot: &mut Option<T>, candidates: impl IntoIterator<Item = &'a Option<T>>) {
    if slot.is_none() {
        *slot = candidates.into_iter().find_map(Clone::clone);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    use serde_json::json;
    use time::Duration;
    use time::macros::datetime;

    use crate::commands::{NewAddress, NewContact, NewCustomer};
    use crate::ids::{OrganizationId, Scope, WorkspaceId};
    use crate::model::{AddressType, CompanySize, CustomerAddress, CustomerContact, CustomerStatus, Rating};
    use crate::values::{Bin, Email, Iin, Phone};

    const CREATED: OffsetDateTime = datetime!(2024-01-10 09:00 UTC);
    const NOW: OffsetDateTime = datetime!(2025-06-01 12:00 UTC);

    fn scope() -> Scope {
        Scope::new(OrganizationId::new(), WorkspaceId::new())
    }

    fn money(s: &str) -> Money {
        Money::parse(Decimal::from_str(s).unwrap()).unwrap()
    }

    fn customer(name: &str, customer_type: CustomerType) -> Customer {
        NewCustomer {
            customer_type,
            status: CustomerStatus::Active,
            name: name.to_owned(),
            email: Email::parse(&format!("{}@example.kz", name.to_lowercase())).unwrap(),
            phone: None,
            iin: None,
            bin: None,
            company_name: None,
            company_size: None,
            industry: None,
            credit_limit: money("1000"),
            lead_source: None,
            custom_fields: None,
            tags: Vec::new(),
            assigned_to: None,
            contacts: Vec::new(),
            addresses: Vec::new(),
        }
        .into_customer(scope(), UserId::new(), CREATED)
    }

    fn contact(owner: &Customer, first_name: &str, is_primary: bool) -> CustomerContact {
        NewContact {
            first_name: first_name.to_owned(),
            last_name: "Test".to_owned(),
            middle_name: None,
            position: None,
            department: None,
            email: Email::parse(&format!("{}@example.kz", first_name.to_lowercase())).unwrap(),
            phone: Phone::parse("+77011234567").unwrap(),
            mobile_phone: None,
            is_primary,
            is_decision_maker: false,
            social_media: None,
            notes: None,
        }
        .into_contact(owner.id, CREATED)
    }

    fn address(owner: &Customer, street: &str, address_type: AddressType, is_primary: bool) -> CustomerAddress {
        NewAddress {
            address_type,
            street: street.to_owned(),
            building: None,
            apartment: None,
            city: "Almaty".to_owned(),
            region: None,
            postal_code: "050000".to_owned(),
            country: "Kazakhstan".to_owned(),
            is_primary,
            contact_name: None,
            contact_phone: None,
            delivery_instructions: None,
            coordinates: None,
        }
        .into_address(owner.id, CREATED)
    }

    fn merge_now(primary: &Customer, duplicates: &[Customer]) -> Customer {
        merge(primary, duplicates, UserId::new(), NOW)
    }

    /// (contacts of the primary, of duplicate 1, of duplicate 2: `*` marks a primary contact;
    /// the contact expected to stay primary)
    type ContactCase = ([&'static [&'static str]; 3], Option<&'static str>);

    #[test]
    fn contacts_move_over_and_one_primary_survives() {
        let cases: [ContactCase; 7] = [
            ([&["p1*", "p2"], &["d1*"], &["d2*"]], Some("p1")),
            ([&["p1", "p2*"], &["d1*"], &[]], Some("p2")),
            ([&["p1"], &["d1"], &["d2*", "d3"]], Some("d2")),
            ([&["p1"], &["d1", "d2*"], &["d3*"]], Some("d2")),
            ([&[], &["d1*"], &["d2*"]], Some("d1")),
            ([&["p1"], &["d1"], &["d2"]], None),
            ([&[], &[], &[]], None),
        ];
        for ([own, first, second], expected) in cases {
            let mut customers = [
                customer("Primary", CustomerType::Company),
                customer("One", CustomerType::Company),
                customer("Two", CustomerType::Company),
            ];
            for (customer, names) in customers.iter_mut().zip([own, first, second]) {
                customer.contacts = names
                    .iter()
                    .map(|n| contact(customer, n.trim_end_matches('*'), n.ends_with('*')))
                    .collect();
            }
            let [primary, one, two] = customers;
            let merged = merge_now(&primary, &[one.clone(), two.clone()]);

            let names: Vec<&str> = merged.contacts.iter().map(|c| c.first_name.as_str()).collect();
            let all: Vec<&str> = [own, first, second]
                .concat()
                .into_iter()
                .map(|n| n.trim_end_matches('*'))
                .collect();
            assert_eq!(names, all, "the primary's first, then each duplicate's, in order");
            let ids: Vec<_> = merged.contacts.iter().map(|c| c.id).collect();
            let original: Vec<_> = [&primary, &one, &two]
                .iter()
                .flat_map(|c| c.contacts.iter().map(|x| x.id))
                .collect();
            assert_eq!(ids, original, "ids are kept");
            assert!(merged.contacts.iter().all(|c| c.customer_id == primary.id));
            let primaries: Vec<&str> = merged
                .contacts
                .iter()
                .filter(|c| c.is_primary)
                .map(|c| c.first_name.as_str())
                .collect();
            assert_eq!(
                primaries,
                expected.into_iter().collect::<Vec<_>>(),
                "{own:?} {first:?} {second:?}"
            );
            // The primary's own contacts are untouched; moved ones changed at `now`.
            for own_contact in &primary.contacts {
                let after = merged.contacts.iter().find(|c| c.id == own_contact.id).unwrap();
                assert_eq!(after, own_contact);
            }
            for moved in merged.contacts.iter().skip(primary.contacts.len()) {
                assert_eq!(moved.updated_at, NOW);
                assert_eq!(moved.created_at, CREATED);
            }
        }
    }

    #[test]
    fn addresses_move_over_and_one_primary_per_type_survives() {
        use AddressType::{Billing, Office, Shipping, Warehouse};
        let primary_rows = [("p-billing", Billing, true), ("p-shipping", Shipping, false)];
        let first_rows = [
            ("1-billing", Billing, true),
            ("1-shipping", Shipping, true),
            ("1-office", Office, false),
            ("1-billing-2", Billing, false),
        ];
        let second_rows = [
            ("2-shipping", Shipping, true),
            ("2-office", Office, true),
            ("2-warehouse", Warehouse, false),
            ("2-billing", Billing, true),
        ];
        let mut primary = customer("Primary", CustomerType::Company);
        let mut one = customer("One", CustomerType::Company);
        let mut two = customer("Two", CustomerType::Company);
        for (owner, rows) in [
            (&mut primary, &primary_rows[..]),
            (&mut one, &first_rows[..]),
            (&mut two, &second_rows[..]),
        ] {
            owner.addresses = rows.iter().map(|(s, t, p)| address(owner, s, *t, *p)).collect();
        }
        let merged = merge_now(&primary, &[one.clone(), two.clone()]);

        let expected = [
            ("p-billing", true),
            ("p-shipping", false),
            ("1-billing", false),
            ("1-shipping", true),
            ("1-office", false),
            ("1-billing-2", false),
            ("2-shipping", false),
            ("2-office", true),
            ("2-warehouse", false),
            ("2-billing", false),
        ];
        let got: Vec<(&str, bool)> = merged
            .addresses
            .iter()
            .map(|a| (a.street.as_str(), a.is_primary))
            .collect();
        assert_eq!(got, expected);
        let original: Vec<_> = [&primary, &one, &two]
            .iter()
            .flat_map(|c| c.addresses.iter().map(|a| a.id))
            .collect();
        assert_eq!(merged.addresses.iter().map(|a| a.id).collect::<Vec<_>>(), original);
        assert!(merged.addresses.iter().all(|a| a.customer_id == primary.id));
        assert_eq!(
            merged.addresses[..2],
            primary.addresses[..],
            "the primary's own are untouched"
        );
        assert!(merged.addresses[2..].iter().all(|a| a.updated_at == NOW));
    }

    /// (primary total and count, the duplicates' totals and counts, expected total and count)
    type TotalsCase = ((&'static str, i32), &'static [(&'static str, i32)], (&'static str, i32));

    #[test]
    fn purchase_totals_add_up_and_saturate() {
        let cases: [TotalsCase; 6] = [
            (("100.50", 2), &[("200.25", 3), ("0.25", 1)], ("301.00", 6)),
            (("0", 0), &[("99.99", 1)], ("99.99", 1)),
            (("10", 1), &[], ("10.00", 1)),
            (("9999999999999999.99", 5), &[("0.01", 1)], ("9999999999999999.99", 6)),
            (
                ("9999999999999999.99", i32::MAX),
                &[("9999999999999999.99", 1)],
                ("9999999999999999.99", i32::MAX),
            ),
            (("5", i32::MAX - 1), &[("5", 1), ("5", 1)], ("15.00", i32::MAX)),
        ];
        for ((total, count), duplicates, (expected_total, expected_count)) in cases {
            let mut primary = customer("Primary", CustomerType::Company);
            primary.total_purchases = money(total);
            primary.purchase_count = count;
            let duplicates: Vec<Customer> = duplicates
                .iter()
                .map(|(t, c)| {
                    let mut d = customer("Dup", CustomerType::Company);
                    d.total_purchases = money(t);
                    d.purchase_count = *c;
                    d
                })
                .collect();
            let merged = merge_now(&primary, &duplicates);
            assert_eq!(
                merged.total_purchases.to_string(),
                expected_total,
                "{total} + {duplicates:?}"
            );
            assert_eq!(merged.purchase_count, expected_count, "{count} + {duplicates:?}");
        }
    }

    #[test]
    fn purchase_dates_span_everyone() {
        let day = |d: i64| Some(CREATED + Duration::days(d));
        // (primary's first and last, the duplicates' first and last, expected first and last)
        let cases = [
            (
                (day(10), day(20)),
                vec![(day(5), day(15)), (day(12), day(30))],
                (day(5), day(30)),
            ),
            ((None, None), vec![(day(5), day(15))], (day(5), day(15))),
            ((day(10), day(20)), vec![(None, None)], (day(10), day(20))),
            ((None, None), vec![(None, None), (day(7), day(8))], (day(7), day(8))),
            ((None, None), vec![(None, None)], (None, None)),
            (
                (day(3), day(40)),
                vec![(day(4), day(39)), (day(3), day(40))],
                (day(3), day(40)),
            ),
        ];
        for ((first, last), duplicates, expected) in cases {
            let mut primary = customer("Primary", CustomerType::Company);
            primary.first_purchase_date = first;
            primary.last_purchase_date = last;
            let duplicates: Vec<Customer> = duplicates
                .iter()
                .map(|(f, l)| {
                    let mut d = customer("Dup", CustomerType::Company);
                    d.first_purchase_date = *f;
                    d.last_purchase_date = *l;
                    d
                })
                .collect();
            let merged = merge_now(&primary, &duplicates);
            assert_eq!((merged.first_purchase_date, merged.last_purchase_date), expected);
        }
    }

    #[test]
    fn tags_are_a_case_insensitive_union_primary_first() {
        type TagsCase = (
            &'static [&'static str],
            &'static [&'static [&'static str]],
            &'static [&'static str],
        );
        let cases: [TagsCase; 4] = [
            (
                &["VIP", "Almaty"],
                &[&["vip", "Wholesale", "almaty"], &["WHOLESALE", "New"]],
                &["VIP", "Almaty", "Wholesale", "New"],
            ),
            (&[], &[&["Қазақ", "b"], &["ҚАЗАҚ", "B"]], &["Қазақ", "b"]),
            (&["a"], &[], &["a"]),
            (&[], &[&[]], &[]),
        ];
        for (own, duplicates, expected) in cases {
            let mut primary = customer("Primary", CustomerType::Company);
            primary.tags = own.iter().map(|t| t.to_string()).collect();
            let duplicates: Vec<Customer> = duplicates
                .iter()
                .map(|tags| {
                    let mut d = customer("Dup", CustomerType::Company);
                    d.tags = tags.iter().map(|t| t.to_string()).collect();
                    d
                })
                .collect();
            assert_eq!(
                merge_now(&primary, &duplicates).tags,
                expected,
                "{own:?} {duplicates:?}"
            );
        }
    }

    #[test]
    fn custom_fields_merge_with_the_primary_winning() {
        let fields = |value: serde_json::Value| -> Option<CustomFields> {
            match value {
                serde_json::Value::Object(map) => Some(map),
                _ => None,
            }
        };
        let cases = [
            (
                json!({"a": 1, "b": 2}),
                vec![json!({"b": 3, "c": 4}), json!({"c": 5, "d": [6]})],
                json!({"a": 1, "b": 2, "c": 4, "d": [6]}),
            ),
            (json!(null), vec![json!({"x": "y"}), json!(null)], json!({"x": "y"})),
            (json!({"a": null}), vec![json!({"a": 1})], json!({"a": null})),
            (json!({}), vec![json!(null)], json!({})),
            (json!(null), vec![json!(null), json!(null)], json!(null)),
            (json!(null), vec![], json!(null)),
        ];
        for (own, duplicates, expected) in cases {
            let mut primary = customer("Primary", CustomerType::Company);
            primary.custom_fields = fields(own.clone());
            let duplicates: Vec<Customer> = duplicates
                .iter()
                .map(|f| {
                    let mut d = customer("Dup", CustomerType::Company);
                    d.custom_fields = fields(f.clone());
                    d
                })
                .collect();
            let merged = merge_now(&primary, &duplicates);
            assert_eq!(merged.custom_fields, fields(expected.clone()), "{own} + {duplicates:?}");
        }
    }

    #[test]
    fn empty_fields_are_filled_from_the_first_duplicate_that_has_them() {
        let manager = UserId::new();
        let other_manager = UserId::new();
        let mut one = customer("One", CustomerType::Company);
        one.iin = Some(Iin::parse("900515300008").unwrap());
        one.bin = Some(Bin::parse("971240001315").unwrap());
        one.industry = Some("Retail".to_owned());
        one.assigned_to = Some(manager);
        let mut two = customer("Two", CustomerType::Individual);
        two.phone = Some(Phone::parse("+77017654321").unwrap());
        two.iin = Some(Iin::parse("900515300107").unwrap());
        two.bin = Some(Bin::parse("050140000656").unwrap());
        two.company_name = Some("Two LLP".to_owned());
        two.company_size = Some(CompanySize::Small);
        two.industry = Some("Logistics".to_owned());
        two.lead_source = Some("website".to_owned());
        two.assigned_to = Some(other_manager);

        // A COMPANY primary with nothing set takes every field, each from the first that has it.
        let company = customer("Primary", CustomerType::Company);
        let merged = merge_now(&company, &[one.clone(), two.clone()]);
        assert_eq!(merged.phone, two.phone);
        assert_eq!(merged.iin, one.iin);
        assert_eq!(merged.bin, one.bin);
        assert_eq!(merged.company_name.as_deref(), Some("Two LLP"));
        assert_eq!(merged.company_size, Some(CompanySize::Small));
        assert_eq!(merged.industry.as_deref(), Some("Retail"));
        assert_eq!(merged.lead_source.as_deref(), Some("website"));
        assert_eq!(merged.assigned_to, Some(manager));

        // An INDIVIDUAL primary never gets a BIN.
        let person = customer("Person", CustomerType::Individual);
        let merged = merge_now(&person, &[one.clone(), two.clone()]);
        assert_eq!(merged.bin, None);
        assert_eq!(merged.iin, one.iin);

        // The primary's own values are kept.
        let mut full = customer("Full", CustomerType::Company);
        full.phone = Some(Phone::parse("+77010000000").unwrap());
        full.iin = Some(Iin::parse("900515330007").unwrap());
        full.bin = Some(Bin::parse("100341000016").unwrap());
        full.company_name = Some("Full LLP".to_owned());
        full.company_size = Some(CompanySize::Enterprise);
        full.industry = Some("Mining".to_owned());
        full.lead_source = Some("referral".to_owned());
        full.assigned_to = Some(UserId::new());
        let merged = merge_now(&full, &[one, two]);
        assert_eq!(
            (
                &merged.phone,
                &merged.iin,
                &merged.bin,
                &merged.company_name,
                &merged.company_size,
                &merged.industry,
                &merged.lead_source,
                &merged.assigned_to
            ),
            (
                &full.phone,
                &full.iin,
                &full.bin,
                &full.company_name,
                &full.company_size,
                &full.industry,
                &full.lead_source,
                &full.assigned_to
            )
        );
    }

    #[test]
    fn lifetime_value_is_recomputed_from_the_merged_totals() {
        let mut primary = customer("Primary", CustomerType::Company);
        primary.total_purchases = money("50000");
        primary.purchase_count = 1;
        primary.first_purchase_date = Some(NOW - Duration::days(30));
        primary.lifetime_value = money("1");
        let mut one = customer("One", CustomerType::Company);
        one.total_purchases = money("70000");
        one.purchase_count = 3;
        one.first_purchase_date = Some(NOW - Duration::days(60));
        one.lifetime_value = money("2");
        // 120 000 over 4 orders in 2 months, ACTIVE with rating 5: 30 000 × 2 × 24.
        let merged = merge_now(&primary, &[one.clone()]);
        assert_eq!(merged.lifetime_value.to_string(), "1440000.00");
        // The primary's status and rating drive the estimate.
        primary.rating = Rating::parse(10).unwrap();
        assert_eq!(
            merge_now(&primary, &[one.clone()]).lifetime_value.to_string(),
            "2880000.00"
        );
        primary.status = CustomerStatus::Churned;
        assert_eq!(merge_now(&primary, &[one]).lifetime_value.to_string(), "0.00");
    }

    #[test]
    fn bookkeeping_and_everything_else_come_from_the_primary() {
        let actor = UserId::new();
        let mut primary = customer("Primary", CustomerType::Company);
        primary.version = 7;
        primary.status = CustomerStatus::Inactive;
        primary.rating = Rating::parse(8).unwrap();
        primary.current_balance = money("-12.50");
        primary.is_active = false;
        let mut one = customer("One", CustomerType::Individual);
        one.status = CustomerStatus::Lead;
        one.version = 40;
        one.credit_limit = money("999999");
        one.current_balance = money("500");
        one.rating = Rating::parse(1).unwrap();
        one.is_active = true;

        let merged = merge(&primary, &[one], actor, NOW);
        let mut expected = primary.clone();
        expected.version = 8;
        expected.updated_at = NOW;
        expected.updated_by = Some(actor);
        expected.lifetime_value = money("0");
        expected.current_balance = money("487.50");
        assert_eq!(merged, expected);
        assert_eq!(merged.lifetime_value.to_string(), "0.00");
        assert_eq!(merged.created_at, CREATED);
    }

    #[test]
    fn the_primary_and_repeated_duplicates_count_once() {
        let mut primary = customer("Primary", CustomerType::Company);
        primary.total_purchases = money("10");
        primary.purchase_count = 1;
        primary.contacts = vec![contact(&primary, "Own", true)];
        let mut one = customer("One", CustomerType::Company);
        one.total_purchases = money("5");
        one.purchase_count = 2;
        one.contacts = vec![contact(&one, "Moved", false)];
        let merged = merge_now(&primary, &[one.clone(), primary.clone(), one]);
        assert_eq!(merged.total_purchases.to_string(), "15.00");
        assert_eq!(merged.purchase_count, 3);
        let names: Vec<&str> = merged.contacts.iter().map(|c| c.first_name.as_str()).collect();
        assert_eq!(names, ["Own", "Moved"]);
    }
}
