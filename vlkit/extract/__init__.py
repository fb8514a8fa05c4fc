"""Region features from image files: the `vlkit extract` routes and the one-image API.

Routes (docs/extraction.md):
  detector  torchvision Faster R-CNN boxes kept by UNITER's rule, pooled features, class
            probabilities as soft labels (needs the optional extra `vlkit[extract]`);
  boxes     given boxes, RoIAlign over a backbone's feature map (or the synthetic world's
            pixel extractor);
  grid      a backbone's feature-map cells as regions with their grid boxes;
  butd      the bottom-up-attention Faster R-CNN (ResNet-101 C4, Visual Genome) that UNITER,
            VL-BERT and VLP features came from, in plain torch (`vlkit.extract.butd`), its
            proposals kept as UNITER's features were.
The `boxes`, `grid` and `butd` routes use only torch: a torchvision-compatible ResNet and a plain
torch RoIAlign live here.
"""
