//! `POST /api/buckets/select`: see [`trailport::api::buckets_select`].

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), trailport::runtime::Error> {
    trailport::runtime::serve("buckets-select", trailport::api::buckets_select).await
}
