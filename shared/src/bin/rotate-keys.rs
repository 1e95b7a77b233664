//! `rotate-keys`: re-encrypts every stored AWS secret under the first key of
//! `CREDENTIALS_ENCRYPTION_KEY` (see `trailport::rotation`). It reads `TABLE_NAME` and
//! `CREDENTIALS_ENCRYPTION_KEY` and uses the operator's own AWS credentials, which need
//! `dynamodb:Scan` and `dynamodb:UpdateItem` on the table. Safe to stop and run again.

use std::process::ExitCode;

use trailport::rotation::rotate;
use trailport::store::Store;
use trailport::vault::Vault;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let (Ok(table), Ok(keys)) = (
        std::env::var("TABLE_NAME"),
        std::env::var("CREDENTIALS_ENCRYPTION_KEY"),
    ) else {
        eprintln!("rotate-keys: set TABLE_NAME and CREDENTIALS_ENCRYPTION_KEY (new key first)");
        return ExitCode::from(2);
    };
    let vault = match Vault::from_setting(&keys) {
        Ok(vault) => vault,
        Err(problem) => {
            eprintln!("rotate-keys: CREDENTIALS_ENCRYPTION_KEY {problem}");
            return ExitCode::from(2);
        }
    };

    let sdk = trailport::app::load_sdk_config().await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    match rotate(&store, &vault, None).await {
        Ok(report) => {
            println!(
                "seen {}, rotated {}, already current {}, changed meanwhile {}, undecryptable {}",
                report.seen,
                report.rotated,
                report.current,
                report.changed_meanwhile,
                report.undecryptable
            );
            if report.undecryptable > 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(err) => {
            eprintln!(
                "rotate-keys: stopped: {err} ({})",
                err.cause_chain().unwrap_or_default()
            );
            ExitCode::FAILURE
        }
    }
}
