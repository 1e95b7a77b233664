//! `POST /api/buckets/select`: see [`trailport::api::buckets_select`].

fn main() -> Result<(), trailport::runtime::Error> {
    trailport::runtime::start("buckets-select", trailport::api::buckets_select)
}
