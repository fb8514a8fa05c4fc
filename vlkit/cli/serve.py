"""`vlkit serve --checkpoint C [--checkpoint C2 ...] [--host 127.0.0.1] [--port 8000]`: the
HTTP API and web page over `vlkit.pipeline` (docs/serving.md). Models and the extractor load
once, before the server accepts requests; a model that fails to load stops start-up."""

from __future__ import annotations

import argparse

from vlkit.extract.options import ROUTES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="HTTP API + web page over saved models",
                       description="Serve fine-tuned models over HTTP: POST /v1/{task}, "
                                   "GET /v1/models, GET /healthz, a web page at /.")
    p.add_argument("--checkpoint", action="append", required=True,
                   help="run directory or model folder (repeatable; each answers its run's task)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--max-batch", type=int, default=16,
                   help="requests answered by one forward pass (1: no micro-batching)")
    p.add_argument("--max-wait-ms", type=float, default=10.0,
                   help="how long the first request of a batch waits for others")
    p.add_argument("--max-upload-mb", type=float, default=20.0, help="largest image file")
    p.add_argument("--max-megapixels", type=float, default=40.0, help="largest image")
    p.add_argument("--extractor", choices=ROUTES, default="",
                   help="extract uploads with this route and --weights (default: each run's "
                        "own recorded extraction)")
    p.add_argument("--weights", default="", metavar="FILE", help="the --extractor's weights")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vlkit.utils.errors import ConfigError

    try:
        import uvicorn

        from vlkit.serve.app import create_app
    except ImportError as err:
        raise ConfigError(f'vlkit serve needs the serve extra: pip install "vlkit[serve]" '
                          f"({err})") from None
    from vlkit.serve.models import load_models
    from vlkit.serve.uploads import Limits

    if args.weights and not args.extractor:
        raise ConfigError("--weights goes with --extractor (e.g. --extractor butd)")
    if args.max_batch < 1 or args.max_wait_ms < 0:
        raise ConfigError("--max-batch must be >= 1 and --max-wait-ms >= 0")
    extractor = {"route": args.extractor, "weights": args.weights} if args.extractor else None
    models = load_models(args.checkpoint, extractor, args.device)
    limits = Limits(int(args.max_upload_mb * 1024 * 1024), int(args.max_megapixels * 1e6))
    app = create_app(models, args.max_batch, args.max_wait_ms, limits)
    names = ", ".join(f"{name} ({m.task})" for name, m in models.items())
    print(f"vlkit serve: {names} on http://{args.host}:{args.port}/ (API docs at /docs)",
          flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
