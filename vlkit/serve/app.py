"""The FastAPI app of `vlkit serve` (see vlkit/serve/__init__.py and docs/serving.md).

    POST /v1/{task}          multipart form (vlkit/serve/uploads.py) -> the pipeline's JSON
    GET  /v1/models          the served models, their tasks and some stored image ids
    GET  /v1/models/{name}/pixels/{img_id}   a synthetic world image's PNG (for the page)
    GET  /healthz            {"status": "ok", ...}
    GET  /                   the web page;   /docs: the OpenAPI page
Every error is JSON {"error": message, "field": name or null} with a 4xx status (5xx only for
a fault of the server itself), and the server keeps serving.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from vlkit import __version__
from vlkit.inference.pipeline import TASKS
from vlkit.serve.batcher import MicroBatcher
from vlkit.serve.models import ServedModel
from vlkit.serve.uploads import ApiError, Limits, form_input

FORM_SLACK = 1024 * 1024  # bytes of a request beyond its images (text fields, multipart framing)


def create_app(models: dict[str, ServedModel], max_batch: int = 16, max_wait_ms: float = 10.0,
               limits: Limits | None = None) -> FastAPI:
    """The app over already-loaded models (`vlkit.serve.models.load_models`)."""
    limits = limits or Limits()
    batchers = {name: MicroBatcher(m.pipeline, max_batch, max_wait_ms)
                for name, m in models.items()}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        for batcher in batchers.values():
            batcher.start()
        yield
        for batcher in batchers.values():
            await batcher.stop()

    app = FastAPI(title="vlkit", version=__version__, lifespan=lifespan,
                  description="Vision-language models (UNITER, VL-BERT, VLP) over HTTP.")
    app.state.batchers = batchers

    @app.exception_handler(ApiError)
    async def api_error(request: Request, err: ApiError) -> JSONResponse:
        return JSONResponse({"error": err.message, "field": err.field}, status_code=err.status)

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok", "models": len(models), "version": __version__,
                "batches": {name: b.batches for name, b in batchers.items()}}

    @app.get("/v1/models")
    async def list_models() -> dict:
        return {"models": [m.describe() for m in models.values()]}

    @app.get("/v1/models/{name}/pixels/{img_id}")
    async def pixels(name: str, img_id: str) -> FileResponse:
        path = _model(models, name, None).pixels.get(img_id)  # a lookup, never a path join
        if path is None:
            raise ApiError(404, "img_id", f"no pixels saved for image '{img_id}'")
        return FileResponse(path, media_type="image/png")

    @app.post("/v1/{task}")
    async def predict(task: str, request: Request) -> JSONResponse:
        if task not in TASKS:
            raise ApiError(404, "task", f"unknown task '{task}'; expected one of "
                           f"{', '.join(TASKS)}")
        _check_size(request, limits)
        try:
            form = await request.form(max_files=2, max_fields=32)
        except Exception as err:  # noqa: BLE001 - multipart parser errors
            raise ApiError(400, None, f"cannot read the form: {err}") from None
        model = _model(models, form.get("model"), task)
        item, options = await form_input(task, form, limits)
        result = await batchers[model.name].submit(item, options)
        if "error" in result:
            raise ApiError(404 if result.get("field") == "img_id" else 400,
                           result.get("field"), result["error"])
        return JSONResponse({"model": model.name, **result})

    @app.get("/", response_class=HTMLResponse)
    async def page() -> str:
        return (resources.files("vlkit") / "serve" / "static" / "index.html").read_text()

    return app


def _model(models: dict[str, ServedModel], name, task: str | None) -> ServedModel:
    if name not in (None, ""):
        if not isinstance(name, str) or name not in models:
            raise ApiError(404, "model", f"unknown model {name!r:.60}; served: "
                           f"{', '.join(models)}")
        model = models[name]
        if task is not None and model.task != task:
            raise ApiError(400, "model", f"model '{name}' answers {model.task}, not {task}")
        return model
    serving = [m for m in models.values() if m.task == task]
    if not serving:
        raise ApiError(404, "task", f"no served model answers {task}; served tasks: "
                       f"{', '.join(sorted({m.task for m in models.values()}))}")
    return serving[0]


def _check_size(request: Request, limits: Limits) -> None:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and \
            int(length) > 2 * limits.max_upload_bytes + FORM_SLACK:
        raise ApiError(413, "image", f"request of {length} bytes; images may have at most "
                       f"{limits.max_upload_bytes} bytes each")
