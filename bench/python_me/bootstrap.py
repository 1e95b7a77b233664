"""A minimal Python Lambda runtime loop for the benchmarks: the Runtime API, as AWS's own
Python runtime uses it. Imports the handler (its module-level setup is the function's init),
then asks for the next event, runs the handler and posts its result, over one kept-alive
connection to AWS_LAMBDA_RUNTIME_API.
"""

import http.client
import json
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

API = "/2018-06-01/runtime"


def main():
    host, _, port = os.environ["AWS_LAMBDA_RUNTIME_API"].partition(":")
    conn = http.client.HTTPConnection(host, int(port))
    try:
        from me import handler
    except Exception:  # noqa: BLE001  (the Runtime API wants every init failure reported)
        body = json.dumps({"errorMessage": "init failed", "errorType": "InitError"})
        conn.request("POST", f"{API}/init/error", body, {"Content-Type": "application/json"})
        conn.getresponse().read()
        traceback.print_exc()
        sys.exit(1)

    while True:
        conn.request("GET", f"{API}/invocation/next")
        resp = conn.getresponse()
        event = json.loads(resp.read())
        request_id = resp.getheader("Lambda-Runtime-Aws-Request-Id")
        try:
            result, path = handler(event, None), f"{API}/invocation/{request_id}/response"
        except Exception as err:  # noqa: BLE001
            traceback.print_exc()
            result = {"errorMessage": str(err), "errorType": type(err).__name__}
            path = f"{API}/invocation/{request_id}/error"
        conn.request("POST", path, json.dumps(result), {"Content-Type": "application/json"})
        conn.getresponse().read()


if __name__ == "__main__":
    main()
