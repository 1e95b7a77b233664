//! `GET /api/buckets`: see [`trailport::api::buckets_list`].

fn main() -> Result<(), trailport::runtime::Error> {
    trailport::runtime::start("buckets-list", trailport::api::buckets_list)
}
