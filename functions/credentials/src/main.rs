//! `POST /api/credentials`: see [`trailport::api::credentials`].

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), trailport::runtime::Error> {
    trailport::runtime::serve("credentials", trailport::api::credentials).await
}
