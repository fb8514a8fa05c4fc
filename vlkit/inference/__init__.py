"""Prediction for people and programs: `vlkit.pipeline(task, checkpoint)` and its inputs.

    import vlkit
    vqa = vlkit.pipeline("vqa", "runs/quickstart/vqa-pretrained")
    vqa(image="photo.png", question="what color is the circle ?")
    vqa([{"img_id": "synth-002701", "question": "..."}, ...], batch_size=32)

`vlkit predict` (one example or a JSONL file) and `vlkit serve` (HTTP) are thin layers over
the same `Pipeline`.
"""
