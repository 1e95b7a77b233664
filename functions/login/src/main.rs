//! `POST /api/login`: see [`trailport::api::login`].

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), trailport::runtime::Error> {
    trailport::runtime::serve("login", trailport::api::login).await
}
