//! `GET /api/me`: see [`trailport::api::me`].

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), trailport::runtime::Error> {
    trailport::runtime::serve("me", trailport::api::me).await
}
