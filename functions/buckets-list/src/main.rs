//! `GET /api/buckets`: see [`trailport::api::buckets_list`].

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), trailport::runtime::Error> {
    trailport::runtime::serve("buckets-list", trailport::api::buckets_list).await
}
