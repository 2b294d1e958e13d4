"""Measure S3 client libraries against one S3 endpoint: import time, put/get latency of a 2 MB object, memory.

Usage: AWS_ENDPOINT_URL=http://127.0.0.1:8333 AWS_ACCESS_KEY_ID=.. AWS_SECRET_ACCESS_KEY=.. \
       python tools/measure_s3_clients.py BUCKET [boto3|obstore|s3fs ...]
Each library runs in its own subprocess (fresh import, its own RSS). Prints one JSON line per library.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

ROUNDS = 30
SIZE = 2 * 1024 * 1024


def _run(library: str, bucket: str) -> dict[str, object]:
    import psutil

    endpoint = os.environ["AWS_ENDPOINT_URL"]
    started = time.perf_counter()
    if library == "boto3":
        import boto3

        client = boto3.client("s3", endpoint_url=endpoint, region_name=os.environ.get("AWS_REGION", "us-east-1"))
        put = lambda key, data: client.put_object(Bucket=bucket, Key=key, Body=data)  # noqa: E731
        get = lambda key: client.get_object(Bucket=bucket, Key=key)["Body"].read()  # noqa: E731
    elif library == "obstore":
        import obstore
        from obstore.store import S3Store

        store = S3Store(bucket, endpoint=endpoint, region=os.environ.get("AWS_REGION", "us-east-1"),
                        client_options={"allow_http": True})
        put = lambda key, data: obstore.put(store, key, data)  # noqa: E731
        get = lambda key: bytes(obstore.get(store, key).bytes())  # noqa: E731
    else:
        import s3fs

        fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": endpoint})

        def put(key: str, data: bytes) -> None:
            with fs.open(f"{bucket}/{key}", "wb") as handle:
                handle.write(data)

        get = lambda key: fs.cat(f"{bucket}/{key}")  # noqa: E731
    imported = time.perf_counter() - started
    data = os.urandom(SIZE)
    puts, gets = [], []
    for i in range(ROUNDS):
        key = f"measure/{library}/{i % 3}.bin"
        t = time.perf_counter()
        put(key, data)
        puts.append(time.perf_counter() - t)
        t = time.perf_counter()
        assert get(key) == data
        gets.append(time.perf_counter() - t)
    rss = psutil.Process().memory_info().rss
    return {
        "library": library,
        "import_and_client_ms": round(imported * 1000, 1),
        "put_2mb_ms_median": round(statistics.median(puts[3:]) * 1000, 2),
        "get_2mb_ms_median": round(statistics.median(gets[3:]) * 1000, 2),
        "rss_mb": round(rss / 2**20, 1),
    }


def main() -> None:
    bucket, libraries = sys.argv[1], sys.argv[2:] or ["boto3", "obstore", "s3fs"]
    if len(libraries) == 1 and os.environ.get("_MEASURE_CHILD"):
        print(json.dumps(_run(libraries[0], bucket)))
        return
    for library in libraries:
        env = {**os.environ, "_MEASURE_CHILD": "1"}
        out = subprocess.run([sys.executable, __file__, bucket, library], env=env, capture_output=True, text=True)
        print(out.stdout.strip() or json.dumps({"library": library, "error": out.stderr.strip().splitlines()[-1:]}))


if __name__ == "__main__":
    main()
