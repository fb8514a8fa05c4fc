"""`vlkit serve`: an HTTP API and a web page over `vlkit.pipeline` (no model code of its own).

    models.py   the served models: one Pipeline each, loaded once at start-up
    batcher.py  micro-batching of concurrent requests into one pipeline call
    uploads.py  checks of uploaded images and form fields (4xx errors naming the field)
    app.py      the FastAPI app: POST /v1/{task}, GET /v1/models, GET /healthz, the page at /
    static/     the page (plain HTML + JS, no build step)
FastAPI, uvicorn and python-multipart come with the `serve` extra: pip install "vlkit[serve]".
"""
