//! Accounts through the real stack: first admin, sign-in, sessions, CSRF, roles, throttling.

#[path = "../common/mod.rs"]
mod common;

use common::*;
use reqwest::StatusCode;

#[tokio::test]
async fn the_first_visit_with_no_users_leads_to_the_create_admin_page() {
    let app = spawn_app().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login?next=%2F");
    let response = app.get("/login").await;
    assert_eq!(location(&response), "/setup");
    let page = app.get_html("/setup").await;
    assert!(page.contains("Create the first admin account"));
}

#[tokio::test]
async fn a_user_signs_in_with_the_right_password_and_sees_the_home_page() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    let page = app.get_html("/").await;
    assert!(page.contains("Admin Tester"));
    assert!(page.contains("Administration"));
}
