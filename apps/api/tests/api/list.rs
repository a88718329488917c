//! `GET /customers`: every filter of CustomerQueryDto, sorting, paging, the page shape.

use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};
use uuid::Uuid;

use crate::helpers::{ALPHA_BIN, TestApp, b2b_example, individual, valid_bin, valid_iin};

/// Two customers: the spec's B2B example and an unrelated individual.
struct Seed {
    /// The B2B example: COMPANY, PROSPECT, Manufacturing, Алматы, tags
    /// manufacturing/premium/almaty, lead source `website`, assigned to `manager`, active,
    /// rating 5, total purchases 150000.00; created second, updated first.
    b2b: String,
    b2b_created: OffsetDateTime,
    /// INDIVIDUAL, LEAD, no industry, Астана, tag retail, lead source `referral`, assigned to
    /// someone else, inactive, rating 8, total purchases 0; created first, updated last.
    noise: String,
    noise_created: OffsetDateTime,
    manager: Uuid,
}

fn at(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(value.as_str().expect("a string"), &Rfc3339).expect("RFC 3339")
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).expect("format")
}

async fn seed(app: &TestApp) -> Seed {
    let mut noise = individual("Иван Петров", "ivan.petrov@example.com");
    noise["phone"] = json!("+77051234567");
    noise["iin"] = json!(valid_iin(1));
    noise["leadSource"] = json!("referral");
    noise["tags"] = json!(["retail"]);
    noise["addresses"] = json!([{
        "type": "office", "street": "пр. Кабанбай батыра, 1", "city": "Астана", "postalCode": "010000"
    }]);
    let noise = app.create(&noise).await;
    let b2b = app.create(&b2b_example()).await;
    let (b2b_id, noise_id) = (
        b2b["id"].as_str().unwrap().to_owned(),
        noise["id"].as_str().unwrap().to_owned(),
    );

    let manager = Uuid::now_v7();
    app.put(&b2b_id, &json!({ "assignedTo": manager, "leadSource": "website" }))
        .await
        .assert_status(200);
    app.put(
        &noise_id,
        &json!({ "isActive": false, "rating": 8, "assignedTo": Uuid::now_v7() }),
    )
    .await
    .assert_status(200);
    app.set_total_purchases(&b2b_id, 15_000_000).await;

    let seed = Seed {
        b2b: b2b_id,
        b2b_created: at(&b2b["createdAt"]),
        noise: noise_id,
        noise_created: at(&noise["createdAt"]),
        manager,
    };
    assert!(seed.noise_created < seed.b2b_created, "created one after the other");
    seed
}

/// Asserts that `query` lists exactly `expected`, in that order.
async fn expect(app: &TestApp, query: &[(&str, &str)], expected: &[&String]) {
    let page = app.list(query).await.assert_status(200).body;
    let got = crate::helpers::ids(&page["items"]);
    let expected: Vec<String> = expected.iter().map(|s| (*s).clone()).collect();
    assert_eq!(got, expected, "GET /customers?{query:?}");
    assert_eq!(page["total"], json!(expected.len()), "total of {query:?}");
}

async fn each_filter_finds_the_b2b_example(app: TestApp) {
    let s = seed(&app).await;
    let (b2b, noise) = (&s.b2b, &s.noise);
    let none: &[&String] = &[];

    expect(&app, &[], &[b2b, noise]).await;

    // type, status
    expect(&app, &[("type", "COMPANY")], &[b2b]).await;
    expect(&app, &[("type", "INDIVIDUAL")], &[noise]).await;
    expect(&app, &[("status", "PROSPECT")], &[b2b]).await;
    expect(&app, &[("status", "ACTIVE")], none).await;

    // search: name in another case, e-mail substring, phone digits, exact BIN
    expect(&app, &[("search", "альфа")], &[b2b]).await;
    expect(&app, &[("search", "АЛЬФА")], &[b2b]).await;
    expect(&app, &[("search", "alpha.kz")], &[b2b]).await;
    expect(&app, &[("search", "INFO@ALPHA")], &[b2b]).await;
    expect(&app, &[("search", "7012345678")], &[b2b]).await;
    expect(&app, &[("search", "+7 (701) 234-56")], &[b2b]).await;
    expect(&app, &[("search", ALPHA_BIN)], &[b2b]).await;
    expect(&app, &[("search", &valid_iin(1))], &[noise]).await;
    expect(&app, &[("search", "бета")], none).await;
    expect(&app, &[("search", "nobody@alpha.kz")], none).await;
    expect(&app, &[("search", "7019999999")], none).await;
    expect(&app, &[("search", &ALPHA_BIN[..11])], none).await; // BIN matches exactly only
    expect(&app, &[("search", &valid_bin(5))], none).await;
    expect(&app, &[("search", "%")], none).await; // wildcards are literal
    expect(&app, &[("search", "_")], none).await;

    // industry, city (any address, case-insensitive)
    expect(&app, &[("industry", "Manufacturing")], &[b2b]).await;
    expect(&app, &[("industry", "MANUFACTURING")], &[b2b]).await;
    expect(&app, &[("industry", "Retail")], none).await;
    expect(&app, &[("city", "алматы")], &[b2b]).await;
    expect(&app, &[("city", "Алматы")], &[b2b]).await;
    expect(&app, &[("city", "Астана")], &[noise]).await;
    expect(&app, &[("city", "Шымкент")], none).await;
    expect(&app, &[("city", "Алм")], none).await; // city is not a substring match

    // assignedTo, isActive, leadSource
    let manager = s.manager.to_string();
    expect(&app, &[("assignedTo", &manager)], &[b2b]).await;
    expect(&app, &[("assignedTo", &Uuid::now_v7().to_string())], none).await;
    expect(&app, &[("isActive", "true")], &[b2b]).await;
    expect(&app, &[("isActive", "false")], &[noise]).await;
    expect(&app, &[("isActive", "false"), ("type", "COMPANY")], none).await;
    expect(&app, &[("leadSource", "website")], &[b2b]).await;
    expect(&app, &[("leadSource", "WEBSITE")], &[b2b]).await;
    expect(&app, &[("leadSource", "cold_call")], none).await;

    // tags: any of them, repeated or comma-separated
    expect(&app, &[("tags", "premium"), ("tags", "zzz")], &[b2b]).await;
    expect(&app, &[("tags", "premium,zzz")], &[b2b]).await;
    expect(&app, &[("tags", "PREMIUM")], &[b2b]).await;
    expect(&app, &[("tags", "zzz")], none).await;
    expect(&app, &[("tags", "zzz"), ("tags", "yyy")], none).await;
    expect(&app, &[("tags", "zzz,yyy")], none).await;
    expect(&app, &[("tags", "retail,premium")], &[b2b, noise]).await;

    // minPurchases / maxPurchases (the B2B example has bought for 150000.00)
    expect(&app, &[("minPurchases", "100000")], &[b2b]).await;
    expect(&app, &[("minPurchases", "150000.00")], &[b2b]).await;
    expect(&app, &[("minPurchases", "150000.01")], none).await;
    expect(&app, &[("minPurchases", "0")], &[b2b, noise]).await;
    expect(&app, &[("maxPurchases", "150000")], &[b2b, noise]).await;
    expect(&app, &[("maxPurchases", "149999.99")], &[noise]).await;
    expect(&app, &[("maxPurchases", "149999.99"), ("type", "COMPANY")], none).await;
    expect(&app, &[("minPurchases", "100000"), ("maxPurchases", "200000")], &[b2b]).await;
    expect(&app, &[("minPurchases", "160000"), ("maxPurchases", "200000")], none).await;

    // createdFrom / createdTo: RFC 3339 (any offset) and plain dates
    let b2b_at = rfc3339(s.b2b_created);
    let just_after_b2b = rfc3339(s.b2b_created + Duration::microseconds(1));
    let noise_at = rfc3339(s.noise_created);
    let just_before_noise = rfc3339(s.noise_created - Duration::microseconds(1));
    let b2b_at_almaty = rfc3339(s.b2b_created.to_offset(UtcOffset::from_hms(5, 0, 0).unwrap()));
    expect(&app, &[("createdFrom", &b2b_at)], &[b2b]).await;
    expect(&app, &[("createdFrom", &b2b_at_almaty)], &[b2b]).await;
    expect(&app, &[("createdFrom", &just_after_b2b)], none).await;
    expect(&app, &[("createdTo", &b2b_at)], &[b2b, noise]).await;
    expect(&app, &[("createdTo", &noise_at)], &[noise]).await;
    expect(&app, &[("createdTo", &just_before_noise)], none).await;
    expect(
        &app,
        &[("createdFrom", &noise_at), ("createdTo", &b2b_at)],
        &[b2b, noise],
    )
    .await;
    let today = s.b2b_created.date();
    let (yesterday, tomorrow) = (today.previous_day().unwrap(), today.next_day().unwrap());
    if s.noise_created.date() == today {
        expect(&app, &[("createdFrom", &today.to_string())], &[b2b, noise]).await;
        expect(&app, &[("createdTo", &today.to_string())], &[b2b, noise]).await;
        expect(
            &app,
            &[("createdFrom", &today.to_string()), ("createdTo", &today.to_string())],
            &[b2b, noise],
        )
        .await;
    }
    expect(&app, &[("createdFrom", &tomorrow.to_string())], none).await;
    expect(&app, &[("createdTo", &yesterday.to_string())], none).await;

    // The spec's "Поиск и фильтрация" example, with the example's own status.
    expect(
        &app,
        &[
            ("type", "COMPANY"),
            ("status", "PROSPECT"),
            ("industry", "Manufacturing"),
            ("minPurchases", "100000"),
            ("tags", "premium"),
            ("city", "Алматы"),
            ("sortBy", "totalPurchases"),
            ("sortOrder", "DESC"),
            ("page", "1"),
            ("limit", "20"),
        ],
        &[b2b],
    )
    .await;
}
both_backends!(each_filter_finds_the_b2b_example);

async fn every_sort_key_in_both_directions(app: TestApp) {
    let s = seed(&app).await;
    let (b2b, noise) = (&s.b2b, &s.noise);
    for (sort_by, asc) in [
        ("createdAt", [noise, b2b]),      // noise created first
        ("updatedAt", [b2b, noise]),      // noise updated last
        ("name", [noise, b2b]),           // "Иван Петров" < "ТОО Альфа"
        ("totalPurchases", [noise, b2b]), // 0 < 150000
        ("rating", [b2b, noise]),         // 5 < 8
    ] {
        expect(&app, &[("sortBy", sort_by), ("sortOrder", "ASC")], &asc).await;
        expect(&app, &[("sortBy", sort_by), ("sortOrder", "DESC")], &[asc[1], asc[0]]).await;
        expect(&app, &[("sortBy", sort_by)], &[asc[1], asc[0]]).await; // DESC by default
    }
    expect(&app, &[("sortOrder", "ASC")], &[noise, b2b]).await; // createdAt by default
}
both_backends!(every_sort_key_in_both_directions);

async fn ties_are_broken_by_id_so_pages_are_stable(app: TestApp) {
    // Same name, rating and purchases: only the id orders them.
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            app.create(&individual("Одинаковый", &format!("same{i}@example.kz")))
                .await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut sorted = ids.clone();
    sorted.sort();
    for (sort_by, order) in [("name", "ASC"), ("rating", "DESC"), ("totalPurchases", "ASC")] {
        let mut seen = Vec::new();
        for page in ["1", "2", "3"] {
            let query = [
                ("sortBy", sort_by),
                ("sortOrder", order),
                ("limit", "2"),
                ("page", page),
            ];
            seen.extend(app.list_ids(&query).await);
        }
        let mut expected = sorted.clone();
        if order == "DESC" {
            expected.reverse();
        }
        assert_eq!(
            seen, expected,
            "{sort_by} {order}: pages cover every customer once, in id order"
        );
    }
}
both_backends!(ties_are_broken_by_id_so_pages_are_stable);

async fn pages_and_limits(app: TestApp) {
    let mut ids = Vec::new();
    for i in 0..5 {
        let body = individual(&format!("Клиент {i}"), &format!("client{i}@example.kz"));
        ids.push(app.create(&body).await["id"].as_str().unwrap().to_owned());
    }
    ids.reverse(); // newest first by default

    let page = app.list(&[]).await.assert_status(200).body;
    let keys: Vec<&str> = page.as_object().unwrap().keys().map(String::as_str).collect();
    let mut sorted_keys = keys.clone();
    sorted_keys.sort_unstable();
    assert_eq!(
        sorted_keys,
        vec![
            "items",
            "limit",
            "nextCursor",
            "page",
            "pages",
            "total",
            "totalIsEstimate"
        ],
        "page shape"
    );
    assert_eq!(
        (
            page["total"].clone(),
            page["page"].clone(),
            page["limit"].clone(),
            page["pages"].clone()
        ),
        (json!(5), json!(1), json!(20), json!(1))
    );
    assert_eq!(crate::helpers::ids(&page["items"]), ids);

    for (n, expected) in [
        ("1", &ids[0..2]),
        ("2", &ids[2..4]),
        ("3", &ids[4..5]),
        ("4", &ids[5..5]),
    ] {
        let page = app.list(&[("page", n), ("limit", "2")]).await.assert_status(200).body;
        assert_eq!(crate::helpers::ids(&page["items"]), expected, "page {n}");
        assert_eq!(page["total"], 5, "page {n}");
        assert_eq!(page["page"], json!(n.parse::<u32>().unwrap()));
        assert_eq!(page["limit"], 2);
        assert_eq!(page["pages"], 3);
    }
    let page = app.list(&[("limit", "100")]).await.assert_status(200).body;
    assert_eq!(page["items"].as_array().unwrap().len(), 5);
    assert_eq!(page["limit"], 100);
    let page = app.list(&[("limit", "1"), ("page", "5")]).await.assert_status(200).body;
    assert_eq!(crate::helpers::ids(&page["items"]), vec![ids[4].clone()]);
    assert_eq!(page["pages"], 5);
    let page = app.list(&[("page", "1000000")]).await.assert_status(200).body;
    assert_eq!(page["items"], json!([]));
    assert_eq!(page["total"], 5);
}
both_backends!(pages_and_limits);

async fn empty_workspace_lists_nothing(app: TestApp) {
    let page = app.list(&[]).await.assert_status(200).body;
    assert_eq!(
        page,
        json!({
            "items": [],
            "total": 0,
            "totalIsEstimate": false,
            "page": 1,
            "limit": 20,
            "pages": 0,
            "nextCursor": null
        })
    );
}
both_backends!(empty_workspace_lists_nothing);

async fn list_items_are_whole_customers(app: TestApp) {
    let created = app.create(&b2b_example()).await;
    let page = app.list(&[]).await.assert_status(200).body;
    assert_eq!(
        page["items"][0], created,
        "items carry contacts and addresses, like GET"
    );
}
both_backends!(list_items_are_whole_customers);
