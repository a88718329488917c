//! Workspaces and organizations are sealed from each other.

use serde_json::json;
use uuid::Uuid;

use crate::helpers::{ALL_PERMISSIONS, TestApp, b2b_example, individual};

async fn a_workspace_user_cannot_touch_another_workspace(app: TestApp) {
    let (ws_a, ws_b) = (app.workspace, Uuid::now_v7());
    let token_b = app.token_all(ws_b);
    let in_b = app
        .post_customer_as(&token_b, ws_b, &b2b_example())
        .await
        .assert_status(201)
        .body;
    let id_b = in_b["id"].as_str().unwrap();
    let in_a = app.create(&individual("Иван Петров", "ivan@example.kz")).await;

    // A token for A only: B's paths are forbidden, even with B's real customer id.
    let token_a = app.token_all(ws_a);
    app.get_as(&token_a, ws_b, id_b).await.assert_problem(403);
    app.list_as(&token_a, ws_b, &[]).await.assert_problem(403);
    app.put_as(&token_a, ws_b, id_b, &json!({ "rating": 1 }))
        .await
        .assert_problem(403);
    app.delete_as(&token_a, ws_b, id_b).await.assert_problem(403);
    app.post_customer_as(&token_a, ws_b, &individual("Чужой", "alien@example.kz"))
        .await
        .assert_problem(403);

    // Through A's path, B's customer does not exist.
    app.get_as(&token_a, ws_a, id_b).await.assert_problem(404);
    app.put_as(&token_a, ws_a, id_b, &json!({ "rating": 1 }))
        .await
        .assert_problem(404);
    app.delete_as(&token_a, ws_a, id_b).await.assert_problem(404);
    let page = app.list_as(&token_a, ws_a, &[]).await.assert_status(200).body;
    assert_eq!(crate::helpers::ids(&page["items"]), vec![in_a["id"].as_str().unwrap()]);
    assert_eq!(page["total"], 1);

    // Even a token for both workspaces reaches B's customer only through B's path.
    let both = app.token(app.org, &[ws_a, ws_b], &ALL_PERMISSIONS);
    app.get_as(&both, ws_b, id_b).await.assert_status(200); // cached under B now
    app.get_as(&both, ws_a, id_b).await.assert_problem(404);
    app.put_as(&both, ws_a, id_b, &json!({ "rating": 1 }))
        .await
        .assert_problem(404);
    app.delete_as(&both, ws_a, id_b).await.assert_problem(404);
    let page = app
        .list_as(&both, ws_a, &[("search", "альфа")])
        .await
        .assert_status(200)
        .body;
    assert_eq!(page["total"], 0);
    let page = app
        .list_as(&both, ws_a, &[("search", in_b["bin"].as_str().unwrap())])
        .await
        .body;
    assert_eq!(page["total"], 0);

    // B's customer is untouched.
    assert_eq!(app.get_as(&token_b, ws_b, id_b).await.assert_status(200).body, in_b);
}
both_backends!(a_workspace_user_cannot_touch_another_workspace);

async fn another_organization_sees_nothing_in_the_same_workspace_id(app: TestApp) {
    let ours = app.create(&b2b_example()).await;
    let id = ours["id"].as_str().unwrap();
    app.get(id).await.assert_status(200); // cached for our organization

    let stranger = app.token(Uuid::now_v7(), &[app.workspace], &ALL_PERMISSIONS);
    app.get_as(&stranger, app.workspace, id).await.assert_problem(404);
    app.put_as(&stranger, app.workspace, id, &json!({ "name": "Захват" }))
        .await
        .assert_problem(404);
    app.delete_as(&stranger, app.workspace, id).await.assert_problem(404);
    let page = app.list_as(&stranger, app.workspace, &[]).await.assert_status(200).body;
    assert_eq!(page["items"], json!([]));
    assert_eq!(page["total"], 0);
    for query in [
        ("search", "альфа"),
        ("type", "COMPANY"),
        ("tags", "premium"),
        ("city", "Алматы"),
    ] {
        let page = app
            .list_as(&stranger, app.workspace, &[query])
            .await
            .assert_status(200)
            .body;
        assert_eq!(page["total"], 0, "{query:?}");
    }

    // The stranger's own customers stay theirs.
    let theirs = app
        .post_customer_as(&stranger, app.workspace, &individual("Чужой", "alien@example.kz"))
        .await
        .assert_status(201)
        .body;
    app.get(theirs["id"].as_str().unwrap()).await.assert_problem(404);
    let page = app.list(&[]).await.body;
    assert_eq!(crate::helpers::ids(&page["items"]), vec![id]);

    assert_eq!(app.get(id).await.assert_status(200).body, ours, "untouched");
}
both_backends!(another_organization_sees_nothing_in_the_same_workspace_id);
