"""Prediction for people and programs: `vlkit.pipeline(task, checkpoint)` and its inputs.

    import vlkit
    vqa = vlkit.pipeline("vqa", "runs/quickstart/vqa-pretrained")
    vqa(image="photo.png", question="what color is the circle ?")
    vqa([{"img_id": "synth-002701", "question": "..."}, ...], batch_size=32)

`vlkit predict` (one example or a JSONL file) and `vlkit serve` (HTTP) are thin layers over
the same `Pipeline`.

The prediction plumbing the pipeline runs lives here too, not in a package of its own: a saved
model loaded for one task (`predict_model.PredictModel`), the VLP captioner
(`captioner.Captioner`) and the VCR example builder (`vcr.predict_vcr`). The `Pipeline` is
their one caller and they are what it is made of; each runs the dataset, collate and scoring
code of `vlkit.evaluation`, so a prediction equals what `vlkit eval` computes for a stored
record.
"""
