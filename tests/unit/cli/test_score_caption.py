"""`vlkit score caption` agrees with pycocoevalcap's own COCOEvalCap on the same files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from vlkit.cli.main import main
from vlkit.metrics.caption import METRIC_NAMES, read_caption_predictions, spice_missing
from vlkit.utils.errors import DataError

pytest.importorskip("pycocoevalcap", reason='the COCO caption metrics: pip install -e ".[dev]"')
pytest.importorskip("pycocotools", reason='the COCO caption metrics: pip install -e ".[dev]"')
needs_java = pytest.mark.skipif(
    shutil.which("java") is None,
    reason="METEOR runs in Java: no `java` on PATH (apt-get install default-jre-headless)")


REFS = {
    391895: ["A man with a red helmet on a small moped on a dirt road.",
             "Man riding a motor bike on a dirt road on the countryside.",
             "A man riding on the back of a motorcycle."],
    522418: ["A woman wearing a net on her head cutting a cake.",
             "A woman cutting a large white sheet cake.",
             "A woman marking a cake with the back of a chef's knife."],
    184613: ["A child holding a flowered umbrella and petting a yak.",
             "A young man holding an umbrella next to a herd of cattle.",
             "a young boy barefoot holding an umbrella touching the horn of a cow"],
}
PREDS = {391895: "a man riding a motorcycle on a dirt road",
         522418: "a woman cutting a cake with a knife",
         184613: "a boy with an umbrella next to a cow"}


def _files(tmp_path: Path) -> tuple[Path, Path]:
    refs = {"info": {}, "licenses": [], "type": "captions",
            "images": [{"id": i} for i in REFS],
            "annotations": [{"image_id": i, "id": 10 * i + k, "caption": c}
                            for i, caps in REFS.items() for k, c in enumerate(caps)]}
    (tmp_path / "refs.json").write_text(json.dumps(refs))
    (tmp_path / "preds.json").write_text(json.dumps(
        [{"image_id": i, "caption": c} for i, c in PREDS.items()]))
    return tmp_path / "refs.json", tmp_path / "preds.json"


def _official(refs: Path, preds: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """COCOEvalCap.evaluate() as the COCO caption evaluation runs it, SPICE stubbed out
    (it would download Stanford CoreNLP)."""
    import pycocoevalcap.eval as coco_eval
    from pycocotools.coco import COCO

    class NoSpice:
        def compute_score(self, gts, res):
            return 0.0, []

        def method(self):
            return "SPICE"

    monkeypatch.setattr(coco_eval, "Spice", NoSpice)
    coco = COCO(str(refs))
    evaluator = coco_eval.COCOEvalCap(coco, coco.loadRes(str(preds)))
    evaluator.evaluate()
    return evaluator.eval


def _compare(tmp_path, capsys, monkeypatch) -> dict:
    refs, preds = _files(tmp_path)
    assert main(["score", "caption", "--references", str(refs), "--predictions",
                 str(preds)]) == 0
    got = json.loads(capsys.readouterr().out)
    expected = _official(refs, preds, monkeypatch)
    for name in METRIC_NAMES:
        assert got[name] == pytest.approx(expected[name], rel=1e-9), name
    assert got["num_images"] == 3
    assert got["CIDEr"] > 0.3 and got["Bleu_1"] > 0.4  # a real, non-degenerate comparison
    if spice_missing() is not None:
        assert "stanford-corenlp" in got["SPICE_unavailable"]
    return got


@needs_java
def test_score_caption_matches_cocoevalcap(tmp_path, capsys, monkeypatch):
    """Every metric, METEOR included (the real Java METEOR in both pipelines: ~20 s)."""
    got = _compare(tmp_path, capsys, monkeypatch)
    assert 0.1 < got["METEOR"] < 0.6


def test_predictions_reader_rejects_duplicates_and_bad_entries(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps([{"image_id": 1, "caption": "a"}, {"image_id": 1, "caption": "b"}]))
    with pytest.raises(DataError, match="more than one caption"):
        read_caption_predictions(path)
    path.write_text(json.dumps([{"image_id": 1}]))
    with pytest.raises(DataError, match="entry 0"):
        read_caption_predictions(path)


def test_prediction_without_reference_is_an_error(tmp_path, capsys):
    refs, preds = _files(tmp_path)
    preds.write_text(json.dumps([{"image_id": 1, "caption": "a cat"}]))
    code = main(["score", "caption", "--references", str(refs), "--predictions", str(preds)])
    assert code == 2
    assert "no reference caption" in capsys.readouterr().err
