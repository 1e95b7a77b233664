//! `POST /api/register`: see [`trailport::api::register`].

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), trailport::runtime::Error> {
    trailport::runtime::serve("register", trailport::api::register).await
}
