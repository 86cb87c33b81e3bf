"""``python -m workloads.serving --host H --port P``: the service under uvicorn.

One worker process: the model lives in memory once, and a request costs less
CPU than handing it between processes would. OpenMP is held to one thread
(unless ``OMP_NUM_THREADS`` says otherwise): threads of a gradient-boosted
model's predict compete with the event loop for the same cores.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m workloads.serving")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--log-level", default="info")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    import uvicorn

    from workloads.serving.app import create_app
    from workloads.serving.model import RegistrySource
    from workloads.serving.settings import ServingSettings

    try:
        settings = ServingSettings.from_env()
    except ValueError as exc:
        raise SystemExit(f"serving: {exc}") from None
    app = create_app(settings, RegistrySource(settings.model_name, settings.model_alias))
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        timeout_graceful_shutdown=30,
    )


if __name__ == "__main__":
    main()
