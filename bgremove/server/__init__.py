"""The HTTP server of `bgremove serve`: the same model and outputs as `bgremove run`, one image per
request, behind FastAPI and uvicorn (the `serve` extra).

Holds the operator's options (options.py), the request's options (params.py), reading an upload
within its limits (upload.py), decoding and rendering one image (imagework.py), the admission bound
(admission.py), micro-batching onto the one model of a process (batcher.py, model.py), the bearer
token (auth.py), JSON errors (problems.py), the routes (app.py, remove.py) and uvicorn (runner.py).

May import: bgremove.inference, bgremove.imaging, bgremove.errors; fastapi, starlette, uvicorn,
python-multipart. Never the batch engine, modeltools, model or the CLI. Nothing here ever opens a
file a request names: a request carries image bytes and options, nothing else.
"""
