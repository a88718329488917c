//! `GET /customers` keyset pagination on the wire: `nextCursor` followed through every page,
//! cursors refused when altered, taken from another query or combined with `page`, and the
//! `count` modes.

use serde_json::{Value, json};

use crate::helpers::{TestApp, ids};

both_backends!(next_cursor_walks_every_page_in_the_order_of_a_full_read);
both_backends!(altered_foreign_or_paged_cursors_are_refused_naming_cursor);
both_backends!(count_modes_shape_total_and_pages);

/// Query parameters, a name may repeat.
type Query = Vec<(&'static str, &'static str)>;

/// Names with ties once case-folded ("Альфа" = "альфа").
const NAMES: [&str; 6] = ["Альфа", "альфа", "Бета", "Alpha", "alpha", "Әлем"];

/// 27 customers: 18 ACTIVE (12 of them tagged `vip`), 9 LEAD, with ties on name, total
/// purchases and rating (every rating is the default). Returns the ids of the ACTIVE `vip` ones.
async fn seed(app: &TestApp) -> Vec<String> {
    let mut active_vip = Vec::new();
    for i in 0..27_usize {
        let status = if i % 3 == 2 { "LEAD" } else { "ACTIVE" };
        let tags = if i % 3 == 0 || i % 9 == 1 {
            json!(["VIP", "опт"])
        } else {
            json!(["retail"])
        };
        let body = json!({
            "type": if i % 2 == 0 { "COMPANY" } else { "INDIVIDUAL" },
            "name": NAMES[i % NAMES.len()],
            "email": format!("cursor{i}@example.kz"),
            "status": status,
            "tags": tags,
        });
        let created = app.create(&body).await;
        let id = created["id"].as_str().expect("id").to_owned();
        app.set_total_purchases(&id, [0, 150_000, 99][i % 3]).await;
        if status == "ACTIVE" && tags.to_string().contains("VIP") {
            active_vip.push(id);
        }
    }
    active_vip
}

/// `GET /customers` with `query`, asserting 200.
async fn page(app: &TestApp, query: &[(&str, &str)]) -> Value {
    app.list(query).await.assert_status(200).body
}

/// Follows `nextCursor` from the first page of `query` to the last; returns the ids in order
/// and the number of pages, checking each page's shape on the way.
async fn walk(app: &TestApp, query: &[(&str, &str)], limit: usize, matches: usize) -> (Vec<String>, usize) {
    let limit_text = limit.to_string();
    let mut listed = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages <= 100, "{query:?}: the walk does not end");
        let mut q: Vec<(&str, &str)> = query.to_vec();
        q.push(("limit", limit_text.as_str()));
        if let Some(c) = &cursor {
            q.push(("cursor", c.as_str()));
        }
        let body = page(app, &q).await;
        let items = ids(&body["items"]);
        assert!(items.len() <= limit, "{q:?}: {body}");
        assert_eq!(body["page"], json!(1), "{q:?}: a cursor page reports page 1");
        assert_eq!(body["limit"], json!(limit), "{q:?}");
        listed.extend(items.iter().cloned());
        let object = body.as_object().expect("an object");
        assert!(
            object.contains_key("nextCursor"),
            "{q:?}: nextCursor is always present: {body}"
        );
        match &body["nextCursor"] {
            Value::String(next) => {
                assert_eq!(items.len(), limit, "{q:?}: a page with a next page is full");
                assert!(listed.len() < matches, "{q:?}: nextCursor after the last match");
                cursor = Some(next.clone());
            }
            Value::Null => {
                assert_eq!(listed.len(), matches, "{q:?}: nextCursor null before the last match");
                return (listed, pages);
            }
            other => panic!("{q:?}: nextCursor is {other}"),
        }
    }
}

async fn next_cursor_walks_every_page_in_the_order_of_a_full_read(app: TestApp) {
    let active_vip = seed(&app).await;
    let filters: [(&str, Query, usize); 3] = [
        ("no filter", vec![], 27),
        ("status", vec![("status", "ACTIVE")], 18),
        (
            "status+tags",
            vec![("status", "ACTIVE"), ("tags", "vip"), ("tags", "ОПТ")],
            active_vip.len(),
        ),
    ];
    for (label, filter, matches) in filters {
        for sort_by in ["createdAt", "updatedAt", "name", "totalPurchases", "rating"] {
            for order in ["ASC", "DESC"] {
                let mut query = filter.clone();
                query.extend([("sortBy", sort_by), ("sortOrder", order)]);
                let mut full_query = query.clone();
                full_query.push(("limit", "100"));
                let full = page(&app, &full_query).await;
                let expected = ids(&full["items"]);
                assert_eq!(expected.len(), matches, "{label} {sort_by} {order}: {full}");
                assert_eq!(full["total"], json!(matches));
                assert_eq!(
                    full["nextCursor"],
                    Value::Null,
                    "a page holding every match has no next"
                );

                let (listed, pages) = walk(&app, &query, 4, matches).await;
                assert_eq!(listed, expected, "{label} {sort_by} {order}: cursor pages of 4");
                assert_eq!(pages, matches.div_ceil(4), "{label} {sort_by} {order}: pages");

                // Without counting, and with a page size that divides the matches exactly
                // (the last page is full and still has no next).
                let mut uncounted = query.clone();
                uncounted.push(("count", "none"));
                let (listed, _) = walk(&app, &uncounted, 3, matches).await;
                assert_eq!(listed, expected, "{label} {sort_by} {order}: count=none, pages of 3");
            }
        }
    }
    // Pages of 3 end on a full last page for every filter (27, 18 and 12 matches).
    assert_eq!(active_vip.len(), 12);
}

/// `cursor` with one character replaced by another of the cursor alphabet.
fn flip(cursor: &str, at: usize) -> String {
    cursor
        .char_indices()
        .map(|(i, c)| match (i == at, c) {
            (false, c) => c,
            (true, 'A') => 'B',
            (true, _) => 'A',
        })
        .collect()
}

async fn altered_foreign_or_paged_cursors_are_refused_naming_cursor(app: TestApp) {
    seed(&app).await;
    let query = [
        ("status", "ACTIVE"),
        ("sortBy", "name"),
        ("sortOrder", "ASC"),
        ("limit", "5"),
    ];
    let first = page(&app, &query).await;
    let cursor = first["nextCursor"].as_str().expect("a next page").to_owned();
    let with = |extra: &[(&'static str, &'static str)], cursor: &str| {
        let mut q: Vec<(String, String)> = extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        q.push(("cursor".to_owned(), cursor.to_owned()));
        q
    };
    let get = |q: Vec<(String, String)>| {
        let app = &app;
        async move {
            let pairs: Vec<(&str, &str)> = q.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            app.list(&pairs).await
        }
    };

    // The cursor itself continues the list, whatever the page size or count mode.
    let second = get(with(&query, &cursor)).await.assert_status(200).body;
    assert_eq!(second["page"], json!(1));
    let all = page(
        &app,
        &[
            ("status", "ACTIVE"),
            ("sortBy", "name"),
            ("sortOrder", "ASC"),
            ("limit", "100"),
        ],
    )
    .await;
    let all = ids(&all["items"]);
    assert_eq!(ids(&second["items"]), all[5..10]);
    let bigger = get(with(
        &[
            ("status", "ACTIVE"),
            ("sortBy", "name"),
            ("sortOrder", "ASC"),
            ("limit", "50"),
            ("count", "none"),
        ],
        &cursor,
    ))
    .await
    .assert_status(200)
    .body;
    assert_eq!(ids(&bigger["items"]), all[5..]);

    // Every single altered character is noticed.
    for at in 0..cursor.len() {
        let forged = flip(&cursor, at);
        assert_ne!(forged, cursor);
        get(with(&query, &forged)).await.assert_invalid("cursor");
    }
    for garbage in ["abc", "a.b", ".", "x.y.z", "нет"] {
        get(with(&query, garbage)).await.assert_invalid("cursor");
    }
    get(with(&query, &"A".repeat(2_000))).await.assert_invalid("cursor");

    // A cursor belongs to its filters and sort.
    let other_queries: [&[(&str, &str)]; 6] = [
        &[("status", "LEAD"), ("sortBy", "name"), ("sortOrder", "ASC")],
        &[("sortBy", "name"), ("sortOrder", "ASC")],
        &[("status", "ACTIVE"), ("sortBy", "createdAt"), ("sortOrder", "ASC")],
        &[("status", "ACTIVE"), ("sortBy", "name"), ("sortOrder", "DESC")],
        &[("status", "ACTIVE"), ("sortBy", "name")],
        &[
            ("status", "ACTIVE"),
            ("sortBy", "name"),
            ("sortOrder", "ASC"),
            ("tags", "vip"),
        ],
    ];
    for other in other_queries {
        let response = get(with(other, &cursor)).await;
        assert_eq!(response.status, 400, "{other:?}: {}", response.text);
        response.assert_invalid("cursor");
    }

    // A cursor says where the page starts: with `page` it is refused, whatever the page.
    for p in ["1", "2"] {
        let mut q = with(&query, &cursor);
        q.push(("page".to_owned(), p.to_owned()));
        get(q).await.assert_invalid("cursor");
    }
}

async fn count_modes_shape_total_and_pages(app: TestApp) {
    seed(&app).await;
    let base = [("status", "ACTIVE"), ("limit", "4")];
    let with_count = |mode: &'static str| {
        let mut q = base.to_vec();
        q.push(("count", mode));
        q
    };
    for (mode, query) in [("default", base.to_vec()), ("exact", with_count("exact"))] {
        let body = page(&app, &query).await;
        assert_eq!(
            (&body["total"], &body["pages"], &body["totalIsEstimate"]),
            (&json!(18), &json!(5), &json!(false)),
            "{mode}: {body}"
        );
        assert!(body["nextCursor"].is_string(), "{mode}: {body}");
    }

    let body = page(&app, &with_count("none")).await;
    let object = body.as_object().expect("an object");
    for key in ["total", "pages"] {
        assert!(object.contains_key(key), "count=none: {key} is present (null): {body}");
        assert_eq!(body[key], Value::Null, "count=none: {key}: {body}");
    }
    assert_eq!(body["totalIsEstimate"], json!(false), "{body}");
    assert_eq!(ids(&body["items"]).len(), 4);
    assert!(body["nextCursor"].is_string(), "count=none still pages: {body}");
    // The last page, reached by offset, without a count: no next.
    let mut last = with_count("none");
    last.push(("page", "5"));
    let body = page(&app, &last).await;
    assert_eq!(ids(&body["items"]).len(), 2, "{body}");
    assert_eq!(body["nextCursor"], Value::Null, "{body}");
    assert_eq!(body["total"], Value::Null, "{body}");

    // Estimated, far below 10,000 matches: the exact count, not flagged.
    let body = page(&app, &with_count("estimated")).await;
    assert_eq!(
        (&body["total"], &body["pages"], &body["totalIsEstimate"]),
        (&json!(18), &json!(5), &json!(false)),
        "estimated: {body}"
    );
    // Also on a page reached through a cursor.
    let cursor = body["nextCursor"].as_str().expect("a next page").to_owned();
    let mut next = with_count("estimated");
    next.push(("cursor", cursor.as_str()));
    let body = page(&app, &next).await;
    assert_eq!(
        (&body["total"], &body["totalIsEstimate"]),
        (&json!(18), &json!(false)),
        "estimated after a cursor: {body}"
    );

    for bogus in ["bogus", "EXACTLY", "none,exact"] {
        app.list(&with_count(bogus)).await.assert_invalid("count");
    }
}
