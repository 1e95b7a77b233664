//! `POST /api/logout`: see [`trailport::api::logout`].

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), trailport::runtime::Error> {
    trailport::runtime::serve("logout", trailport::api::logout).await
}
