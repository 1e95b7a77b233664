//! The documents that describe the API stay in step with the code: `openapi.yaml`, the routes
//! in `template.yaml` and in cargo-lambda's router, the handlers, and the error codes in the
//! README. The console's routes, which are not JSON, are checked apart from the API's.

use std::collections::BTreeSet;

use yaml_rust2::YamlLoader;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{ROOT}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The error codes the code can produce: the first string literal given to each of
/// `ApiError`'s constructors.
fn codes_in_source() -> BTreeSet<String> {
    const CONSTRUCTORS: [&str; 9] = [
        "bad_request(",
        "unauthorized(",
        "forbidden(",
        "not_found(",
        "conflict(",
        "bad_gateway(",
        "unavailable(",
        "timeout(",
        "Self::new(",
    ];
    let mut codes = BTreeSet::new();
    for entry in std::fs::read_dir(format!("{ROOT}/shared/src")).expect("shared/src") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("source");
        for constructor in CONSTRUCTORS {
            for (at, _) in source.match_indices(constructor) {
                let rest = source[at + constructor.len()..].trim_start();
                // `Self::new(StatusCode::X, "code", …)` names the status first.
                let rest = match rest.strip_prefix("StatusCode::") {
                    Some(after) => after
                        .split_once(',')
                        .map_or("", |(_, tail)| tail.trim_start()),
                    None => rest,
                };
                if let Some(literal) = rest.strip_prefix('"') {
                    let code = literal.split('"').next().unwrap_or_default();
                    if !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    {
                        codes.insert(code.to_owned());
                    }
                }
            }
        }
    }
    codes
}

fn openapi() -> yaml_rust2::Yaml {
    YamlLoader::load_from_str(&read("openapi.yaml"))
        .expect("openapi.yaml")
        .remove(0)
}

#[test]
fn every_error_code_the_code_produces_is_documented_and_no_other() {
    let in_code = codes_in_source();
    assert!(in_code.len() >= 30, "the scan found only {in_code:?}");

    let spec = openapi();
    let in_spec: BTreeSet<String> =
        spec["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
            .as_vec()
            .expect("the code enum")
            .iter()
            .filter_map(|c| c.as_str().map(str::to_owned))
            .collect();
    assert_eq!(
        in_code, in_spec,
        "error codes: the code (left) against openapi.yaml (right)"
    );

    let readme = read("README.md");
    let table = readme
        .split("Error codes, by status:")
        .nth(1)
        .expect("the README's error table");
    let table = table.split("\n\n").nth(1).expect("table body");
    let in_readme: BTreeSet<String> = table
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|c| c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        in_code, in_readme,
        "error codes: the code (left) against the README (right)"
    );
}

/// Every route of `template.yaml`, as (path, binary).
fn template_routes() -> BTreeSet<(String, String)> {
    let template = YamlLoader::load_from_str(&read("template.yaml"))
        .expect("template")
        .remove(0);
    let mut routes = BTreeSet::new();
    for resource in template["Resources"].as_hash().expect("Resources").values() {
        if let Some(events) = resource["Properties"]["Events"].as_hash() {
            let binary = resource["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .expect("Binary");
            for event in events.values() {
                let path = event["Properties"]["Path"].as_str().expect("Path");
                routes.insert((path.to_owned(), binary.to_owned()));
            }
        }
    }
    routes
}

/// Every route of cargo-lambda's local router in `Cargo.toml`, as (path, binary).
fn router_routes() -> BTreeSet<(String, String)> {
    let cargo = read("Cargo.toml");
    let router = cargo
        .split("[workspace.metadata.lambda.watch.router]")
        .nth(1)
        .expect("router");
    router
        .lines()
        .filter_map(|line| line.split_once(" = "))
        .map(|(path, binary)| {
            let unquote = |s: &str| s.trim().trim_matches('"').to_owned();
            (unquote(path), unquote(binary))
        })
        .collect()
}

fn paths_under_api(routes: &BTreeSet<(String, String)>) -> BTreeSet<String> {
    routes
        .iter()
        .map(|(path, _)| path.clone())
        .filter(|path| path.starts_with("/api/"))
        .collect()
}

#[test]
fn every_route_is_in_the_spec_the_template_and_the_local_router() {
    let spec = openapi();
    let in_spec: BTreeSet<String> = spec["paths"]
        .as_hash()
        .expect("paths")
        .keys()
        .filter_map(|k| k.as_str().map(str::to_owned))
        .collect();

    assert_eq!(in_spec.len(), 8);
    assert!(
        in_spec.iter().all(|path| path.starts_with("/api/")),
        "openapi.yaml describes the JSON API only: {in_spec:?}"
    );
    assert_eq!(
        in_spec,
        paths_under_api(&template_routes()),
        "openapi.yaml (left) against template.yaml (right)"
    );
    assert_eq!(
        in_spec,
        paths_under_api(&router_routes()),
        "openapi.yaml (left) against Cargo.toml's router (right)"
    );
}

/// The console's routes serve HTML, CSS and JavaScript, not JSON, so they are not in
/// openapi.yaml (schemathesis would fuzz them as API operations); they must still be routed
/// alike, to the console function, deployed and locally, and be the only routes outside /api.
#[test]
fn the_console_is_routed_to_its_function_in_the_template_and_the_local_router() {
    let outside_api = |routes: BTreeSet<(String, String)>| -> BTreeSet<(String, String)> {
        routes
            .into_iter()
            .filter(|(path, _)| !path.starts_with("/api/"))
            .collect()
    };
    let expected = |assets: &str| -> BTreeSet<(String, String)> {
        [("/", "console"), (assets, "console")]
            .into_iter()
            .map(|(p, b)| (p.to_owned(), b.to_owned()))
            .collect()
    };
    // API Gateway's greedy path variable, and matchit's catch-all in cargo-lambda's router.
    assert_eq!(outside_api(template_routes()), expected("/assets/{proxy+}"));
    assert_eq!(outside_api(router_routes()), expected("/assets/{*path}"));
}

#[test]
fn the_spec_names_every_handler_as_an_operation() {
    let spec = openapi();
    let mut operations = BTreeSet::new();
    for item in spec["paths"].as_hash().expect("paths").values() {
        for operation in item.as_hash().expect("methods").values() {
            operations.insert(
                operation["operationId"]
                    .as_str()
                    .expect("operationId")
                    .to_owned(),
            );
        }
    }
    let api = read("shared/src/api.rs");
    let handlers: BTreeSet<String> = api
        .match_indices("pub async fn ")
        .map(|(at, _)| {
            api[at + 13..]
                .split('(')
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(
        operations, handlers,
        "operationIds (left) against the handlers in api.rs (right)"
    );
}
