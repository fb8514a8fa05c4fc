"""vlkit: single-stream vision-language transformers (UNITER, VL-BERT, VLP) in one library."""

from __future__ import annotations

__version__ = "0.1.0"


def pipeline(task: str, checkpoint, **kwargs):
    """A saved model as a callable: `vlkit.pipeline("vqa", "runs/vqa")(image=..., question=...)`.
    See `vlkit.inference.pipeline` (imported here on first use, so `import vlkit` stays light)."""
    from vlkit.inference.pipeline import pipeline as build

    return build(task, checkpoint, **kwargs)
